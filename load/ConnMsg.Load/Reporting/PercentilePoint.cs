namespace ConnMsg.Load.Reporting;

/// <summary>One point of the latency distribution over the whole measured window.</summary>
/// <param name="Percentile">0 … 100.</param>
/// <param name="LatencyUs">Latency at that percentile, µs.</param>
public sealed record PercentilePoint(double Percentile, double LatencyUs);
