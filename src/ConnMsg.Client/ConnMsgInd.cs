using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace ConnMsg.Client;

/// <summary>An indication received on a subscribed topic.</summary>
/// <remarks>Immutable; safe to share between threads.</remarks>
public sealed class ConnMsgInd
{
    internal ConnMsgInd(string topic, long? seq, ReadOnlyMemory<byte> data)
    {
        Topic = topic;
        Seq = seq;
        Data = data;
    }

    /// <summary>The topic the Ind was published on.</summary>
    public string Topic { get; }

    /// <summary>The per-topic sequence number on history topics (PROTOCOL §5.3); null on topics without history.</summary>
    public long? Seq { get; }

    /// <summary>The raw UTF-8 JSON of <c>data</c>; the JSON literal <c>null</c> when the Ind carried none.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>Deserialises <see cref="Data"/> with a source-generated (AOT-friendly) type info.</summary>
    public T? GetData<T>(JsonTypeInfo<T> typeInfo) => JsonSerializer.Deserialize(Data.Span, typeInfo);

    /// <summary>Deserialises <see cref="Data"/> with reflection-based serialisation.</summary>
    [RequiresUnreferencedCode("Uses reflection-based JSON serialisation; use the JsonTypeInfo overload for trimming/AOT.")]
    [RequiresDynamicCode("Uses reflection-based JSON serialisation; use the JsonTypeInfo overload for trimming/AOT.")]
    public T? GetData<T>(JsonSerializerOptions? options = null) => JsonSerializer.Deserialize<T>(Data.Span, options ?? JsonSerializerOptions.Web);

    /// <inheritdoc/>
    public override string ToString() => Seq is { } s ? $"ind {Topic}#{s}" : $"ind {Topic}";
}
