using System.Text.Json;
using BenchmarkDotNet.Attributes;
using ConnMsg.Bench.Baselines;
using ConnMsg.Bench.Infrastructure;
using ConnMsg.Messaging;

namespace ConnMsg.Bench.Benchmarks;

/// <summary>
/// One publish to N subscribers, each a real <see cref="ConnMsgConnection"/> subscribed with
/// <see cref="ConnMsgConnection.Subscribe"/>. The Ind is encoded once; every subscriber's queue gets the same frame and
/// its drain copies it into that connection's pipe: on the publishing thread for up to 64 subscribers, in thread-pool
/// work items of 64 subscribers each beyond. An op is the publish plus the wait until every
/// subscriber's client side has read the frame, so the time is the whole delivery. Target: 0 B per publish.
/// </summary>
[MemoryDiagnoser]
public class FanoutBenchmarks
{
    private InMemorySubscribers _subscribers = null!;
    private ReadOnlyMemory<byte> _data;
    private long _frameLength;
    private readonly PriceTick _tick = new("EURUSD", 1.0842, 1.0844);
    private long _typedFrameLength;

    [Params(1, 100, 10_000)]
    public int Subscribers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = Payloads.SmallData;
        _subscribers = new InMemorySubscribers("bench.prices", Subscribers);
        _frameLength = _subscribers.IndLength(_data.Span);
        _typedFrameLength = _subscribers.IndLength(JsonSerializer.SerializeToUtf8Bytes(_tick, BenchJsonContext.Default.PriceTick));
        if (Publish() != Subscribers || PublishTyped() != Subscribers)
        {
            throw new InvalidOperationException("the publish did not reach every subscriber");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _subscribers.Dispose();

    [Benchmark(Description = "IIndPublisher.PublishAsync + delivery to all")]
    public int Publish()
    {
        int delivered = _subscribers.Publish(_data);
        _subscribers.DrainAll(_frameLength);
        return delivered;
    }

    [Benchmark(Description = "IIndPublisher.PublishAsync<T> (source-generated) + delivery to all")]
    public int PublishTyped()
    {
        int delivered = _subscribers.PublishTyped(_tick, BenchJsonContext.Default.PriceTick);
        _subscribers.DrainAll(_typedFrameLength);
        return delivered;
    }
}
