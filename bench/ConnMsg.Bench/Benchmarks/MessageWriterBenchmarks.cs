using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using ConnMsg.Bench.Baselines;
using ConnMsg.Bench.Infrastructure;
using ConnMsg.Messaging;
using ConnMsg.WebSockets;

namespace ConnMsg.Bench.Benchmarks;

/// <summary>
/// Encoding answers and Inds into complete, pooled server frames, against serialising an equivalent object graph to a
/// fresh byte array. Each op returns its frame to the pool, as the drain does once the bytes are written.
/// Target: 0 B in steady state.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class MessageWriterBenchmarks
{
    private const string Topic = "prices.eurusd";
    private static readonly PriceTick Tick = new("EURUSD", 1.0842, 1.0844);
    private JsonDocument _dataDocument = null!;
    private CfmPoco _cfm = null!;
    private RejPoco _rej = null!;
    private IndPoco _ind = null!;

    [GlobalSetup]
    public void Setup()
    {
        _dataDocument = JsonDocument.Parse(Payloads.SmallData);
        _cfm = new CfmPoco { Id = 42, Data = _dataDocument.RootElement };
        _rej = new RejPoco { Id = 42, Code = RejectCodes.UnknownOp, Reason = "no handler for this op" };
        _ind = new IndPoco { Topic = Topic, Seq = 17, Data = _dataDocument.RootElement };
    }

    [GlobalCleanup]
    public void Cleanup() => _dataDocument.Dispose();

    [Benchmark(Baseline = true, Description = "SerializeToUtf8Bytes(CfmPoco)"), BenchmarkCategory("Cfm")]
    public int CfmSerializer() => JsonSerializer.SerializeToUtf8Bytes(_cfm, BenchJsonContext.Default.CfmPoco).Length;

    [Benchmark(Description = "MessageWriter.Cfm + Release"), BenchmarkCategory("Cfm")]
    public int Cfm() => Sent(MessageWriter.Cfm("42"u8, Payloads.SmallData));

    [Benchmark(Baseline = true, Description = "SerializeToUtf8Bytes(RejPoco)"), BenchmarkCategory("Rej")]
    public int RejSerializer() => JsonSerializer.SerializeToUtf8Bytes(_rej, BenchJsonContext.Default.RejPoco).Length;

    [Benchmark(Description = "MessageWriter.Rej + Release"), BenchmarkCategory("Rej")]
    public int Rej() => Sent(MessageWriter.Rej("42"u8, RejectCodes.UnknownOp, "no handler for this op"));

    [Benchmark(Baseline = true, Description = "SerializeToUtf8Bytes(IndPoco)"), BenchmarkCategory("Ind")]
    public int IndSerializer() => JsonSerializer.SerializeToUtf8Bytes(_ind, BenchJsonContext.Default.IndPoco).Length;

    [Benchmark(Description = "MessageWriter.Ind + Release"), BenchmarkCategory("Ind")]
    public int Ind() => Sent(MessageWriter.Ind(Topic, 17, Payloads.SmallData, validateData: false));

    [Benchmark(Baseline = true, Description = "SerializeToUtf8Bytes(PriceTick)"), BenchmarkCategory("Cfm<T>")]
    public int CfmTypedSerializer() => JsonSerializer.SerializeToUtf8Bytes(Tick, BenchJsonContext.Default.PriceTick).Length;

    [Benchmark(Description = "MessageWriter.Cfm<T> + Release"), BenchmarkCategory("Cfm<T>")]
    public int CfmTyped() => Sent(MessageWriter.Cfm("42"u8, Tick, BenchJsonContext.Default.PriceTick));

    private static int Sent(OutboundFrame frame)
    {
        int length = frame.Length;
        frame.Release();
        return length;
    }
}
