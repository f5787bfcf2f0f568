using System.Globalization;

namespace ConnMsg.Load.Bench;

/// <summary>The standard set of runs of issue "Performance, measured".</summary>
public static class BenchPlan
{
    /// <summary>The id of the request/response run that the SignalR run is compared with.</summary>
    public const string EchoPipelinedId = "reqcfm-100x16x64B";

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
            runs.Add(new BenchRun($"connect-{conns}", $"connection storm to {conns} held connections, 100 in parallel", "connect", s,
                ["--connections", conns, "--parallel", "100"]));
        }

        if (servers.Contains(ServerSpec.SignalR))
        {
            runs.Add(new BenchRun("signalr-100x16x64B", "SignalR Echo with the SignalR .NET client, 100 × 16 in flight, 64 B", "signalr", ServerSpec.SignalR,
                ["--connections", "100", "--inflight", "16", "--size", "64"]));
        }

        return runs
            .Where(r => options.Only.Count == 0 || options.Only.Any(o => r.Id.StartsWith(o, StringComparison.OrdinalIgnoreCase)))
            .OrderBy(r => r.Id == "signalr-100x16x64B" ? 1 : 0)
            .ThenBy(r => r.Scenario switch { "reqcfm" => 0, "fanout" => 1, "connect" => 2, _ => 3 })
            .ThenBy(r => r.Id)
            .ToList();
    }
}
