namespace ConnMsg.Client;

/// <summary>
/// A subscription could not be recovered without loss after a reconnect: the server's history
/// no longer reached back to the last Ind the application saw (PROTOCOL §5.3, <c>"recovered":false</c>),
/// or the server refused the re-subscription for good (any code but <c>overloaded</c> and <c>shutting_down</c>, which
/// are retried; <c>overloaded</c> only up to <see cref="ConnMsgClientOptions.ResubscribeMaxRetries"/> times), did not
/// answer it, or confirmed it with a <c>cfm</c> the client could not read, or the re-subscription failed otherwise on a
/// connection that stayed open. The application must resynchronise by its own means.
/// </summary>
public sealed class ConnMsgRecoveryFailedEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    public ConnMsgRecoveryFailedEventArgs(string topic, long lastSeenSeq, long? currentSeq, Exception? error)
    {
        Topic = topic;
        LastSeenSeq = lastSeenSeq;
        CurrentSeq = currentSeq;
        Error = error;
    }

    /// <summary>The topic whose Inds may have been missed.</summary>
    public string Topic { get; }

    /// <summary>The last <c>seq</c> the application saw before the connection dropped (the <c>since</c> that was asked for).</summary>
    public long LastSeenSeq { get; }

    /// <summary>The topic's current <c>seq</c> as reported by the server; live Inds continue after it. Null when the re-subscription failed.</summary>
    public long? CurrentSeq { get; }

    /// <summary>
    /// Set when the server refused the re-subscription (<see cref="ConnMsgRejectedException"/>), did not answer it within
    /// <see cref="ConnMsgClientOptions.RequestTimeout"/>, or <see cref="ConnMsgClientOptions.ConnectTimeout"/> when that
    /// is infinite (<see cref="TimeoutException"/>; should its <c>cfm</c> come late,
    /// the client takes the subscription back with <c>$unsubscribe</c>), answered with a <c>cfm</c> that could not be
    /// read (<see cref="ConnMsgException"/>; the client took the subscription back with <c>$unsubscribe</c>), or the
    /// re-subscription failed otherwise, the server not having made it live: a <c>rej</c> that could not be read
    /// (<see cref="ConnMsgException"/>), a <c>$subscribe</c> over the new connection's <c>maxMessage</c>
    /// (<see cref="ConnMsgMessageTooLargeException"/>). The topic then receives nothing until subscribed again.
    /// </summary>
    public Exception? Error { get; }
}
