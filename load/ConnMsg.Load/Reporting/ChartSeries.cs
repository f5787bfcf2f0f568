namespace ConnMsg.Load.Reporting;

/// <summary>One line of a chart; NaN y values leave a gap.</summary>
/// <param name="Name">The legend text.</param>
/// <param name="Color">A CSS colour.</param>
/// <param name="Points">The points in x order.</param>
public sealed record ChartSeries(string Name, string Color, IReadOnlyList<(double X, double Y)> Points);
