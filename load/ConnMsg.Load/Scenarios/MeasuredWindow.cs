using ConnMsg.Load.Metrics;

namespace ConnMsg.Load.Scenarios;

/// <summary>The start and end of the measured window, for rates and CPU deltas.</summary>
/// <param name="Start">CPU times when it started.</param>
/// <param name="End">CPU times when it ended.</param>
/// <param name="Operations">Operations completed in it.</param>
public sealed record MeasuredWindow(CpuSnapshot Start, CpuSnapshot End, long Operations)
{
    /// <summary>Wall seconds.</summary>
    public double Seconds => End.WallSecondsSince(Start);

    /// <summary>The server's CPU seconds in the window, or NaN.</summary>
    public double ServerCpuSeconds => End.Server is TimeSpan e && Start.Server is TimeSpan s ? (e - s).TotalSeconds : double.NaN;

    /// <summary>
    /// CPU seconds used on the machine by neither the driver nor the server process, or NaN: other processes, and
    /// interrupt work (loopback packets handled in softirq on an idle core) that the kernel charges to no process.
    /// </summary>
    public double OtherCpuSeconds => End.Machine is TimeSpan e && Start.Machine is TimeSpan s
        ? Math.Max(0, (e - s).TotalSeconds - DriverCpuSeconds - (double.IsNaN(ServerCpuSeconds) ? 0 : ServerCpuSeconds))
        : double.NaN;

    /// <summary>The driver's CPU seconds in the window.</summary>
    public double DriverCpuSeconds => (End.Driver - Start.Driver).TotalSeconds;
}
