namespace ConnMsg.Load.Reporting;

/// <summary>One category of a bar chart: a bar per series.</summary>
/// <param name="Category">The label under the group.</param>
/// <param name="Bars">Series name, value (NaN for a missing bar) and colour.</param>
public sealed record BarGroup(string Category, IReadOnlyList<(string Series, double Value, string Color)> Bars);
