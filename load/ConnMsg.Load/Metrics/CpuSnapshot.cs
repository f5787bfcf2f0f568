using System.Diagnostics;

namespace ConnMsg.Load.Metrics;

/// <summary>The driver's and (optionally) the server's CPU time at one instant, for deltas over a window.</summary>
/// <param name="WallTimestamp">The <see cref="Stopwatch"/> timestamp.</param>
/// <param name="Driver">The driver's own CPU time.</param>
/// <param name="Server">The server's CPU time, or null when unknown.</param>
/// <param name="Machine">Busy time of the whole machine, or null when unknown (not Linux).</param>
public readonly record struct CpuSnapshot(long WallTimestamp, TimeSpan Driver, TimeSpan? Server, TimeSpan? Machine)
{
    /// <summary>Takes a snapshot; <paramref name="serverPid"/> may be null.</summary>
    public static CpuSnapshot Take(int? serverPid)
    {
        using var self = Process.GetCurrentProcess();
        TimeSpan? server = serverPid is int pid && ProcStats.TryReadCpu(pid, out TimeSpan cpu) ? cpu : null;
        TimeSpan? machine = ProcStats.TryReadMachineBusy(out TimeSpan busy) ? busy : null;
        return new CpuSnapshot(Stopwatch.GetTimestamp(), self.TotalProcessorTime, server, machine);
    }

    /// <summary>Seconds of wall time from <paramref name="start"/> to this snapshot.</summary>
    public double WallSecondsSince(CpuSnapshot start) => Stopwatch.GetElapsedTime(start.WallTimestamp, WallTimestamp).TotalSeconds;
}
