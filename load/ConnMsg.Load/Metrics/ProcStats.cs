using System.Globalization;

namespace ConnMsg.Load.Metrics;

/// <summary>Reads another process's CPU time and resident memory from Linux's <c>/proc</c>.</summary>
public static class ProcStats
{
    // USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every mainstream Linux architecture.
    private const double ClockTicksPerSecond = 100;

    /// <summary>utime + stime of <paramref name="pid"/>; false when it cannot be read (not Linux, process gone).</summary>
    public static bool TryReadCpu(int pid, out TimeSpan cpu)
    {
        cpu = default;
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name may contain spaces and parentheses: fields are counted after the last ')'.
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
            long stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
            cpu = TimeSpan.FromSeconds((utime + stime) / ClockTicksPerSecond);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return false;
        }
    }

    /// <summary>
    /// Busy CPU time of the whole machine (all cores) from <c>/proc/stat</c>: user, nice, system, irq and softirq. Idle and
    /// iowait are not work, and neither is steal, the time the hypervisor gave another guest while this one waited.
    /// </summary>
    public static bool TryReadMachineBusy(out TimeSpan busy)
    {
        busy = default;
        try
        {
            using var reader = new StreamReader("/proc/stat");
            string? line = reader.ReadLine();
            if (line is null || !line.StartsWith("cpu ", StringComparison.Ordinal))
            {
                return false;
            }

            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long total = 0;
            for (int i = 1; i < f.Length && i <= 7; i++)
            {
                // user nice system idle iowait irq softirq: skip idle (4) and iowait (5).
                if (i is not (4 or 5))
                {
                    total += long.Parse(f[i], CultureInfo.InvariantCulture);
                }
            }

            busy = TimeSpan.FromSeconds(total / ClockTicksPerSecond);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return false;
        }
    }

    /// <summary>VmRSS of <paramref name="pid"/> in KiB; false when it cannot be read.</summary>
    public static bool TryReadRssKb(int pid, out long kb)
    {
        kb = 0;
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    kb = long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
                    return true;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
        }

        return false;
    }
}
