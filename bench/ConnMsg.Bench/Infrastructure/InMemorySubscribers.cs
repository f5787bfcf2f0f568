using System.IO.Pipelines;
using System.Text.Json.Serialization.Metadata;
using ConnMsg.Messaging;
using ConnMsg.WebSockets;

namespace ConnMsg.Bench.Infrastructure;

/// <summary>
/// An <see cref="InMemoryServer"/> with N sessions subscribed to one topic and a publisher for it: what the fan-out
/// benchmarks share. Each subscriber's <c>$session</c> Ind is read before the first measurement.
/// </summary>
internal sealed class InMemorySubscribers : IDisposable
{
    private readonly InMemoryServer _server = new();
    private readonly InMemoryConnection[] _subscribers;
    private readonly PipeReader[] _readers;

    public InMemorySubscribers(string topic, int count)
    {
        Topic = topic;
        _subscribers = new InMemoryConnection[count];
        _readers = new PipeReader[count];
        for (int i = 0; i < count; i++)
        {
            InMemoryConnection c = _server.OpenSession($"sub-{i}");
            c.Session!.Subscribe(topic);
            _subscribers[i] = c;
            _readers[i] = c.Client.Input;
        }

        foreach (PipeReader reader in _readers)
        {
            PipeDrain.DrainAtLeast(reader, 1); // the $session Ind, written in one flush
        }

        Publisher = new IndPublisher(_server.App, _server.TransportMetrics);
    }

    public string Topic { get; }

    public IIndPublisher Publisher { get; }

    /// <summary>The length of one Ind of this topic carrying <paramref name="data"/> (sequence 0).</summary>
    public long IndLength(ReadOnlySpan<byte> data)
    {
        OutboundFrame frame = MessageWriter.Ind(Topic, 0, data, validateData: false);
        long length = frame.Length;
        frame.Release();
        return length;
    }

    /// <summary>Publishes <paramref name="data"/> once; returns how many subscribers it was queued to.</summary>
    public int Publish(ReadOnlyMemory<byte> data)
    {
        ValueTask<int> publish = Publisher.PublishAsync(Topic, data);
        return publish.IsCompletedSuccessfully ? publish.Result : publish.AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Publishes <paramref name="value"/> serialised by <paramref name="typeInfo"/>; returns how many subscribers it was queued to.</summary>
    public int PublishTyped<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        ValueTask<int> publish = Publisher.PublishAsync(Topic, value, typeInfo);
        return publish.IsCompletedSuccessfully ? publish.Result : publish.AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Waits until every subscriber's client side has read at least <paramref name="bytes"/> more bytes.</summary>
    public void DrainAll(long bytes)
    {
        foreach (PipeReader reader in _readers)
        {
            PipeDrain.DrainAtLeast(reader, bytes);
        }
    }

    public void Dispose()
    {
        foreach (InMemoryConnection c in _subscribers)
        {
            c.Close();
        }

        _server.Dispose();
    }
}
