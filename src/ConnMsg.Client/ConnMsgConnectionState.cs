namespace ConnMsg.Client;

/// <summary>The lifecycle state of a <see cref="ConnMsgClient"/>.</summary>
public enum ConnMsgConnectionState
{
    /// <summary>The first connection is being opened.</summary>
    Connecting,

    /// <summary>Connected, session received and every subscription re-established; requests flow.</summary>
    Open,

    /// <summary>The connection dropped; the client is backing off and reconnecting. Requests wait for <see cref="Open"/>.</summary>
    Reconnecting,

    /// <summary>Disposed, or reconnecting was disabled or gave up. Terminal.</summary>
    Closed,
}
