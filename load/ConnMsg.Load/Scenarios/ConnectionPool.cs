using ConnMsg.Load.Transport;

namespace ConnMsg.Load.Scenarios;

/// <summary>Opens many raw connections with bounded concurrency, so a set-up phase does not itself become a storm.</summary>
public static class ConnectionPool
{
    /// <summary>Opens <paramref name="count"/> connections, at most <paramref name="parallel"/> handshakes at a time.</summary>
    public static async Task<RawWsConnection[]> OpenAsync(WsTarget target, int count, int parallel, int receiveBufferSize, CancellationToken cancellationToken)
    {
        var connections = new RawWsConnection[count];
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            connections[i] = await RawWsConnection.ConnectAsync(target, ct, receiveBufferSize);
        });
        return connections;
    }

    /// <summary>Sends a close to each connection, waits for their receive loops a bounded time, then drops the sockets.</summary>
    public static async Task CloseAllAsync(IReadOnlyList<RawWsConnection> connections, IEnumerable<Task> receiveLoops, TimeSpan wait)
    {
        await Parallel.ForEachAsync(connections, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (c, ct) =>
        {
            using var timeout = new CancellationTokenSource(wait);
            try
            {
                await c.CloseAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
            }
        });
        await Task.WhenAny(Task.WhenAll(receiveLoops), Task.Delay(wait));
        foreach (RawWsConnection c in connections)
        {
            await c.DisposeAsync();
        }
    }
}
