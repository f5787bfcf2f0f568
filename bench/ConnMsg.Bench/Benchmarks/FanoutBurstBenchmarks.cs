using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using ConnMsg.Bench.Infrastructure;
using ConnMsg.Messaging;
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
    private const string Topic = "bench.burst";
    private const int Subscribers = DeferredDrains.ChunkSize;
    private InMemoryServer _server = null!;
    private InMemoryConnection[] _subscribers = [];
    private PipeReader[] _readers = [];
    private IIndPublisher _publisher = null!;
    private ReadOnlyMemory<byte> _data;
    private long _burstLength;

    /// <summary>Publishes per read batch.</summary>
    [Params(16)]
    public int Publishes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _server = new InMemoryServer();
        _data = Payloads.SmallData;
        _subscribers = new InMemoryConnection[Subscribers];
        _readers = new PipeReader[Subscribers];
        for (int i = 0; i < Subscribers; i++)
        {
            InMemoryConnection c = _server.OpenSession($"burst-{i}");
            c.Session!.Subscribe(Topic);
            _subscribers[i] = c;
            _readers[i] = c.Client.Input;
        }

        foreach (PipeReader reader in _readers)
        {
            PipeDrain.DrainAtLeast(reader, 1); // the $session Ind, written in one flush
        }

        OutboundFrame frame = MessageWriter.Ind(Topic, 0, _data.Span, validateData: false);
        _burstLength = frame.Length * (long)Publishes;
        frame.Release();
        _publisher = new IndPublisher(_server.App);
        if (Burst() != Subscribers * Publishes)
        {
            throw new InvalidOperationException("the burst did not reach every subscriber");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (InMemoryConnection c in _subscribers)
        {
            c.Close();
        }

        _server.Dispose();
    }

    [Benchmark(Description = "16 publishes to 64 subscribers in one read batch + delivery")]
    public int Burst()
    {
        int delivered = 0;
        DeferredDrains batch = DeferredDrains.Enter();
        try
        {
            for (int i = 0; i < Publishes; i++)
            {
                ValueTask<int> publish = _publisher.PublishAsync(Topic, _data);
                delivered += publish.IsCompletedSuccessfully ? publish.Result : publish.AsTask().GetAwaiter().GetResult();
            }
        }
        finally
        {
            batch.Exit();
        }

        foreach (PipeReader reader in _readers)
        {
            PipeDrain.DrainAtLeast(reader, _burstLength);
        }

        return delivered;
    }
}
