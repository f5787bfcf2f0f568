using BenchmarkDotNet.Attributes;
using ConnMsg.Bench.Infrastructure;
using ConnMsg.WebSockets;

namespace ConnMsg.Bench.Benchmarks;

/// <summary>
/// A saturated publisher's view of fan-out: <see cref="Publishes"/> publishes inside one read batch to 64 subscribers,
/// then the batch ends and each subscriber's one drain writes all of them. After a subscriber's first Ind its drain is
/// pending, so the rest measure what queueing one Ind costs behind a pending drain, the per-Ind path of
/// <c>fanout</c> under load. 64 subscribers is the most the batch drains on its own thread, which keeps the run on one
/// thread and repeatable. Target: 0 B per burst.
/// </summary>
[MemoryDiagnoser]
public class FanoutBurstBenchmarks
{
    private const int Subscribers = DeferredDrains.ChunkSize;
    private InMemorySubscribers _subscribers = null!;
    private ReadOnlyMemory<byte> _data;
    private long _burstLength;

    /// <summary>Publishes per read batch.</summary>
    [Params(16)]
    public int Publishes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = Payloads.SmallData;
        _subscribers = new InMemorySubscribers("bench.burst", Subscribers);
        _burstLength = _subscribers.IndLength(_data.Span) * Publishes;
        if (Burst() != Subscribers * Publishes)
        {
            throw new InvalidOperationException("the burst did not reach every subscriber");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _subscribers.Dispose();

    [Benchmark(Description = "16 publishes to 64 subscribers in one read batch + delivery")]
    public int Burst()
    {
        int delivered = 0;
        DeferredDrains batch = DeferredDrains.Enter();
        try
        {
            for (int i = 0; i < Publishes; i++)
            {
                delivered += _subscribers.Publish(_data);
            }
        }
        finally
        {
            batch.Exit();
        }

        _subscribers.DrainAll(_burstLength);
        return delivered;
    }
}
