namespace ConnMsg.Load.Bench;

/// <summary>One metric across the servers of a workload.</summary>
/// <param name="Key">The metric key.</param>
/// <param name="Name">Its display name.</param>
/// <param name="Unit">Its unit.</param>
/// <param name="Values">One value per server (its median over the rounds), NaN where missing.</param>
/// <param name="Ratio">ConnMsg ÷ baseline over the rounds; its median is NaN when there is no ratio.</param>
internal sealed record ComparisonRow(string Key, string Name, string Unit, double[] Values, RatioSpread Ratio);
