namespace ConnMsg.Load.Reporting;

/// <summary>Everything one scenario run produced; serialised as <c>result.json</c> for the combined report.</summary>
public sealed class ScenarioResult
{
    /// <summary>The scenario name (<c>reqcfm</c>, <c>fanout</c>, …).</summary>
    public string Scenario { get; set; } = "";

    /// <summary>A label for the run, e.g. the server under test.</summary>
    public string Label { get; set; } = "";

    /// <summary>The target URL.</summary>
    public string Target { get; set; } = "";

    /// <summary>When the measured window started.</summary>
    public DateTime StartedUtc { get; set; }

    /// <summary>What the primary latency measures, e.g. "request → cfm".</summary>
    public string LatencyMeaning { get; set; } = "";

    /// <summary>What one operation is, e.g. "req/s".</summary>
    public string OperationUnit { get; set; } = "op/s";

    /// <summary>The run's parameters as given.</summary>
    public Dictionary<string, string> Parameters { get; set; } = [];

    /// <summary>The figures, in display order.</summary>
    public List<Metric> Metrics { get; set; } = [];

    /// <summary>Per-second points of the measured window.</summary>
    public List<TimelinePoint> Timeline { get; set; } = [];

    /// <summary>The latency distribution of the measured window.</summary>
    public List<PercentilePoint> Distribution { get; set; } = [];

    /// <summary>Caveats worth reading next to the figures.</summary>
    public List<string> Notes { get; set; } = [];

    /// <summary>The value of metric <paramref name="key"/>, or NaN.</summary>
    public double Get(string key) => Metrics.FirstOrDefault(m => m.Key == key)?.Value ?? double.NaN;

    /// <summary>Adds a metric.</summary>
    public void Add(string key, string name, double value, string unit) => Metrics.Add(new Metric(key, name, value, unit));
}
