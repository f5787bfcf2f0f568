using System.Diagnostics.Metrics;
using System.Globalization;

namespace ConnMsg.Diagnostics;

/// <summary>
/// Counters of the messaging layer: requests by op and outcome, latency, in-flight, Inds published/delivered/dropped.
/// Exposed as <see cref="System.Diagnostics.Metrics"/> instruments on meter <c>ConnMsg</c> and on <c>/metrics</c>.
/// </summary>
/// <remarks>Thread-safe; updates are single <see cref="Interlocked"/> operations.</remarks>
public sealed class MessagingMetrics
{
    // Upper bounds in seconds of the latency buckets (Prometheus "le").
    private static readonly double[] Bounds = [0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    private readonly long[] _buckets = new long[Bounds.Length + 1];
    private long _latencySumTicks;
    private long _requests;
    private long _inFlight;
    private long _badMessages, _unknownOps, _overloaded, _timeouts, _reserved;
    private long _indsPublished, _indsDelivered, _indsDropped;
    private readonly Histogram<double> _latency;
    private Func<IEnumerable<(string Op, long Confirmed, long Rejected)>>? _perOp;

    /// <summary>Creates the counters and registers their instruments on <paramref name="meter"/>.</summary>
    public MessagingMetrics(Meter meter)
    {
        _latency = meter.CreateHistogram<double>("connmsg.request.duration", unit: "s", description: "Time from the read that brought the request in to its answer being queued");
        meter.CreateObservableUpDownCounter("connmsg.requests.in_flight", () => Interlocked.Read(ref _inFlight), description: "Requests whose handlers are running asynchronously");
        meter.CreateObservableCounter("connmsg.requests", ObserveRequests, description: "Requests answered, by op and outcome");
        meter.CreateObservableCounter("connmsg.inds.published", () => Interlocked.Read(ref _indsPublished));
        meter.CreateObservableCounter("connmsg.inds.delivered", () => Interlocked.Read(ref _indsDelivered));
        meter.CreateObservableCounter("connmsg.inds.dropped", () => Interlocked.Read(ref _indsDropped));
        meter.CreateObservableCounter("connmsg.messages.bad", () => Interlocked.Read(ref _badMessages));
    }

    /// <summary>Requests currently running asynchronously, over all connections.</summary>
    public long InFlight => Interlocked.Read(ref _inFlight);

    internal void SetPerOpSource(Func<IEnumerable<(string Op, long Confirmed, long Rejected)>> source) => _perOp = source;

    /// <summary>Records <paramref name="count"/> answered requests that each took <paramref name="elapsed"/>.</summary>
    internal void RequestsCompleted(TimeSpan elapsed, int count)
    {
        Interlocked.Add(ref _requests, count);
        Interlocked.Add(ref _latencySumTicks, elapsed.Ticks * count);
        double seconds = elapsed.TotalSeconds;
        int i = 0;
        while (i < Bounds.Length && seconds > Bounds[i])
        {
            i++;
        }

        Interlocked.Add(ref _buckets[i], count);
        if (_latency.Enabled)
        {
            for (int n = 0; n < count; n++)
            {
                _latency.Record(seconds);
            }
        }
    }

    internal void InFlightChanged(int delta) => Interlocked.Add(ref _inFlight, delta);
    internal void BadMessage() => Interlocked.Increment(ref _badMessages);
    internal void UnknownOp() => Interlocked.Increment(ref _unknownOps);
    internal void Overloaded() => Interlocked.Increment(ref _overloaded);
    internal void TimedOut() => Interlocked.Increment(ref _timeouts);
    internal void Reserved() => Interlocked.Increment(ref _reserved);

    internal void IndPublished(int delivered, int dropped)
    {
        Interlocked.Increment(ref _indsPublished);
        if (delivered > 0)
        {
            Interlocked.Add(ref _indsDelivered, delivered);
        }

        if (dropped > 0)
        {
            Interlocked.Add(ref _indsDropped, dropped);
        }
    }

    private IEnumerable<Measurement<long>> ObserveRequests()
    {
        if (_perOp is null)
        {
            yield break;
        }

        foreach ((string op, long confirmed, long rejected) in _perOp())
        {
            yield return new Measurement<long>(confirmed, new("op", op), new("outcome", "cfm"));
            yield return new Measurement<long>(rejected, new("op", op), new("outcome", "rej"));
        }
    }

    internal void WritePrometheus(PrometheusWriter w)
    {
        w.Header("connmsg_requests_total", "Requests answered by application handlers, by op and outcome.", "counter");
        if (_perOp is not null)
        {
            foreach ((string op, long confirmed, long rejected) in _perOp().OrderBy(o => o.Op, StringComparer.Ordinal))
            {
                string escaped = PrometheusWriter.Escape(op);
                w.Series("connmsg_requests_total", $"op=\"{escaped}\",outcome=\"cfm\"", confirmed);
                w.Series("connmsg_requests_total", $"op=\"{escaped}\",outcome=\"rej\"", rejected);
            }
        }

        w.Header("connmsg_request_duration_seconds", "Time from the read that brought the request in to its answer being queued.", "histogram");
        long cumulative = 0;
        for (int i = 0; i < Bounds.Length; i++)
        {
            cumulative += Interlocked.Read(ref _buckets[i]);
            w.Series("connmsg_request_duration_seconds_bucket", $"le=\"{Bounds[i].ToString("R", CultureInfo.InvariantCulture)}\"", cumulative);
        }

        cumulative += Interlocked.Read(ref _buckets[^1]);
        w.Series("connmsg_request_duration_seconds_bucket", "le=\"+Inf\"", cumulative);
        w.Series("connmsg_request_duration_seconds_sum", "", TimeSpan.FromTicks(Interlocked.Read(ref _latencySumTicks)).TotalSeconds);
        w.Series("connmsg_request_duration_seconds_count", "", cumulative);

        w.Gauge("connmsg_requests_in_flight", "Requests whose handlers are running asynchronously.", InFlight);
        w.Counter("connmsg_reserved_requests_total", "Requests for reserved ops ($ping, $subscribe, $unsubscribe).", Interlocked.Read(ref _reserved));
        w.Counter("connmsg_bad_messages_total", "Messages answered with bad_message.", Interlocked.Read(ref _badMessages));
        w.Counter("connmsg_unknown_op_total", "Requests answered with unknown_op.", Interlocked.Read(ref _unknownOps));
        w.Counter("connmsg_overloaded_total", "Requests answered with overloaded.", Interlocked.Read(ref _overloaded));
        w.Counter("connmsg_timeouts_total", "Requests answered with timeout.", Interlocked.Read(ref _timeouts));
        w.Counter("connmsg_inds_published_total", "Inds published to topics.", Interlocked.Read(ref _indsPublished));
        w.Counter("connmsg_inds_delivered_total", "Ind frames queued to subscribers.", Interlocked.Read(ref _indsDelivered));
        w.Counter("connmsg_inds_dropped_total", "Ind frames dropped because a subscriber was closing or too slow.", Interlocked.Read(ref _indsDropped));
    }
}
