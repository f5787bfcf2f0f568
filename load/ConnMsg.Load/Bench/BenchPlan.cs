using System.Globalization;

namespace ConnMsg.Load.Bench;

/// <summary>The standard set of runs of issue "Performance, measured".</summary>
public static class BenchPlan
{
    /// <summary>The id of the raw-client request/response run of the same shape as the SignalR run.</summary>
    public const string EchoPipelinedId = "reqcfm-100x16x64B";

    /// <summary>The id of the ConnMsg .NET client run that the SignalR run is compared with.</summary>
    public const string ClientEchoId = "client-100x16x64B";

    /// <summary>The id of the SignalR run.</summary>
    public const string SignalREchoId = "signalr-100x16x64B";

    /// <summary>
    /// Publishes per second of the rated fan-out run: the middleware baseline spent a whole core at 200/s on this
    /// machine (one send per subscriber per Ind, each waking an idle reader), so 100/s leaves it room in a slow period.
    /// </summary>
    public const int RatedPublishes = 100;

    /// <summary>The runs for the chosen servers, ConnMsg's first in each workload.</summary>
    public static IReadOnlyList<BenchRun> Create(BenchOptions options, IReadOnlyList<ServerSpec> servers)
    {
        var runs = new List<BenchRun>();
        string subs = options.FanoutSubscribers.ToString(CultureInfo.InvariantCulture);
        string conns = options.ConnectCount.ToString(CultureInfo.InvariantCulture);
        foreach (ServerSpec s in servers.Where(s => s != ServerSpec.SignalR))
        {
            runs.Add(new BenchRun(EchoPipelinedId, "echo, 100 connections × 16 in flight, 64 B", "reqcfm", s,
                ["--connections", "100", "--inflight", "16", "--size", "64"]));
            runs.Add(new BenchRun("reqcfm-100x1x64B", "echo, 100 connections × 1 in flight, 64 B", "reqcfm", s,
                ["--connections", "100", "--inflight", "1", "--size", "64"]));
            runs.Add(new BenchRun($"fanout-{subs}", $"fan-out to {subs} subscribers, 1 publisher flat out (8 in flight)", "fanout", s,
                ["--subscribers", subs, "--publishers", "1", "--pub-inflight", "8"]));
            // Flat out, each server delivers what it can, so latency there is mostly queueing and grows with what was
            // delivered. At a rate every server sustains, the same Inds go to the same subscribers and latency compares.
            runs.Add(new BenchRun($"fanout-rated-{subs}", $"fan-out to {subs} subscribers at {RatedPublishes} publishes/s (a rate every server sustains)", "fanout", s,
                ["--subscribers", subs, "--publishers", "1", "--pub-inflight", "8", "--rate", RatedPublishes.ToString(CultureInfo.InvariantCulture)]));
            runs.Add(new BenchRun($"connect-{conns}", $"connection storm to {conns} held connections, 100 in parallel", "connect", s,
                ["--connections", conns, "--parallel", "100"]));
        }

        if (servers.Contains(ServerSpec.ConnMsg) && servers.Contains(ServerSpec.SignalR))
        {
            runs.Add(new BenchRun(ClientEchoId, "echo with the ConnMsg .NET client, 100 × 16 in flight, 64 B", "client", ServerSpec.ConnMsg,
                ["--connections", "100", "--inflight", "16", "--size", "64"]));
        }

        if (servers.Contains(ServerSpec.SignalR))
        {
            runs.Add(new BenchRun(SignalREchoId, "SignalR Echo with the SignalR .NET client, 100 × 16 in flight, 64 B", "signalr", ServerSpec.SignalR,
                ["--connections", "100", "--inflight", "16", "--size", "64"]));
        }

        List<BenchRun> chosen = runs
            .Where(r => r.Server.Supports(r.Scenario))
            .Where(r => options.Only.Count == 0 || options.Only.Any(o => r.Id.StartsWith(o, StringComparison.OrdinalIgnoreCase)))
            .ToList();

        // Rounds of one workload run back to back, the servers in reverse order every other round: a machine that
        // slows down or speeds up during a workload then weighs on each server alike instead of on whoever ran last.
        return Enumerable.Range(1, options.Rounds)
            .SelectMany(round => chosen.Select((r, order) => (Run: r with { Round = round }, Order: round % 2 == 1 ? order : -order)))
            .OrderBy(x => x.Run.Scenario switch { "reqcfm" => 0, "fanout" => 1, "connect" => 2, _ => 3 })
            .ThenBy(x => ComparedAs(x.Run), StringComparer.Ordinal)
            .ThenBy(x => x.Run.Round)
            .ThenBy(x => x.Order)
            .Select(x => x.Run)
            .ToList();
    }

    /// <summary>The runs that one ratio compares share this key: a workload's id, or one key for the two library clients.</summary>
    private static string ComparedAs(BenchRun run) => run.Scenario is "client" or "signalr" ? ClientEchoId : run.Id;
}
