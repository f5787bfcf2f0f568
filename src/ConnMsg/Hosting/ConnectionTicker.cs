
namespace ConnMsg.Hosting;

/// <summary>The ticker that drives every live connection's keep-alive and timeouts, and the topics' housekeeping.</summary>
/// <remarks>Thread-safe. One timer for all connections: a per-connection timer would cost memory for every idle client.</remarks>
internal sealed class ConnectionTicker : IDisposable
{
    private readonly Timer _timer;
    private readonly Messaging.ConnMsgApplication _application;
    private int _ticking;

    public ConnectionTicker(Microsoft.Extensions.Options.IOptions<ConnMsgOptions> options, Messaging.ConnMsgApplication application)
    {
        _application = application;
        ConnMsgOptions o = options.Value;
        // Tick often enough for the shortest timeout configured, at most once a second and at least every 20 ms.
        double shortest = Math.Min(Math.Min(o.KeepAliveInterval.TotalMilliseconds, o.RequestTimeout.TotalMilliseconds),
            Math.Min(o.CloseTimeout.TotalMilliseconds, o.IncompleteMessageTimeout.TotalMilliseconds));
        var period = TimeSpan.FromMilliseconds(Math.Clamp(shortest / 4, 20, 1000));
        _timer = new Timer(static s => ((ConnectionTicker)s!).Tick(), this, period, period);
    }

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
            _application.TickConnections(now);
            _application.Topics.Sweep(now);
        }
        finally
        {
            Volatile.Write(ref _ticking, 0);
        }
    }

    public void Dispose() => _timer.Dispose();
}
