using ConnMsg.Load.Reporting;

namespace ConnMsg.Load.Bench;

/// <summary>One server's results of one workload, one per round of the bench.</summary>
internal sealed class ServerRounds
{
    /// <summary>Groups the results by round.</summary>
    public ServerRounds(string label, IReadOnlyDictionary<int, ScenarioResult> byRound)
    {
        if (byRound.Count == 0)
        {
            throw new ArgumentException("a server needs at least one result", nameof(byRound));
        }

        Label = label;
        ByRound = byRound;

        // A real run stands for the server in the charts, not a blend of several: the one of median throughput.
        double median = Median("throughput");
        Representative = byRound.Values
            .OrderBy(r => double.IsNaN(r.Get("throughput")) ? double.PositiveInfinity : Math.Abs(r.Get("throughput") - median))
            .First();
    }

    /// <summary>The server's name, as the results are labelled.</summary>
    public string Label { get; }

    /// <summary>The results by round number.</summary>
    public IReadOnlyDictionary<int, ScenarioResult> ByRound { get; }

    /// <summary>The round whose throughput is nearest the median: its timelines and distribution are shown.</summary>
    public ScenarioResult Representative { get; }

    /// <summary>The median of a metric over the rounds that measured it; NaN when none did.</summary>
    public double Median(string key) => RoundStatistics.Median(ByRound.Values.Select(r => r.Get(key)));
}
