using ConnMsg.Load.Cli;

namespace ConnMsg.Load.Bench;

/// <summary>Placeholder while the orchestrator is written.</summary>
public static class BenchCommand
{
    /// <summary>Runs the bench.</summary>
    public static Task<int> RunAsync(CommandLine cli, CancellationToken cancellationToken) => Task.FromResult(1);
}
