namespace ConnMsg.Client;

/// <summary>Describes a transition of <see cref="ConnMsgClient.State"/>.</summary>
public sealed class ConnMsgStateChangedEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    public ConnMsgStateChangedEventArgs(ConnMsgConnectionState previous, ConnMsgConnectionState current, Exception? error)
    {
        Previous = previous;
        Current = current;
        Error = error;
    }

    /// <summary>The state before the transition.</summary>
    public ConnMsgConnectionState Previous { get; }

    /// <summary>The state after the transition.</summary>
    public ConnMsgConnectionState Current { get; }

    /// <summary>Why the connection was lost, when the transition was caused by a failure; otherwise null.</summary>
    public Exception? Error { get; }
}
