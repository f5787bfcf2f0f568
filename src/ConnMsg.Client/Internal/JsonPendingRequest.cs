using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace ConnMsg.Client.Internal;

/// <summary>Deserialises the answer with a (usually source-generated) <see cref="JsonTypeInfo{T}"/>.</summary>
internal sealed class JsonPendingRequest<T>(long id, JsonTypeInfo<T> typeInfo, ContinuationMode mode) : PendingRequest<T?>(id, mode)
{
    protected override T? Read(ReadOnlySpan<byte> data) => JsonSerializer.Deserialize(data, typeInfo);
}
