using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Perfolizer.Metrology;
using ConnMsg.Bench.Verification;

namespace ConnMsg.Bench;

/// <summary>
/// <c>dotnet run -c Release --project bench/ConnMsg.Bench -- --filter '*'</c> runs every suite (BenchmarkDotNet's own
/// arguments apply: <c>--job short</c>, <c>--list flat</c>, …); <c>--quick</c> is <c>--job short</c>.
/// <c>--verify-zero-alloc [name…]</c> runs each steady-state op 100 000 times and exits 1 if any allocated.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--verify-zero-alloc")
        {
            return ZeroAllocCheck.Run(args[1..]);
        }

        string[] expanded = args.SelectMany(a => a == "--quick" ? new[] { "--job", "short" } : [a]).ToArray();
        IConfig config = DefaultConfig.Instance
            // Bytes, not KB: a regression of 24 B per op must show.
            .WithSummaryStyle(SummaryStyle.Default.WithSizeUnit(SizeUnit.B));
        Summary[] summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(expanded, config).ToArray();
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
