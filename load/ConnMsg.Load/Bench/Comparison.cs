namespace ConnMsg.Load.Bench;

/// <summary>One workload's results side by side, as the combined report shows them.</summary>
/// <param name="Id">The workload id.</param>
/// <param name="Title">Its display title.</param>
/// <param name="Servers">Each server's results over the rounds, ConnMsg first.</param>
/// <param name="Rows">The metrics compared.</param>
/// <param name="HasRatio">True when both sides of the ratio were measured.</param>
/// <param name="RatioLabel">The ratio column's heading.</param>
/// <param name="Notes">Notes of the runs.</param>
internal sealed record Comparison(string Id, string Title, List<ServerRounds> Servers, List<ComparisonRow> Rows, bool HasRatio, string RatioLabel, List<string> Notes);
