using System.Text.Json.Serialization.Metadata;

namespace ConnMsg.Messaging;

/// <summary>Publishes Inds to a topic's subscribers from anywhere in the application (a hosted service, a controller).</summary>
/// <remarks>Thread-safe. Publishing only queues: it never waits for a subscriber, and a slow one is closed with 1013.</remarks>
public interface IIndPublisher
{
    /// <summary>Publishes <paramref name="data"/> (one raw JSON value, or empty for none); returns the subscribers it reached.</summary>
    /// <exception cref="ConnMsgRejectException">
    /// With code <c>overloaded</c> when the topic would be a new history topic beyond <see cref="ConnMsgOptions.MaxHistoryTopics"/>;
    /// thrown from a handler, it becomes that handler's <c>rej</c>.
    /// </exception>
    ValueTask<int> PublishAsync(string topic, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>Publishes <paramref name="data"/> serialised with a source-generated <paramref name="typeInfo"/>.</summary>
    ValueTask<int> PublishAsync<T>(string topic, T data, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default);
}
