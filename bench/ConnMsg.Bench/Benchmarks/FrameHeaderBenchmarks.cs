using System.Buffers;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using ConnMsg.Bench.Baselines;
using ConnMsg.Bench.Infrastructure;
using ConnMsg.WebSockets;

namespace ConnMsg.Bench.Benchmarks;

/// <summary>Reading a client frame header (with every RFC 6455 check) and writing a server one. Target: 0 B.</summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class FrameHeaderBenchmarks
{
    private byte[] _header = [];
    private ReadOnlySequence<byte> _whole;
    private ReadOnlySequence<byte> _split;
    private readonly byte[] _destination = new byte[FrameWriter.MaxHeaderLength];

    /// <summary>Payload length: 7-bit (2+4 B header), 16-bit (2+2+4 B) or 64-bit (2+8+4 B) length field.</summary>
    [Params(100, 4_000, 100_000)]
    public int PayloadLength { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        byte[] frame = ClientFrames.MaskedText(new byte[PayloadLength]);
        int headerLength = PayloadLength <= 125 ? 6 : PayloadLength <= ushort.MaxValue ? 8 : 14;
        _header = frame.AsSpan(0, headerLength).ToArray();
        _whole = new ReadOnlySequence<byte>(frame.AsMemory(0, headerLength + 16));
        // The header straddles two pipe segments: the copy-to-stack path.
        _split = SegmentedSequence.Split(frame.AsSpan(0, headerLength + 16).ToArray(), 3);
        if (ReadHeader() != PayloadLength || ReadHeaderSplit() != PayloadLength || ReadHeaderNaive() != PayloadLength)
        {
            throw new InvalidOperationException("header did not decode");
        }
    }

    [Benchmark(Baseline = true, Description = "naive span decode, no checks"), BenchmarkCategory("Read")]
    public long ReadHeaderNaive() =>
        NaiveFrameHeader.TryRead(_header, out long length, out _, out _) ? length : -1;

    [Benchmark(Description = "FrameReader.TryReadHeader (1 segment)"), BenchmarkCategory("Read")]
    public long ReadHeader()
    {
        var reader = new SequenceReader<byte>(_whole);
        return FrameReader.TryReadHeader(ref reader, 1 << 20, out FrameHeader header, out _) ? header.PayloadLength : -1;
    }

    [Benchmark(Description = "FrameReader.TryReadHeader (split)"), BenchmarkCategory("Read")]
    public long ReadHeaderSplit()
    {
        var reader = new SequenceReader<byte>(_split);
        return FrameReader.TryReadHeader(ref reader, 1 << 20, out FrameHeader header, out _) ? header.PayloadLength : -1;
    }

    [Benchmark(Description = "FrameWriter.WriteHeader"), BenchmarkCategory("Write")]
    public int WriteHeader() => FrameWriter.WriteHeader(_destination, WebSocketOpcode.Text, PayloadLength);
}
