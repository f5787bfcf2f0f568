namespace ConnMsg.Load.Bench;

/// <summary>Medians and ranges over the rounds of a bench.</summary>
internal static class RoundStatistics
{
    /// <summary>The median of the finite values (the mean of the middle two for an even count); NaN when there are none.</summary>
    public static double Median(IEnumerable<double> values)
    {
        double[] sorted = values.Where(double.IsFinite).Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        int middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /// <summary>
    /// The ratio <paramref name="numerator"/> ÷ <paramref name="denominator"/> of one metric, taken within each round
    /// both measured (the two ran minutes apart on the same machine, so the round's drift cancels), then summarised.
    /// </summary>
    public static RatioSpread Ratio(ServerRounds numerator, ServerRounds denominator, string key)
    {
        var ratios = new List<double>();
        foreach ((int round, Reporting.ScenarioResult result) in numerator.ByRound)
        {
            if (denominator.ByRound.TryGetValue(round, out Reporting.ScenarioResult? other))
            {
                double ratio = result.Get(key) / other.Get(key);
                if (double.IsFinite(ratio))
                {
                    ratios.Add(ratio);
                }
            }
        }

        return ratios.Count == 0
            ? new RatioSpread(double.NaN, double.NaN, double.NaN, 0)
            : new RatioSpread(Median(ratios), ratios.Min(), ratios.Max(), ratios.Count);
    }
}

/// <summary>A ratio over the rounds: its median, smallest and largest value, and how many rounds gave one.</summary>
/// <param name="Median">The median ratio.</param>
/// <param name="Min">The smallest.</param>
/// <param name="Max">The largest.</param>
/// <param name="Rounds">Rounds in which both sides were measured.</param>
internal readonly record struct RatioSpread(double Median, double Min, double Max, int Rounds);
