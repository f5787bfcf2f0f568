using System.Text.Json.Serialization.Metadata;

namespace ConnMsg.Messaging;

/// <summary>Publishes Inds to a topic's subscribers from anywhere in the application (a hosted service, a controller).</summary>
/// <remarks>
/// Thread-safe. Publishing only queues: it never waits for a peer to read, and a subscriber whose queue passes
/// <see cref="ConnMsgOptions.MaxOutboundBytes"/> is closed with 1013. The returned task completes at once while the
/// subscribers' writes keep up. When a publish queues behind a subscriber whose pending writes already hold more than
/// <see cref="ConnMsgOptions.PublisherYieldBytes"/>, the task completes only after the writes already waiting on the
/// thread pool have had a turn: a publisher that awaits each publish is held to the rate its subscribers are written
/// at, instead of outrunning prompt subscribers on a busy machine until they are closed as slow consumers. Called from a
/// request handler, the publish joins the read batch of the handler's connection, which holds that connection's reads
/// back instead.
/// </remarks>
public interface IIndPublisher
{
    /// <summary>Publishes <paramref name="data"/> (one raw JSON value, or empty for none); returns the subscribers it reached.</summary>
    /// <exception cref="ConnMsgRejectException">
    /// With code <c>overloaded</c> when the topic would be a new history topic beyond <see cref="ConnMsgOptions.MaxHistoryTopics"/>;
    /// thrown from a handler, it becomes that handler's <c>rej</c>.
    /// </exception>
    ValueTask<int> PublishAsync(string topic, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>
    /// Publishes <paramref name="data"/> serialised with a source-generated <paramref name="typeInfo"/> and its options
    /// (encoder, naming, depth, ...), but never indented: a message is one line.
    /// </summary>
    ValueTask<int> PublishAsync<T>(string topic, T data, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default);
}
