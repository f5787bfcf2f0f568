using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ConnMsg.Load.Bench;

/// <summary>Starts processes pinned to one core: with <c>taskset</c> on Linux, by processor affinity elsewhere.</summary>
public static class Pinning
{
    private static readonly bool s_haveTaskset =
        RuntimeInformation.IsOSPlatform(OSPlatform.Linux) && File.Exists("/usr/bin/taskset");

    /// <summary>True when the machine has at least two cores to keep server and driver apart.</summary>
    public static bool CanPin => Environment.ProcessorCount >= 2 || s_haveTaskset;

    /// <summary>
    /// A start description for <c>dotnet <paramref name="arguments"/></c> pinned to <paramref name="core"/>.
    /// With taskset the process execs dotnet, so the started process id is the server's own.
    /// </summary>
    public static ProcessStartInfo Dotnet(int? core, IEnumerable<string> arguments)
    {
        string dotnet = Environment.ProcessPath is string p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        return Native(core, dotnet, arguments);
    }

    /// <summary>
    /// A start description for <c><paramref name="executable"/> <paramref name="arguments"/></c> pinned to
    /// <paramref name="core"/>. With taskset the process execs the executable, so the started process id is its own.
    /// </summary>
    public static ProcessStartInfo Native(int? core, string executable, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo { UseShellExecute = false };
        if (core is int c && s_haveTaskset)
        {
            info.FileName = "taskset";
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(c.ToString(System.Globalization.CultureInfo.InvariantCulture));
            info.ArgumentList.Add(executable);
        }
        else
        {
            info.FileName = executable;
        }

        foreach (string a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        return info;
    }

    /// <summary>Pins an already started process where taskset was not available.</summary>
    public static void ApplyAffinity(Process process, int? core)
    {
        if (core is int c && !s_haveTaskset && c < Environment.ProcessorCount && (OperatingSystem.IsWindows() || OperatingSystem.IsLinux()))
        {
            process.ProcessorAffinity = (nint)(1L << c);
        }
    }
}
