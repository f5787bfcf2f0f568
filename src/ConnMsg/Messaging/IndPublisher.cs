using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ConnMsg.Diagnostics;
using ConnMsg.WebSockets;

namespace ConnMsg.Messaging;

/// <summary>The <see cref="IIndPublisher"/> of the server: publishes through its topic registry.</summary>
/// <remarks>
/// A publish opens a <see cref="DeferredDrains"/> batch of its own, as a read batch does, so that the subscribers it
/// wakes drain together when it ends (inline up to <see cref="DeferredDrains.ChunkSize"/>, then in pool work items of
/// that many), not in one pool work item each. Called from a handler, it joins the read batch already open.
/// </remarks>
internal sealed class IndPublisher : IIndPublisher
{
    private readonly ConnMsgApplication _app;
    private readonly TransportMetrics _metrics;

    public IndPublisher(ConnMsgApplication app, TransportMetrics metrics)
    {
        _app = app;
        _metrics = metrics;
    }

    public ValueTask<int> PublishAsync(string topic, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ValidateTopic(topic);
        if (!data.IsEmpty && !JsonValue.IsSingleValue(data.Span))
        {
            throw new ArgumentException("data must be exactly one JSON value, in UTF-8.", nameof(data));
        }

        return Publish(topic, data.Span);
    }

    public ValueTask<int> PublishAsync<T>(string topic, T data, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        cancellationToken.ThrowIfCancellationRequested();
        ValidateTopic(topic);
        JsonScratch? scratch = JsonScratch.TryTake();
        try
        {
            // The serialiser writes exactly one JSON value, so it needs no second check.
            return Publish(topic, scratch is null ? JsonScratch.SerializeToArray(data, typeInfo) : scratch.Serialize(data, typeInfo));
        }
        finally
        {
            scratch?.Return();
        }
    }

    /// <summary>Publishes <paramref name="json"/> (already checked) in a drain batch of its own, or the one open on this thread.</summary>
    private ValueTask<int> Publish(string topic, ReadOnlySpan<byte> json)
    {
        DeferredDrains drains = DeferredDrains.Enter();
        int reached;
        bool backlogged;
        try
        {
            reached = _app.Topics.Publish(topic.AsSpan(), json, validateData: false);
        }
        finally
        {
            backlogged = drains.Exit();
        }

        if (!backlogged)
        {
            return new ValueTask<int>(reached);
        }

        _metrics.PublisherYield();
        return AfterDrainsAsync(reached);
    }

    /// <summary>
    /// Completes behind the drains already queued on the thread pool: the publish queued an Ind behind a drain that had
    /// fallen far behind, and a publisher that awaits each publish is held to the rate its subscribers are written at,
    /// rather than outrunning them until they are closed as slow consumers.
    /// </summary>
    private static async ValueTask<int> AfterDrainsAsync(int reached)
    {
        await Task.Yield();
        return reached;
    }

    private static void ValidateTopic(string topic)
    {
        if (!Names.IsValid(topic, Names.MaxTopicBytes, allowReserved: false))
        {
            throw new ArgumentException("A topic is 1..256 characters of A-Z a-z 0-9 . _ - : /.", nameof(topic));
        }
    }
}
