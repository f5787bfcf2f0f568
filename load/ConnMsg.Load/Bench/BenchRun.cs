namespace ConnMsg.Load.Bench;

/// <summary>One planned scenario run against one server.</summary>
/// <param name="Id">Identifies the workload across servers (e.g. <c>reqcfm-100x16</c>), so results can be compared.</param>
/// <param name="Title">Display title of the workload.</param>
/// <param name="Scenario">The driver subcommand.</param>
/// <param name="Server">The server to drive.</param>
/// <param name="Arguments">The scenario's own options.</param>
/// <param name="Round">Which repetition of the workload this is, from 1 (see <see cref="BenchOptions.Rounds"/>).</param>
public sealed record BenchRun(string Id, string Title, string Scenario, ServerSpec Server, IReadOnlyList<string> Arguments, int Round = 1);
