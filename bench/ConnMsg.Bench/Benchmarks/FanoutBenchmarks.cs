using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using ConnMsg.Bench.Infrastructure;
using ConnMsg.Messaging;
using ConnMsg.WebSockets;

namespace ConnMsg.Bench.Benchmarks;

/// <summary>
/// One publish to N subscribers, each a real <see cref="ConnMsgConnection"/> subscribed with
/// <see cref="ConnMsgConnection.Subscribe"/>. The Ind is encoded once; every subscriber's queue gets the same frame and
/// its drain (on the thread pool) copies it into that connection's pipe. An op is the publish plus the wait until every
/// subscriber's client side has read the frame, so the time is the whole delivery. Target: 0 B per publish.
/// </summary>
[MemoryDiagnoser]
public class FanoutBenchmarks
{
    private const string Topic = "bench.prices";
    private InMemoryServer _server = null!;
    private InMemoryConnection[] _subscribers = [];
    private PipeReader[] _readers = [];
    private IIndPublisher _publisher = null!;
    private ReadOnlyMemory<byte> _data;
    private long _frameLength;

    [Params(1, 100, 10_000)]
    public int Subscribers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _server = new InMemoryServer();
        _data = Payloads.SmallData;
        _subscribers = new InMemoryConnection[Subscribers];
        _readers = new PipeReader[Subscribers];
        for (int i = 0; i < Subscribers; i++)
        {
            InMemoryConnection c = _server.OpenSession($"sub-{i}");
            c.Session!.Subscribe(Topic);
            _subscribers[i] = c;
            _readers[i] = c.Client.Input;
        }

        foreach (PipeReader reader in _readers)
        {
            PipeDrain.DrainAtLeast(reader, 1); // the $session Ind, written in one flush
        }

        OutboundFrame frame = MessageWriter.Ind(Topic, 0, _data.Span, validateData: false);
        _frameLength = frame.Length;
        frame.Release();
        _publisher = new IndPublisher(_server.App);
        if (Publish() != Subscribers)
        {
            throw new InvalidOperationException("the publish did not reach every subscriber");
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

    [Benchmark(Description = "IIndPublisher.PublishAsync + delivery to all")]
    public int Publish()
    {
        ValueTask<int> publish = _publisher.PublishAsync(Topic, _data);
        int delivered = publish.IsCompletedSuccessfully ? publish.Result : publish.AsTask().GetAwaiter().GetResult();
        foreach (PipeReader reader in _readers)
        {
            PipeDrain.DrainAtLeast(reader, _frameLength);
        }

        return delivered;
    }
}
