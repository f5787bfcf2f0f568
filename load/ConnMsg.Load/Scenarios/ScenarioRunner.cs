using System.Diagnostics;
using System.Globalization;
using ConnMsg.Load.Metrics;
using ConnMsg.Load.Reporting;
using HdrHistogram;

namespace ConnMsg.Load.Scenarios;

/// <summary>Runs a <see cref="Scenario"/> through set-up, warm-up and the measured window, and collects the result.</summary>
public static class ScenarioRunner
{
    private static readonly double[] s_distribution =
        [0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95, 97.5, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100];

    /// <summary>Runs <paramref name="scenario"/> and returns its result (not yet written anywhere).</summary>
    public static async Task<ScenarioResult> RunAsync(Scenario scenario, CancellationToken cancellationToken)
    {
        ScenarioOptions options = scenario.Options;
        string tag = $"[{options.Label}/{scenario.Name}]";
        ProgressLine.Update($"{tag} setting up …");
        await scenario.SetupAsync(cancellationToken);
        ProgressLine.Done($"{tag} set up");

        await scenario.StartAsync(cancellationToken);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        var previous = CpuSnapshot.Take(options.ServerPid);
        var warmup = Stopwatch.StartNew();
        while (warmup.Elapsed.TotalSeconds < options.WarmupSeconds - 0.01 && !cancellationToken.IsCancellationRequested)
        {
            TimeSpan left = TimeSpan.FromSeconds(options.WarmupSeconds) - warmup.Elapsed;
            await Task.Delay(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1), cancellationToken);
            HistogramBase interval = scenario.Latency.TakeInterval();
            var now = CpuSnapshot.Take(options.ServerPid);
            ProgressLine.Update($"{tag} warm-up {warmup.Elapsed.TotalSeconds,4:0}/{options.WarmupSeconds:0}s  " + Describe(scenario, interval, previous, now));
            previous = now;
        }

        ProgressLine.Done();
        await scenario.OnMeasureStartAsync(cancellationToken);
        scenario.Latency.TakeInterval(); // drop what warm-up left behind
        var result = new ScenarioResult
        {
            Scenario = scenario.Name,
            Label = options.Label,
            Target = options.TargetText,
            StartedUtc = DateTime.UtcNow,
            LatencyMeaning = scenario.LatencyMeaning,
            OperationUnit = scenario.OperationUnit,
            Parameters = new Dictionary<string, string>(scenario.Parameters)
            {
                ["warmup_s"] = options.WarmupSeconds.ToString(CultureInfo.InvariantCulture),
                ["duration_s"] = options.DurationSeconds.ToString(CultureInfo.InvariantCulture),
            },
        };

        long errorsAtStart = scenario.Errors;
        long allocatedAtStart = GC.GetTotalAllocatedBytes(precise: false);
        var start = CpuSnapshot.Take(options.ServerPid);
        previous = start;
        var measured = Stopwatch.StartNew();
        int second = 0;
        TimeSpan limit = scenario.MeasureLimit;
        while (measured.Elapsed < limit && !scenario.MeasureComplete && !cancellationToken.IsCancellationRequested)
        {
            // Polled rather than one Task.Delay(1 s): a scenario that completes (the connect storm) must end the
            // window when it completes, not at the next whole second, or its rate is understated by up to a second.
            await WaitUntilSecondOrCompleteAsync(scenario, measured, second + 1, limit, cancellationToken);
            HistogramBase interval = scenario.Latency.TakeIntervalIntoTotal();
            var now = CpuSnapshot.Take(options.ServerPid);
            second++;
            double wall = now.WallSecondsSince(previous);
            double rssMb = options.ServerPid is int pid && ProcStats.TryReadRssKb(pid, out long kb) ? kb / 1024.0 : double.NaN;
            double serverPct = now.Server is TimeSpan s1 && previous.Server is TimeSpan s0 ? (s1 - s0).TotalSeconds / wall * 100 : double.NaN;
            result.Timeline.Add(new TimelinePoint(
                second,
                interval.TotalCount,
                Us(interval, 50),
                Us(interval, 99),
                interval.TotalCount == 0 ? double.NaN : interval.GetMaxValue() / 1000.0,
                rssMb,
                serverPct,
                (now.Driver - previous.Driver).TotalSeconds / wall * 100));
            ProgressLine.Update($"{tag} measure {measured.Elapsed.TotalSeconds,4:0}/{limit.TotalSeconds:0}s  " + Describe(scenario, interval, previous, now));
            previous = now;
        }

        scenario.Latency.TakeIntervalIntoTotal(); // whatever completed after the last full second
        var end = CpuSnapshot.Take(options.ServerPid);
        long allocated = GC.GetTotalAllocatedBytes(precise: false) - allocatedAtStart;
        ProgressLine.Done();
        var window = new MeasuredWindow(start, end, scenario.Latency.Total.TotalCount);

