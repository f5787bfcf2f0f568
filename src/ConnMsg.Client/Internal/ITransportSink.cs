namespace ConnMsg.Client.Internal;

/// <summary>What a <see cref="Transport"/> reports to its <see cref="Connection"/>.</summary>
internal interface ITransportSink
{
    /// <summary>One complete, valid UTF-8 text message; the span is only valid during the call.</summary>
    void OnMessage(ReadOnlySpan<byte> message);

    /// <summary>Ends a group of messages read together (one read); the transport may still be corked.</summary>
    void OnReceiveBatchEnd();

    /// <summary>The transport died or the server closed it; <paramref name="reason"/> says why.</summary>
    void OnTransportClosed(Exception reason);
}
