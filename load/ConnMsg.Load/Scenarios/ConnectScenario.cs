using System.Diagnostics;
using System.Globalization;
using ConnMsg.Load.Cli;
using ConnMsg.Load.Metrics;
using ConnMsg.Load.Reporting;
using ConnMsg.Load.Transport;

namespace ConnMsg.Load.Scenarios;

/// <summary>
/// <c>connect</c>: a storm of N opening handshakes with K in parallel, every connection then held open.
/// Measures handshakes per second, handshake latency (TCP connect → 101 parsed) and, with
/// <c>--server-pid</c>, the server's resident memory per held connection.
/// </summary>
public sealed class ConnectScenario : Scenario
{
    private const int WarmupConnectCap = 5000;
    private const int HeldReceiveBuffer = 1024;

    private readonly int _count;
    private readonly int _parallel;
    private readonly double _holdSeconds;
    private readonly CancellationTokenSource _stop = new();
    private readonly RawWsConnection?[] _held;
    private readonly Task[] _loops;
    private volatile bool _churning;
    private Task _warmup = Task.CompletedTask;
    private Task _storm = Task.CompletedTask;
    private int _next;
    private long _rssBeforeKb = -1;
    private long _rssAfterKb = -1;
    private int _opened;
    private int _stillOpen;

    /// <summary>Reads <c>--connections</c>, <c>--parallel</c>, <c>--hold</c>.</summary>
    public ConnectScenario(ScenarioOptions options, CommandLine cli)
        : base(options)
    {
        _count = cli.Int("connections", 10000);
        _parallel = cli.Int("parallel", 100);
        _holdSeconds = cli.Double("hold", 3);
        _held = new RawWsConnection?[_count];
        _loops = new Task[_count];
        Array.Fill(_loops, Task.CompletedTask);
    }

    /// <inheritdoc />
    public override string Name => "connect";

    /// <inheritdoc />
    public override string OperationUnit => "handshake/s";

    /// <inheritdoc />
    public override string LatencyMeaning => "TCP connect started → 101 Switching Protocols parsed";

    /// <inheritdoc />
    public override bool MeasureComplete => _storm.IsCompleted && Volatile.Read(ref _next) > 0;

    /// <inheritdoc />
    public override TimeSpan MeasureLimit => TimeSpan.FromSeconds(Math.Max(Options.DurationSeconds, 120));

    /// <inheritdoc />
    public override string ProgressDetail => $"  held {Volatile.Read(ref _opened):N0}/{_count:N0}";

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, string> Parameters => new Dictionary<string, string>
    {
        ["connections"] = _count.ToString(CultureInfo.InvariantCulture),
        ["parallel"] = _parallel.ToString(CultureInfo.InvariantCulture),
        ["hold_s"] = _holdSeconds.ToString(CultureInfo.InvariantCulture),
    };

    /// <inheritdoc />
    public override Task SetupAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Warm-up churns short-lived connections so that the handshake paths of both sides are jitted and
        // the pools are primed; capped so that a long warm-up cannot use up the ephemeral ports. The churn is paced
        // over the whole warm-up: run flat out, the budget was spent in the first second and the server then sat
        // idle, so its handshake code was still tier-0 (and the JIT busy) during the measured storm.
        _churning = true;
        int budget = WarmupConnectCap;
        int warmupWorkers = Math.Max(1, _parallel / 4);
        long churnStart = Stopwatch.GetTimestamp();
        double slotTicks = Options.WarmupSeconds * Stopwatch.Frequency / WarmupConnectCap;
        _warmup = Parallel.ForAsync(0, warmupWorkers, Workers(warmupWorkers, cancellationToken), async (_, ct) =>
        {
            int left;
            while (_churning && (left = Interlocked.Decrement(ref budget)) >= 0)
            {
                long due = churnStart + (long)((WarmupConnectCap - left) * slotTicks);
                TimeSpan wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, ct);
                }

                long start = Stopwatch.GetTimestamp();
                try
                {
                    RawWsConnection c = await RawWsConnection.ConnectAsync(Options.Target, ct, HeldReceiveBuffer);
                    Latency.RecordTicks(Stopwatch.GetTimestamp() - start);
                    await c.CloseAsync(ct);
                    await c.DisposeAsync();
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
                {
                    Interlocked.Increment(ref ErrorCount);
                }
            }
        });
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override async Task OnMeasureStartAsync(CancellationToken cancellationToken)
    {
        _churning = false;
        await _warmup;
        // Let the server release what the warm-up connections held before taking the baseline.
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        _rssBeforeKb = ReadRss();
        _storm = Parallel.ForAsync(0, _parallel, Workers(_parallel, _stop.Token), StormWorkerAsync);
        await Task.Yield();
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await _storm;
        await Task.Delay(TimeSpan.FromSeconds(_holdSeconds), cancellationToken);
        _rssAfterKb = ReadRss();
        _stillOpen = _held.Count(c => c is not null && c.Fault is null && c.CloseStatus is null);
        var open = _held.Where(c => c is not null).Select(c => c!).ToList();
        await ConnectionPool.CloseAllAsync(open, _loops, TimeSpan.FromSeconds(10));
        _stop.Cancel();
    }

    // Without an explicit degree, Parallel.ForAsync runs Environment.ProcessorCount bodies at once: one, on a driver
    // pinned to one core, which made "100 in parallel" a serial storm whose rate was one over the handshake latency.
    private static ParallelOptions Workers(int count, CancellationToken cancellationToken) =>
        new() { MaxDegreeOfParallelism = count, CancellationToken = cancellationToken };

    /// <inheritdoc />
    public override void AddResults(ScenarioResult result, MeasuredWindow window)
    {
        result.Add("connections_opened", "Connections opened", _opened, "");
        result.Add("connections_held", "Still open after the hold", _stillOpen, "");
        if (_rssBeforeKb >= 0 && _rssAfterKb >= 0)
        {
            result.Add("rss_before_mb", "Server RSS before the storm", _rssBeforeKb / 1024.0, "MiB");
            result.Add("rss_after_mb", "Server RSS holding the connections", _rssAfterKb / 1024.0, "MiB");
            result.Add("rss_per_conn_kb", "Server memory per held connection", (_rssAfterKb - _rssBeforeKb) / (double)Math.Max(1, _opened), "KiB");
        }
        else
        {
            result.Notes.Add("Server memory per connection not measured: give --server-pid.");
        }

        if (_opened < _count)
        {
            result.Notes.Add($"Only {_opened} of {_count} connections could be opened (check ulimit -n on both sides).");
        }
    }

    private async ValueTask StormWorkerAsync(int worker, CancellationToken cancellationToken)
    {
        int i;
        while ((i = Interlocked.Increment(ref _next) - 1) < _count)
        {
            for (int attempt = 0; attempt < 3; attempt++)
            {
                long start = Stopwatch.GetTimestamp();
                try
                {
                    RawWsConnection c = await RawWsConnection.ConnectAsync(Options.Target, cancellationToken, HeldReceiveBuffer);
                    Latency.RecordTicks(Stopwatch.GetTimestamp() - start);
                    _held[i] = c;
                    _loops[i] = c.RunReceiveLoopAsync(IgnoringHandler.Instance, _stop.Token);
                    Interlocked.Increment(ref _opened);
                    break;
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
                {
                    Interlocked.Increment(ref ErrorCount);
                }
            }
        }
    }

    private long ReadRss() => Options.ServerPid is int pid && ProcStats.TryReadRssKb(pid, out long kb) ? kb : -1;
}
