using ConnMsg.Load.Cli;
using ConnMsg.Load.Transport;

namespace ConnMsg.Load.Scenarios;

/// <summary>The options every scenario shares.</summary>
public sealed class ScenarioOptions
{
    /// <summary>Where to connect (<c>--target</c>).</summary>
    public required WsTarget Target { get; init; }

    /// <summary>The target as given.</summary>
    public required string TargetText { get; init; }

    /// <summary>Warm-up seconds (<c>--warmup</c>), not measured.</summary>
    public required double WarmupSeconds { get; init; }

    /// <summary>Measured seconds (<c>--duration</c>).</summary>
    public required double DurationSeconds { get; init; }

    /// <summary>The report folder (<c>--out</c>).</summary>
    public required string OutDirectory { get; init; }

    /// <summary>The server's process id (<c>--server-pid</c>) for its CPU and memory, or null.</summary>
    public int? ServerPid { get; init; }

    /// <summary>A label for the run (<c>--label</c>), e.g. the server's name.</summary>
    public required string Label { get; init; }

    /// <summary>Reads the shared options; <paramref name="defaultTarget"/> applies when <c>--target</c> is absent.</summary>
    public static ScenarioOptions From(CommandLine cli, string scenario, string defaultTarget, string defaultPath = "/ws")
    {
        string target = cli.String("target", defaultTarget);
        string outDir = cli.StringOrNull("out")
            ?? Path.Combine(ReportPaths.DefaultRoot(), DateTime.Now.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture) + "-" + scenario);
        return new ScenarioOptions
        {
            Target = WsTarget.Parse(target, defaultPath),
            TargetText = target,
            WarmupSeconds = cli.Double("warmup", 10),
            DurationSeconds = cli.Double("duration", 20),
            OutDirectory = outDir,
            ServerPid = cli.IntOrNull("server-pid"),
            Label = cli.String("label", scenario),
        };
    }
}
