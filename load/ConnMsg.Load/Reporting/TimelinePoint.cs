namespace ConnMsg.Load.Reporting;

/// <summary>One second of the measured window.</summary>
/// <param name="Second">Seconds since the window started (1 = the first full second).</param>
/// <param name="Count">Operations completed in that second.</param>
/// <param name="P50Us">Median latency in µs (NaN when nothing completed).</param>
/// <param name="P99Us">99th percentile latency in µs.</param>
/// <param name="MaxUs">Largest latency in µs.</param>
/// <param name="ServerRssMb">The server's resident memory at the end of the second, or NaN.</param>
/// <param name="ServerCpuPercent">The server's CPU use over the second (100 = one core), or NaN.</param>
/// <param name="DriverCpuPercent">The driver's CPU use over the second.</param>
public sealed record TimelinePoint(
    int Second, long Count, double P50Us, double P99Us, double MaxUs, double ServerRssMb, double ServerCpuPercent, double DriverCpuPercent);
