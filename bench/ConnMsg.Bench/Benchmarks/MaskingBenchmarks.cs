using BenchmarkDotNet.Attributes;
using ConnMsg.Bench.Baselines;
using ConnMsg.Bench.Infrastructure;
using ConnMsg.WebSockets;

namespace ConnMsg.Bench.Benchmarks;

/// <summary>Unmasking in place (RFC 6455 §5.3): vectorised <see cref="Masking.Apply"/> against a byte loop. Target: 0 B.</summary>
[MemoryDiagnoser]
public class MaskingBenchmarks
{
    private byte[] _data = [];

    [Params(16, 1024, 65536)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[Size];
        Random.Shared.NextBytes(_data);
        byte[] expected = (byte[])_data.Clone();
        NaiveMasking.Apply(expected, ClientFrames.MaskKey, 1);
        byte[] actual = (byte[])_data.Clone();
        Masking.Apply(actual, ClientFrames.MaskKey, 1);
        if (!expected.AsSpan().SequenceEqual(actual))
        {
            throw new InvalidOperationException("Masking.Apply disagrees with the byte loop");
        }
    }

    // Each call XORs the same buffer again: masking twice restores it, so the data stays bounded and realistic.
    [Benchmark(Baseline = true, Description = "naive byte loop")]
    public int Naive() => NaiveMasking.Apply(_data, ClientFrames.MaskKey, 0);

    [Benchmark(Description = "Masking.Apply")]
    public int Apply() => Masking.Apply(_data, ClientFrames.MaskKey, 0);
}