        ProgressLine.Update($"{tag} stopping …");
        await scenario.StopAsync(cancellationToken);
        ProgressLine.Done($"{tag} done");

        AddStandardMetrics(result, scenario, window, scenario.Errors - errorsAtStart);
        // Shows that the driver's hot path does not allocate (the sampler's once-a-second work is all there is).
        result.Add("driver_alloc_bytes_per_op", "Driver allocation per operation", allocated / (double)Math.Max(1, window.Operations), "B");
        scenario.AddResults(result, window);
        HistogramBase total = scenario.Latency.Total;
        if (total.TotalCount > 0)
        {
            foreach (double p in s_distribution)
            {
                result.Distribution.Add(new PercentilePoint(p, total.GetValueAtPercentile(p) / 1000.0));
            }
        }

        return result;
    }

    private static async Task WaitUntilSecondOrCompleteAsync(Scenario scenario, Stopwatch measured, int second, TimeSpan limit, CancellationToken cancellationToken)
    {
        // Task.Delay may wake a little early; a point must cover a full second unless the window is ending.
        while (measured.Elapsed.TotalSeconds < second && measured.Elapsed < limit && !scenario.MeasureComplete)
        {
            await Task.Delay(5, cancellationToken);
        }
    }

    private static void AddStandardMetrics(ScenarioResult result, Scenario scenario, MeasuredWindow window, long errors)
    {
        HistogramBase total = scenario.Latency.Total;
        double seconds = window.Seconds;
        result.Add("throughput", "Throughput", window.Operations / seconds, scenario.OperationUnit);
        result.Add("operations", "Operations measured", window.Operations, "");
        result.Add("p50_us", "Latency p50", Us(total, 50), "µs");
        result.Add("p90_us", "Latency p90", Us(total, 90), "µs");
        result.Add("p99_us", "Latency p99", Us(total, 99), "µs");
        result.Add("p999_us", "Latency p99.9", Us(total, 99.9), "µs");
        result.Add("max_us", "Latency max", total.TotalCount == 0 ? double.NaN : total.GetMaxValue() / 1000.0, "µs");
        result.Add("mean_us", "Latency mean", total.TotalCount == 0 ? double.NaN : total.GetMean() / 1000.0, "µs");
        result.Add("errors", "Errors", errors, "");
        result.Add("measured_s", "Measured window", seconds, "s");
        result.Add("driver_cpu_pct", "Driver CPU", window.DriverCpuSeconds / seconds * 100, "% of a core");
        result.Add("driver_cpu_us_per_op", "Driver CPU per operation", window.DriverCpuSeconds * 1e6 / Math.Max(1, window.Operations), "µs");
        if (!double.IsNaN(window.ServerCpuSeconds))
        {
            result.Add("server_cpu_pct", "Server CPU", window.ServerCpuSeconds / seconds * 100, "% of a core");
            result.Add("server_cpu_us_per_op", "Server CPU per operation", window.ServerCpuSeconds * 1e6 / Math.Max(1, window.Operations), "µs");
        }
        else
        {
            result.Notes.Add("Server CPU not measured: give --server-pid (Linux /proc) to get server CPU-µs per message.");
        }

        if (!double.IsNaN(window.OtherCpuSeconds))
        {
            double other = window.OtherCpuSeconds / seconds * 100;
            result.Add("other_cpu_pct", "Other CPU load on the machine", other, "% of a core");
            if (other > 15)
            {
                // Besides other processes this holds interrupt work done while neither process ran, such as loopback
                // packets delivered in softirq on an idle core, which belongs to the traffic but to neither side alone.
                result.Notes.Add($"Work outside the server and driver processes (other processes, or network interrupt work done while neither ran) used {other:0}% of a core during the window: figures are noisy, and CPU per operation may be understated by up to that share.");
            }
        }

        if (window.DriverCpuSeconds / seconds > 0.9)
        {
            result.Notes.Add("The driver used over 90% of a core: it may have been the bottleneck of this run.");
        }
    }

    private static double Us(HistogramBase histogram, double percentile) =>
        histogram.TotalCount == 0 ? double.NaN : histogram.GetValueAtPercentile(percentile) / 1000.0;

    private static string Describe(Scenario scenario, HistogramBase interval, CpuSnapshot previous, CpuSnapshot now)
    {
        double wall = Math.Max(now.WallSecondsSince(previous), 1e-3);
        string server = now.Server is TimeSpan s1 && previous.Server is TimeSpan s0
            ? $"  server {(s1 - s0).TotalSeconds / wall * 100,3:0}%"
            : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{interval.TotalCount / wall,10:N0} {scenario.OperationUnit}  p50 {Us(interval, 50) / 1000,7:0.000} ms  p99 {Us(interval, 99) / 1000,7:0.000} ms  " +
            $"driver {(now.Driver - previous.Driver).TotalSeconds / wall * 100,3:0}%{server}  err {scenario.Errors}{scenario.ProgressDetail}");
    }
}
