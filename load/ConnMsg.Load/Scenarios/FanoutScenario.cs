using System.Globalization;
using ConnMsg.Load.Cli;
using ConnMsg.Load.Reporting;
using ConnMsg.Load.Transport;

namespace ConnMsg.Load.Scenarios;

/// <summary>
/// <c>fanout</c>: N subscribers on one topic, publisher connection(s) sending <c>publish</c> at a rate or flat
/// out. Measures delivered Inds per second, publish → delivery latency, and lost and out-of-order Inds per
/// subscriber from the probe counters.
/// </summary>
public sealed class FanoutScenario : Scenario
{
    private readonly int _subscriberCount;
    private readonly int _publisherCount;
    private readonly double _rate;
    private readonly int _window;
    private readonly int _size;
    private readonly string _topic;
    private readonly CancellationTokenSource _stop = new();
    private FanoutSubscriber[] _subscribers = [];
    private FanoutPublisher[] _publishers = [];
    private long _publishedAtStart;
    private long _publishedAtEnd;
    private bool _drained;

    /// <summary>Reads <c>--subscribers</c>, <c>--publishers</c>, <c>--rate</c>, <c>--pub-inflight</c>, <c>--size</c>, <c>--topic</c>.</summary>
    public FanoutScenario(ScenarioOptions options, CommandLine cli)
        : base(options)
    {
        _subscriberCount = cli.Int("subscribers", 1000);
        _publisherCount = cli.Int("publishers", 1);
        _rate = cli.Double("rate", 0);
        _window = cli.Int("pub-inflight", 8);
        _size = cli.Int("size", 0);
        _topic = cli.String("topic", "bench.fanout");
    }

    /// <inheritdoc />
    public override string Name => "fanout";

    /// <inheritdoc />
    public override string OperationUnit => "ind/s";

    /// <inheritdoc />
    public override string LatencyMeaning => "publish request written → Ind read by a subscriber";

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, string> Parameters => new Dictionary<string, string>
    {
        ["subscribers"] = _subscriberCount.ToString(CultureInfo.InvariantCulture),
        ["publishers"] = _publisherCount.ToString(CultureInfo.InvariantCulture),
        ["rate_per_s"] = _rate > 0 ? _rate.ToString(CultureInfo.InvariantCulture) : "flat out",
        ["pub_inflight"] = _window.ToString(CultureInfo.InvariantCulture),
        ["padding_bytes"] = _size.ToString(CultureInfo.InvariantCulture),
        ["topic"] = _topic,
    };

    /// <inheritdoc />
    public override string ProgressDetail =>
        $"  published {_publishers.Sum(p => p.Sent):N0}";

    /// <inheritdoc />
    public override async Task SetupAsync(CancellationToken cancellationToken)
    {
        RawWsConnection[] subscribers = await ConnectionPool.OpenAsync(Options.Target, _subscriberCount, 32, 16 * 1024, cancellationToken);
        _subscribers = subscribers.Select(c => new FanoutSubscriber(c, _publisherCount, Latency)).ToArray();
        await Parallel.ForEachAsync(_subscribers, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken },
            async (s, ct) => await s.SubscribeAsync(_topic, _stop.Token));

        RawWsConnection[] publishers = await ConnectionPool.OpenAsync(Options.Target, _publisherCount, 8, 16 * 1024, cancellationToken);
        _publishers = publishers
            .Select((c, i) => new FanoutPublisher(c, i, _topic, _rate / _publisherCount, _window, _size, () => Interlocked.Increment(ref ErrorCount)))
            .ToArray();
    }

    /// <inheritdoc />
    public override Task StartAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(_publishers.Select(p => p.StartAsync(_stop.Token)));

    /// <inheritdoc />
    public override Task OnMeasureStartAsync(CancellationToken cancellationToken)
    {
        _publishedAtStart = _publishers.Sum(p => p.Confirmed);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _publishedAtEnd = _publishers.Sum(p => p.Confirmed);
        foreach (FanoutPublisher p in _publishers)
        {
            p.Stop();
        }

        // Wait for the publishes in flight to be answered, then for every subscriber to catch up with the last
        // counter, while deliveries still make progress; the tail that never arrives is lost.
        await Task.Delay(200, cancellationToken);
        long[] sent = _publishers.Select(p => p.Sent).ToArray();
        long lastDelivered = -1;
        var quiet = System.Diagnostics.Stopwatch.StartNew();
        var overall = System.Diagnostics.Stopwatch.StartNew();
        while (overall.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (_subscribers.All(s => Enumerable.Range(0, sent.Length).All(p => s.Expected(p) >= sent[p])))
            {
                _drained = true;
                break;
            }

            long delivered = _subscribers.Sum(s => s.Delivered);
            if (delivered != lastDelivered)
            {
                lastDelivered = delivered;
                quiet.Restart();
            }
            else if (quiet.Elapsed > TimeSpan.FromSeconds(2))
            {
                break;
            }

            await Task.Delay(50, cancellationToken);
        }

        foreach (FanoutSubscriber s in _subscribers)
        {
            s.SettleTail(sent);
        }

        var all = _subscribers.Select(s => s.Connection).Concat(_publishers.Select(p => p.Connection)).ToList();
        await ConnectionPool.CloseAllAsync(all, _subscribers.Select(s => s.ReceiveLoop).Concat(_publishers.Select(p => p.ReceiveLoop)), TimeSpan.FromSeconds(5));
        _stop.Cancel();
    }

    /// <inheritdoc />
    public override void AddResults(ScenarioResult result, MeasuredWindow window)
    {
        long published = _publishedAtEnd - _publishedAtStart;
        result.Add("publishes_per_s", "Publishes confirmed", published / window.Seconds, "publish/s");
        result.Add("expected_deliveries_per_s", "Deliveries expected (publishes × subscribers)", published * (double)_subscriberCount / window.Seconds, "ind/s");
        result.Add("lost", "Lost Inds (all subscribers, whole run)", _subscribers.Sum(s => s.Lost), "");
        result.Add("out_of_order", "Out-of-order Inds (whole run)", _subscribers.Sum(s => s.OutOfOrder), "");
        result.Add("subscribers_with_loss", "Subscribers that lost any", _subscribers.Count(s => s.Lost > 0), "");
        result.Add("publish_rejected", "Publishes rejected", _publishers.Sum(p => p.Rejected), "");
        result.Add("unexpected", "Unexpected envelopes", _subscribers.Sum(s => s.Unexpected), "");
        int faulted = _subscribers.Count(s => s.Connection.Fault is not null || s.Connection.CloseStatus is int c && c != 1000);
        result.Add("subscribers_closed", "Subscribers closed by the server or faulted", faulted, "");
        if (faulted > 0)
        {
            FanoutSubscriber first = _subscribers.First(s => s.Connection.Fault is not null || s.Connection.CloseStatus is int c && c != 1000);
            result.Notes.Add($"{faulted} subscriber(s) were closed or faulted, e.g. close {first.Connection.CloseStatus?.ToString(CultureInfo.InvariantCulture) ?? "-"}: {first.Connection.Fault}");
        }

        if (!_drained)
        {
            result.Notes.Add("Not every subscriber caught up with the last publish within the drain period; the missing tail counts as lost.");
        }
    }
}
