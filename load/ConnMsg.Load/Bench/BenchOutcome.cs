using ConnMsg.Load.Reporting;

namespace ConnMsg.Load.Bench;

/// <summary>What became of one planned run.</summary>
/// <param name="Run">The run.</param>
/// <param name="Result">Its result, or null when it failed.</param>
/// <param name="Error">Why it failed, or null.</param>
/// <param name="Directory">Its report folder.</param>
public sealed record BenchOutcome(BenchRun Run, ScenarioResult? Result, string? Error, string Directory);
