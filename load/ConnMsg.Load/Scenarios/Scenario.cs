using ConnMsg.Load.Metrics;
using ConnMsg.Load.Reporting;

namespace ConnMsg.Load.Scenarios;

/// <summary>
/// A load shape. <see cref="ScenarioRunner"/> calls <see cref="SetupAsync"/>, <see cref="StartAsync"/>, lets it
/// warm up, calls <see cref="OnMeasureStartAsync"/>, samples <see cref="Latency"/> once a second for the measured
/// window, then calls <see cref="StopAsync"/> and <see cref="AddResults"/>.
/// </summary>
public abstract class Scenario
{
    /// <summary>Creates the scenario over the shared options.</summary>
    protected Scenario(ScenarioOptions options) => Options = options;

    /// <summary>The shared options.</summary>
    public ScenarioOptions Options { get; }

    /// <summary>The scenario's name as used on the command line.</summary>
    public abstract string Name { get; }

    /// <summary>What one timed operation is, for labels (e.g. <c>req/s</c>).</summary>
    public abstract string OperationUnit { get; }

    /// <summary>What the primary latency measures.</summary>
    public abstract string LatencyMeaning { get; }

    /// <summary>The primary latency series; its count per second is the throughput.</summary>
    public LatencyTrack Latency { get; } = new();

    /// <summary>Errors seen so far (rejects, failed connects, faults).</summary>
    public long Errors => Interlocked.Read(ref ErrorCount);

    /// <summary>Incremented by the scenario's workers.</summary>
    protected long ErrorCount;

    /// <summary>True when the measured window may end before its duration (e.g. a storm finished).</summary>
    public virtual bool MeasureComplete => false;

    /// <summary>The longest the measured window may last; by default the configured duration.</summary>
    public virtual TimeSpan MeasureLimit => TimeSpan.FromSeconds(Options.DurationSeconds);

    /// <summary>The scenario's parameters for the report.</summary>
    public abstract IReadOnlyDictionary<string, string> Parameters { get; }

    /// <summary>Opens connections and subscriptions; nothing is timed yet.</summary>
    public abstract Task SetupAsync(CancellationToken cancellationToken);

    /// <summary>Starts the traffic (warm-up begins).</summary>
    public abstract Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Called between warm-up and the measured window.</summary>
    public virtual Task OnMeasureStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Stops the traffic, drains and closes.</summary>
    public abstract Task StopAsync(CancellationToken cancellationToken);

    /// <summary>Adds scenario-specific metrics and notes.</summary>
    public virtual void AddResults(ScenarioResult result, MeasuredWindow window)
    {
    }

    /// <summary>Extra text for the live progress line.</summary>
    public virtual string ProgressDetail => "";
}
