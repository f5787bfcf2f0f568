using System.Diagnostics;
using System.Globalization;
using ConnMsg.Load.Cli;
using ConnMsg.Load.Metrics;
using ConnMsg.Load.Protocol;
using ConnMsg.Load.Reporting;
using ConnMsg.Load.Transport;

namespace ConnMsg.Load.Scenarios;

/// <summary>
/// <c>soak</c>: a steady mix for a long window — paced echo requests on C connections, a publisher at a fixed
/// rate to M subscribers, and connection churn — reporting how latency, throughput and server memory drift
/// between the first and the last tenth of the window, and how the server's memory still moves in its second half.
/// </summary>
public sealed class SoakScenario : Scenario
{
    private readonly int _connections;
    private readonly double _rate;
    private readonly int _subscriberCount;
    private readonly double _pubRate;
    private readonly double _churnPerSecond;
    private readonly CancellationTokenSource _stop = new();
    private readonly LatencyTrack _delivery = new();
    private RawWsConnection[] _open = [];
    private EchoWorker[] _workers = [];
    private FanoutSubscriber[] _subscribers = [];
    private FanoutPublisher? _publisher;
    private Task _churn = Task.CompletedTask;
    private Task _pacer = Task.CompletedTask;
    private Task _deliverySampler = Task.CompletedTask;
    private long _churned;
    private volatile bool _stopping;

    /// <summary>Reads <c>--connections</c>, <c>--rate</c>, <c>--subscribers</c>, <c>--pub-rate</c>, <c>--churn</c>.</summary>
    public SoakScenario(ScenarioOptions options, CommandLine cli)
        : base(options)
    {
        _connections = cli.Int("connections", 50);
        _rate = cli.Double("rate", 5000);
        _subscriberCount = cli.Int("subscribers", 100);
        _pubRate = cli.Double("pub-rate", 100);
        _churnPerSecond = cli.Double("churn", 10);
    }

    /// <inheritdoc />
    public override string Name => "soak";

    /// <inheritdoc />
    public override string OperationUnit => "req/s";

    /// <inheritdoc />
    public override string LatencyMeaning => "paced echo request written → cfm read";

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, string> Parameters => new Dictionary<string, string>
    {
        ["connections"] = _connections.ToString(CultureInfo.InvariantCulture),
        ["echo_rate_per_s"] = _rate.ToString(CultureInfo.InvariantCulture),
        ["subscribers"] = _subscriberCount.ToString(CultureInfo.InvariantCulture),
        ["publish_rate_per_s"] = _pubRate.ToString(CultureInfo.InvariantCulture),
        ["churn_per_s"] = _churnPerSecond.ToString(CultureInfo.InvariantCulture),
    };

    /// <inheritdoc />
    public override string ProgressDetail => $"  churned {Interlocked.Read(ref _churned):N0}";

    /// <inheritdoc />
    public override async Task SetupAsync(CancellationToken cancellationToken)
    {
        _open = await ConnectionPool.OpenAsync(Options.Target, _connections, 32, 16 * 1024, cancellationToken);
        byte[] data = RequestWriter.MakeStringPayload(64);
        _workers = _open.Select(c => new EchoWorker(c, "echo", data, 16, Latency, () => Interlocked.Increment(ref ErrorCount), paced: true)).ToArray();
        foreach (EchoWorker w in _workers)
        {
            w.Listen(_stop.Token);
        }

        RawWsConnection[] subs = await ConnectionPool.OpenAsync(Options.Target, _subscriberCount, 32, 8 * 1024, cancellationToken);
        _subscribers = subs.Select(c => new FanoutSubscriber(c, 1, _delivery)).ToArray();
        await Parallel.ForEachAsync(_subscribers, cancellationToken, async (s, _) => await s.SubscribeAsync("bench.soak", _stop.Token));
        RawWsConnection[] pub = await ConnectionPool.OpenAsync(Options.Target, 1, 1, 16 * 1024, cancellationToken);
        _publisher = new FanoutPublisher(pub[0], 0, "bench.soak", _pubRate, 8, 0, () => Interlocked.Increment(ref ErrorCount));
    }

