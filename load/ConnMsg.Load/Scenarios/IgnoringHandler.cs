using ConnMsg.Load.Transport;

namespace ConnMsg.Load.Scenarios;

/// <summary>Reads and drops everything: keeps a held connection answering pings and noticing closes.</summary>
public sealed class IgnoringHandler : IWsMessageHandler
{
    /// <summary>The shared instance; it has no state.</summary>
    public static IgnoringHandler Instance { get; } = new();

    private IgnoringHandler()
    {
    }

    /// <inheritdoc />
    public void OnMessage(RawWsConnection connection, ReadOnlySpan<byte> payload, long receivedTimestamp)
    {
    }

    /// <inheritdoc />
    public ValueTask OnReceiveBatchEndAsync(RawWsConnection connection) => ValueTask.CompletedTask;
}
