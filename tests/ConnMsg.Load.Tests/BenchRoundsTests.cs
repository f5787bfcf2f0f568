using ConnMsg.Load.Bench;
using ConnMsg.Load.Reporting;

namespace ConnMsg.Load.Tests;

/// <summary>
/// <c>run-bench.sh --rounds N</c>: every run is repeated, the servers alternate which goes first, and the report
/// gives medians and each ratio's range over the rounds, the ratio taken within each round.
/// </summary>
public class BenchRoundsTests
{
    [Fact]
    public void Each_round_runs_every_server_once_and_every_other_round_reverses_their_order()
    {
        IReadOnlyList<BenchRun> plan = BenchPlan.Create(Options(rounds: 3, only: [BenchPlan.EchoPipelinedId]), [ServerSpec.ConnMsg, ServerSpec.Middleware]);

        Assert.Equal(
            [("connmsg", 1), ("middleware", 1), ("middleware", 2), ("connmsg", 2), ("connmsg", 3), ("middleware", 3)],
            plan.Select(r => (r.Server.Name, r.Round)));
    }

    [Fact]
    public void The_two_library_clients_alternate_within_each_round()
    {
        IReadOnlyList<BenchRun> plan = BenchPlan.Create(Options(rounds: 2, only: ["client", "signalr"]), [ServerSpec.ConnMsg, ServerSpec.SignalR]);

        Assert.Equal(
            [("client", 1), ("signalr", 1), ("signalr", 2), ("client", 2)],
            plan.Select(r => (r.Scenario, r.Round)));
    }

    [Fact]
    public void One_round_is_the_plan_without_repetition()
    {
        IReadOnlyList<BenchRun> once = BenchPlan.Create(Options(rounds: 1), [ServerSpec.ConnMsg, ServerSpec.Middleware]);
        IReadOnlyList<BenchRun> twice = BenchPlan.Create(Options(rounds: 2), [ServerSpec.ConnMsg, ServerSpec.Middleware]);

        Assert.All(once, r => Assert.Equal(1, r.Round));
        Assert.Equal(2 * once.Count, twice.Count);
        Assert.Equal(once.Select(r => (r.Id, r.Server.Name)).Order(), twice.Where(r => r.Round == 2).Select(r => (r.Id, r.Server.Name)).Order());
    }

    [Theory]
    [InlineData(new[] { 3.0, 1.0, 2.0 }, 2.0)]
    [InlineData(new[] { 4.0, 1.0, 3.0, 2.0 }, 2.5)]
    [InlineData(new[] { double.NaN, 5.0 }, 5.0)]
    [InlineData(new double[0], double.NaN)]
    public void The_median_ignores_rounds_that_did_not_measure(double[] values, double expected) =>
        Assert.Equal(expected, RoundStatistics.Median(values));

    [Fact]
    public void A_ratio_is_taken_within_a_round_and_a_round_missing_one_side_gives_none()
    {
        var ours = Server("connmsg", (1, 200), (2, 300), (3, 100));
        var theirs = Server("middleware", (1, 100), (2, 100));

        RatioSpread ratio = RoundStatistics.Ratio(ours, theirs, "throughput");

        Assert.Equal(new RatioSpread(2.5, 2.0, 3.0, 2), ratio);
    }

    [Fact]
    public void The_report_shows_medians_and_the_ratios_range()
    {
        BenchOptions options = Options(rounds: 3, only: [BenchPlan.EchoPipelinedId]);
        IReadOnlyList<BenchRun> plan = BenchPlan.Create(options, [ServerSpec.ConnMsg, ServerSpec.Middleware]);
        var throughput = new Dictionary<(string, int), double>
        {
            [("connmsg", 1)] = 300_000, [("middleware", 1)] = 100_000,  // 3.00×
            [("connmsg", 2)] = 150_000, [("middleware", 2)] = 100_000,  // 1.50×
            [("connmsg", 3)] = 400_000, [("middleware", 3)] = 200_000,  // 2.00×
        };
        var outcomes = plan.Select(r => new BenchOutcome(r, Result(r.Server.Name, throughput[(r.Server.Name, r.Round)]), null, "")).ToList();

        string markdown = CombinedReport.Markdown(options, outcomes, new Dictionary<string, string>());

        string row = markdown.Split('\n').Single(line => line.StartsWith("| Throughput", StringComparison.Ordinal));
        Assert.Equal($"| Throughput (req/s) | {Format.Number(300_000)} | {Format.Number(100_000)} | 2.00× (1.50–3.00) |", row);
        Assert.Contains("repeated 3 times", markdown);
    }

    [Fact]
    public void The_charts_show_the_round_of_median_throughput()
    {
        var server = Server("connmsg", (1, 10), (2, 30), (3, 20));

        Assert.Equal(20, server.Representative.Get("throughput"));
    }

    private static ServerRounds Server(string label, params (int Round, double Throughput)[] rounds) =>
        new(label, rounds.ToDictionary(r => r.Round, r => Result(label, r.Throughput)));

    private static ScenarioResult Result(string label, double throughput)
    {
        var result = new ScenarioResult { Scenario = "reqcfm", Label = label, OperationUnit = "req/s" };
        result.Add("throughput", "Throughput", throughput, "req/s");
        return result;
    }

    private static BenchOptions Options(int rounds, IReadOnlyList<string>? only = null) => new()
    {
        WarmupSeconds = 1,
        DurationSeconds = 1,
        Servers = ["connmsg", "middleware", "signalr"],
        ServersExplicit = false,
        Only = only ?? [],
        NoBuild = true,
        OutDirectory = Path.GetTempPath(),
        FanoutSubscribers = 1000,
        ConnectCount = 10000,
        Rounds = rounds,
    };
}
