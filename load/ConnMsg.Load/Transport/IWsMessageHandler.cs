namespace ConnMsg.Load.Transport;

/// <summary>Receives the text messages of one <see cref="RawWsConnection"/>.</summary>
/// <remarks>Called only from that connection's receive loop, never concurrently for one connection.</remarks>
public interface IWsMessageHandler
{
    /// <summary>One complete text message; <paramref name="payload"/> is valid only during the call.</summary>
    /// <param name="connection">The connection it arrived on.</param>
    /// <param name="payload">The UTF-8 JSON text.</param>
    /// <param name="receivedTimestamp">The <see cref="System.Diagnostics.Stopwatch"/> timestamp of the receive that completed it.</param>
    void OnMessage(RawWsConnection connection, ReadOnlySpan<byte> payload, long receivedTimestamp);

    /// <summary>
    /// Called after every complete message in one receive has been delivered: the place to send the next
    /// batch of requests in one write.
    /// </summary>
    ValueTask OnReceiveBatchEndAsync(RawWsConnection connection);
}
