using System.Diagnostics;
using HdrHistogram;

namespace ConnMsg.Load.Metrics;

/// <summary>
/// A latency series recorded in nanoseconds: a lock-free HdrHistogram <see cref="Recorder"/> that the sampler
/// drains once a second into per-second points, plus the total of the measured window.
/// </summary>
/// <remarks>Thread-safety: <see cref="RecordTicks"/> from any number of threads; the rest from the sampler only.</remarks>
public sealed class LatencyTrack
{
    /// <summary>The largest recordable latency: one minute, in nanoseconds.</summary>
    public const long HighestNs = 60L * 1_000_000_000;

    private static readonly double s_nsPerTick = 1e9 / Stopwatch.Frequency;

    private readonly Recorder _recorder;
    private HistogramBase? _interval;

    /// <summary>Creates an empty track.</summary>
    public LatencyTrack()
    {
        _recorder = HistogramFactory.With64BitBucketSize()
            .WithValuesFrom(1)
            .WithValuesUpTo(HighestNs)
            .WithPrecisionOf(3)
            .WithThreadSafeWrites()
            .WithThreadSafeReads()
            .Create();
        Total = new LongHistogram(HighestNs, 3);
    }

    /// <summary>Everything recorded during the measured window so far.</summary>
    public HistogramBase Total { get; }

    /// <summary>Records one latency given in <see cref="Stopwatch"/> ticks.</summary>
    public void RecordTicks(long ticks)
    {
        long ns = (long)(ticks * s_nsPerTick);
        _recorder.RecordValue(Math.Clamp(ns, 1, HighestNs));
    }

    /// <summary>Returns what was recorded since the previous call (valid until the next call).</summary>
    public HistogramBase TakeInterval()
    {
        _interval = _interval is null ? _recorder.GetIntervalHistogram() : _recorder.GetIntervalHistogram(_interval);
        return _interval;
    }

    /// <summary>Drains the recorder and adds the interval to <see cref="Total"/>.</summary>
    public HistogramBase TakeIntervalIntoTotal()
    {
        HistogramBase interval = TakeInterval();
        Total.Add(interval);
        return interval;
    }
}
