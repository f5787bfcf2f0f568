using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace ConnMsg.Messaging;

/// <summary>The <see cref="IIndPublisher"/> of the server: publishes through its topic registry.</summary>
internal sealed class IndPublisher : IIndPublisher
{
    private readonly ConnMsgApplication _app;

    public IndPublisher(ConnMsgApplication app) => _app = app;

    public ValueTask<int> PublishAsync(string topic, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!Names.IsValid(topic, Names.MaxTopicBytes, allowReserved: false))
        {
            throw new ArgumentException("A topic is 1..256 characters of A-Z a-z 0-9 . _ - : /.", nameof(topic));
        }

        if (!data.IsEmpty && !JsonValue.IsSingleValue(data.Span))
        {
            throw new ArgumentException("data must be exactly one JSON value.", nameof(data));
        }

        return new ValueTask<int>(_app.Topics.Publish(topic.AsSpan(), data.Span, validateData: false));
    }

    public ValueTask<int> PublishAsync<T>(string topic, T data, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
    {
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(data, typeInfo);
        return PublishAsync(topic, json, cancellationToken);
    }
}
