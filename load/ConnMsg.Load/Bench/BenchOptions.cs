using ConnMsg.Load.Cli;

namespace ConnMsg.Load.Bench;

/// <summary>Options of the <c>bench</c> command.</summary>
public sealed class BenchOptions
{
    /// <summary>Seconds of warm-up per run (25; 3 with <c>--quick</c>).</summary>
    public required double WarmupSeconds { get; init; }

    /// <summary>Measured seconds per run (30; 5 with <c>--quick</c>).</summary>
    public required double DurationSeconds { get; init; }

    /// <summary>Servers to run, by <see cref="ServerSpec.Name"/>.</summary>
    public required IReadOnlyList<string> Servers { get; init; }

    /// <summary>True when <c>--servers</c> was given: a server named there that cannot be built is an error, not a skip.</summary>
    public required bool ServersExplicit { get; init; }

    /// <summary>Workload ids to run (all when empty).</summary>
    public required IReadOnlyList<string> Only { get; init; }

    /// <summary>Skip <c>dotnet build</c> of the servers.</summary>
    public required bool NoBuild { get; init; }

    /// <summary>The combined report's folder.</summary>
    public required string OutDirectory { get; init; }

    /// <summary>Subscribers of the fan-out run.</summary>
    public required int FanoutSubscribers { get; init; }

    /// <summary>Connections of the connect storm.</summary>
    public required int ConnectCount { get; init; }

    /// <summary>
    /// How many times each run is repeated (1). With more than one, the report shows each metric's median over the
    /// rounds and each ratio's median with its range, since one round's ratio on a shared machine can be off by a third.
    /// </summary>
    public required int Rounds { get; init; }

    /// <summary>Reads the options.</summary>
    public static BenchOptions From(CommandLine cli, string defaultOut)
    {
        bool quick = cli.Flag("quick");
        return new BenchOptions
        {
            WarmupSeconds = cli.Double("warmup", quick ? 3 : 25),
            DurationSeconds = cli.Double("duration", quick ? 5 : 30),
            Servers = cli.String("servers", "connmsg,connmsg-transport,middleware,floor,signalr").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            ServersExplicit = cli.Has("servers"),
            Only = cli.String("only", "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            NoBuild = cli.Flag("no-build"),
            OutDirectory = cli.String("out", defaultOut),
            FanoutSubscribers = cli.Int("subscribers", 1000),
            ConnectCount = cli.Int("connections", 10000),
            Rounds = cli.Int("rounds", 1) is int rounds and >= 1 and <= 20
                ? rounds
                : throw new ArgumentException("--rounds takes 1 to 20"),
        };
    }
}