    /// <inheritdoc />
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        _pacer = Task.Run(PaceEchoAsync, cancellationToken);
        await _publisher!.StartAsync(_stop.Token);
        _churn = Task.Run(ChurnAsync, cancellationToken);
        // Delivery latency is a second series: drained every second so its recorder does not grow.
        _deliverySampler = Task.Run(async () =>
        {
            while (!_stopping)
            {
                await Task.Delay(1000);
                _delivery.TakeIntervalIntoTotal();
            }
        }, cancellationToken);
    }

    /// <inheritdoc />
    public override Task OnMeasureStartAsync(CancellationToken cancellationToken)
    {
        _delivery.Total.Reset();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        foreach (EchoWorker w in _workers)
        {
            w.Stop();
        }

        _publisher!.Stop();
        await _pacer;
        await _churn;
        await _deliverySampler;
        await Task.Delay(500, cancellationToken);
        var all = _open.Concat(_subscribers.Select(s => s.Connection)).Append(_publisher.Connection).ToList();
        await ConnectionPool.CloseAllAsync(all, _workers.Select(w => w.ReceiveLoop).Concat(_subscribers.Select(s => s.ReceiveLoop)).Append(_publisher.ReceiveLoop), TimeSpan.FromSeconds(5));
        _stop.Cancel();
    }

    /// <inheritdoc />
    public override void AddResults(ScenarioResult result, MeasuredWindow window)
    {
        List<TimelinePoint> t = result.Timeline;
        int tenth = Math.Max(1, t.Count / 10);
        List<TimelinePoint> first = t.Take(tenth).ToList();
        List<TimelinePoint> last = t.Skip(t.Count - tenth).ToList();
        if (t.Count >= 2)
        {
            result.Add("p99_first_us", "p99, first tenth (median of seconds)", Median(first.Select(p => p.P99Us)), "µs");
            result.Add("p99_last_us", "p99, last tenth (median of seconds)", Median(last.Select(p => p.P99Us)), "µs");
            result.Add("p99_drift_pct", "p99 drift, last vs first tenth", ((Median(last.Select(p => p.P99Us)) / Median(first.Select(p => p.P99Us))) - 1) * 100, "%");
            result.Add("throughput_drift_pct", "Throughput drift, last vs first tenth", ((last.Average(p => p.Count) / first.Average(p => p.Count)) - 1) * 100, "%");
            double rssFirst = Median(first.Select(p => p.ServerRssMb));
            double rssLast = Median(last.Select(p => p.ServerRssMb));
            if (double.IsFinite(rssFirst))
            {
                result.Add("rss_first_mb", "Server RSS, first tenth", rssFirst, "MiB");
                result.Add("rss_last_mb", "Server RSS, last tenth", rssLast, "MiB");
                result.Add("rss_drift_mb_per_min", "Server RSS drift", (rssLast - rssFirst) / Math.Max(1, t.Count - tenth) * 60, "MiB/min");

                // The drift above includes the heap settling after the warm-up (it grows for a minute or two, then
                // stays); a leak keeps climbing, so the slope over the second half tells the two apart.
                result.Add("rss_slope_second_half_mb_per_min", "Server RSS slope, second half (least squares)",
                    RssSlopePerMinute(t.Skip(t.Count / 2).ToList()), "MiB/min");
            }
        }

        result.Add("delivery_p50_us", "Fan-out delivery p50", _delivery.Total.TotalCount == 0 ? double.NaN : _delivery.Total.GetValueAtPercentile(50) / 1000.0, "µs");
        result.Add("delivery_p99_us", "Fan-out delivery p99", _delivery.Total.TotalCount == 0 ? double.NaN : _delivery.Total.GetValueAtPercentile(99) / 1000.0, "µs");
        result.Add("lost", "Lost Inds", _subscribers.Sum(s => s.Lost), "");
        result.Add("out_of_order", "Out-of-order Inds", _subscribers.Sum(s => s.OutOfOrder), "");
        result.Add("churned", "Connections churned", Interlocked.Read(ref _churned), "");
    }

    /// <summary>
    /// Least-squares slope of the server's RSS over <paramref name="points"/>, in MiB per minute; NaN with fewer than
    /// two seconds that carry a reading.
    /// </summary>
    public static double RssSlopePerMinute(IReadOnlyList<TimelinePoint> points)
    {
        var readings = points.Where(p => double.IsFinite(p.ServerRssMb)).ToList();
        if (readings.Count < 2)
        {
            return double.NaN;
        }

        double meanSecond = readings.Average(p => p.Second);
        double meanRss = readings.Average(p => p.ServerRssMb);
        double covariance = readings.Sum(p => (p.Second - meanSecond) * (p.ServerRssMb - meanRss));
        double variance = readings.Sum(p => (p.Second - meanSecond) * (p.Second - meanSecond));
        return variance == 0 ? double.NaN : covariance / variance * 60;
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] v = values.Where(double.IsFinite).Order().ToArray();
        return v.Length == 0 ? double.NaN : v[v.Length / 2];
    }

    /// <summary>One pacer for all echo connections: requests due are dealt round-robin, one write per connection per tick.</summary>
    private async Task PaceEchoAsync()
    {
        var clock = Stopwatch.StartNew();
        var due = new int[_workers.Length];
        long scheduled = 0;
        int next = 0;
        while (!_stopping)
        {
            long now = (long)(clock.Elapsed.TotalSeconds * _rate);
            for (; scheduled < now; scheduled++)
            {
                due[next]++;
                next = (next + 1) % due.Length;
            }

            for (int i = 0; i < due.Length; i++)
            {
                if (due[i] > 0)
                {
                    // Requests that find no free slot are dropped, not owed: the window bounds what is in flight.
                    await _workers[i].SendAsync(due[i]);
                    due[i] = 0;
                }
            }

            await Task.Delay(1);
        }
    }

    private async Task ChurnAsync()
    {
        if (_churnPerSecond <= 0)
        {
            return;
        }

        var clock = Stopwatch.StartNew();
        long done = 0;
        while (!_stopping)
        {
            long due = (long)(clock.Elapsed.TotalSeconds * _churnPerSecond) - done;
            for (long i = 0; i < due && !_stopping; i++, done++)
            {
                try
                {
                    RawWsConnection c = await RawWsConnection.ConnectAsync(Options.Target, _stop.Token, 1024);
                    await c.CloseAsync(_stop.Token);
                    await c.DisposeAsync();
                    Interlocked.Increment(ref _churned);
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
                {
                    Interlocked.Increment(ref ErrorCount);
                }
            }

            await Task.Delay(10);
        }
    }
}
