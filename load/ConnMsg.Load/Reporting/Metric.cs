namespace ConnMsg.Load.Reporting;

/// <summary>One figure of a run.</summary>
/// <param name="Key">A stable machine name (<c>throughput</c>, <c>p99_us</c>, …) that the combined report looks up.</param>
/// <param name="Name">The human label.</param>
/// <param name="Value">The value; NaN when it could not be measured.</param>
/// <param name="Unit">The unit, e.g. <c>msg/s</c>, <c>µs</c>.</param>
public sealed record Metric(string Key, string Name, double Value, string Unit);
