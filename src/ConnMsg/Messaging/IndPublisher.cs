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
        ValidateTopic(topic);
        if (!data.IsEmpty && !JsonValue.IsSingleValue(data.Span))
        {
            throw new ArgumentException("data must be exactly one JSON value.", nameof(data));
        }

        return new ValueTask<int>(_app.Topics.Publish(topic.AsSpan(), data.Span, validateData: false));
    }

    public ValueTask<int> PublishAsync<T>(string topic, T data, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        cancellationToken.ThrowIfCancellationRequested();
        ValidateTopic(topic);
        JsonScratch? scratch = JsonScratch.TryTake();
        if (scratch is null)
        {
            return new ValueTask<int>(_app.Topics.Publish(topic.AsSpan(), JsonSerializer.SerializeToUtf8Bytes(data, typeInfo), validateData: false));
        }

        try
        {
            // The serialiser writes exactly one JSON value, so it needs no second check.
            return new ValueTask<int>(_app.Topics.Publish(topic.AsSpan(), scratch.Serialize(data, typeInfo), validateData: false));
        }
        finally
        {
            scratch.Return();
        }
    }

    private static void ValidateTopic(string topic)
    {
        if (!Names.IsValid(topic, Names.MaxTopicBytes, allowReserved: false))
        {
            throw new ArgumentException("A topic is 1..256 characters of A-Z a-z 0-9 . _ - : /.", nameof(topic));
        }
    }
}
