using System.Collections.Concurrent;
using ConnMsg.WebSockets;

namespace ConnMsg.Hosting;

/// <summary>Live WebSocket connections, and the ticker that drives their keep-alive and timeouts.</summary>
/// <remarks>Thread-safe. One timer for all connections: a per-connection timer would cost memory for every idle client.</remarks>
internal sealed class ConnectionRegistry : IDisposable
{
    private readonly ConcurrentDictionary<WebSocketConnection, byte> _connections = new();
    private readonly Timer _timer;
    private readonly Messaging.ConnMsgApplication _application;
    private int _ticking;

    public ConnectionRegistry(Microsoft.Extensions.Options.IOptions<ConnMsgOptions> options, Messaging.ConnMsgApplication application)
    {
        _application = application;
        ConnMsgOptions o = options.Value;
        // Tick often enough for the shortest timeout configured, at most once a second and at least every 20 ms.
        double shortest = Math.Min(Math.Min(o.KeepAliveInterval.TotalMilliseconds, o.RequestTimeout.TotalMilliseconds),
            Math.Min(o.CloseTimeout.TotalMilliseconds, o.IncompleteMessageTimeout.TotalMilliseconds));
        var period = TimeSpan.FromMilliseconds(Math.Clamp(shortest / 4, 20, 1000));
        _timer = new Timer(static s => ((ConnectionRegistry)s!).Tick(), this, period, period);
    }

    public void Add(WebSocketConnection connection) => _connections.TryAdd(connection, 0);

    public void Remove(WebSocketConnection connection) => _connections.TryRemove(connection, out _);

    private void Tick()
    {
        // A timer fires on schedule whether or not its last callback has returned; connections' ticks are not made to
        // run twice at once (keep-alive and timeout state assume one ticker), so a late tick is skipped, not doubled.
        if (Interlocked.Exchange(ref _ticking, 1) != 0)
        {
            return;
        }

        try
        {
            long now = Environment.TickCount64;
            foreach (KeyValuePair<WebSocketConnection, byte> pair in _connections)
            {
                pair.Key.OnTick(now);
            }

            _application.Topics.Sweep(now);
        }
        finally
        {
            Volatile.Write(ref _ticking, 0);
        }
    }

    public void Dispose() => _timer.Dispose();
}
