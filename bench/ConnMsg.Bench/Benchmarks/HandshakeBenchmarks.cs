using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using ConnMsg.Bench.Infrastructure;
using ConnMsg.Http;

namespace ConnMsg.Bench.Benchmarks;

/// <summary>
/// The HTTP upgrade: parsing a browser's request head, validating it, and the Sec-WebSocket-Accept hash.
/// Once per connection, so allocation here is expected: the head becomes strings that the application can keep.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class HandshakeBenchmarks
{
    private const string Key = "dGhlIHNhbXBsZSBub25jZQ==";
    private const string Rfc6455Guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    private readonly ConnMsgOptions _options = new();
    private ReadOnlySequence<byte> _request;
    private ReadOnlySequence<byte> _requestSplit;
    private readonly byte[] _accept = new byte[WebSocketHandshake.AcceptLength];
    private HttpRequestHead _head = null!;

    [GlobalSetup]
    public void Setup()
    {
        _request = new ReadOnlySequence<byte>(Payloads.UpgradeRequest);
        // Split inside a header line, as a read that ends mid-head would leave it.
        _requestSplit = SegmentedSequence.Split(Payloads.UpgradeRequest, 100, 300);
        _head = ParseRequestHead() ?? throw new InvalidOperationException("the upgrade request did not parse");
        if (Validate() is null)
        {
            throw new InvalidOperationException("the upgrade request was refused");
        }
    }

    [Benchmark(Description = "TryReadRequestHead (1 segment)"), BenchmarkCategory("Handshake")]
    public HttpRequestHead? ParseRequestHead()
    {
        var reader = new SequenceReader<byte>(_request);
        HttpRequestHeadParser.TryReadRequestHead(ref reader, _options.MaxRequestLineSize, _options.MaxRequestHeadSize,
            _options.MaxHeaderCount, out HttpRequestHead? head, out _);
        return head;
    }

    [Benchmark(Description = "TryReadRequestHead (3 segments)"), BenchmarkCategory("Handshake")]
    public HttpRequestHead? ParseRequestHeadSplit()
    {
        var reader = new SequenceReader<byte>(_requestSplit);
        HttpRequestHeadParser.TryReadRequestHead(ref reader, _options.MaxRequestLineSize, _options.MaxRequestHeadSize,
            _options.MaxHeaderCount, out HttpRequestHead? head, out _);
        return head;
    }

    [Benchmark(Description = "WebSocketHandshake.Validate"), BenchmarkCategory("Handshake")]
    public string? Validate()
    {
        HttpResponse? refusal = WebSocketHandshake.Validate(_head, _options, out string key, out _, out _);
        return refusal is null ? key : null;
    }

    [Benchmark(Baseline = true, Description = "naive ToBase64(SHA1(bytes(key+guid)))"), BenchmarkCategory("Accept")]
    public string ComputeAcceptNaive() =>
        Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(Key + Rfc6455Guid)));

    /// <summary>Written straight into the 101 response's buffer, as the handshake does: no string.</summary>
    [Benchmark(Description = "WebSocketHandshake.WriteAccept"), BenchmarkCategory("Accept")]
    public int WriteAccept() => WebSocketHandshake.WriteAccept(Key, _accept);
}
