using System.Text.Json;
using System.Text.Json.Serialization;
using ConnMsg.Messaging;

namespace ConnMsg.Tests.Messaging;

/// <summary>Arguments of the typed test op <c>math.add</c>.</summary>
public sealed record AddArgs(int A, int B);

/// <summary>Result of <c>math.add</c>.</summary>
public sealed record AddResult(int Sum, string? Note = null);

/// <summary>An Ind whose converter publishes another typed Ind while it is being written (see <see cref="PublishingConverter"/>).</summary>
[JsonConverter(typeof(PublishingConverter))]
public sealed record Announcement(string Text);

/// <summary>Writes an <see cref="Announcement"/>, publishing <c>{"sum":1,"note":"inner"}</c> on <c>typed.inner</c> halfway through.</summary>
public sealed class PublishingConverter : JsonConverter<Announcement>
{
    /// <summary>Where the inner Ind goes; set by the one test that uses this type.</summary>
    public static IIndPublisher? Publisher { get; set; }

    public override Announcement Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException();

    public override void Write(Utf8JsonWriter writer, Announcement value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        Publisher!.PublishAsync("typed.inner", new AddResult(1, "inner"), MessagingTestJsonContext.Default.AddResult).AsTask().GetAwaiter().GetResult();
        writer.WriteString("text", value.Text);
        writer.WriteEndObject();
    }
}

/// <summary>A value whose converter sends a typed Ind on a connection while it is being written (see <see cref="IndSendingConverter"/>).</summary>
[JsonConverter(typeof(IndSendingConverter))]
public sealed record Receipt(string Text);

/// <summary>
/// Writes a <see cref="Receipt"/>, sending <c>{"sum":1,"note":"inner"}</c> on <c>typed.inner</c> halfway through, on the
/// connection and with the type info that <see cref="Inner"/> holds for this thread (none: nothing is sent).
/// </summary>
public sealed class IndSendingConverter : JsonConverter<Receipt>
{
    [ThreadStatic]
    private static (ConnMsgConnection Connection, System.Text.Json.Serialization.Metadata.JsonTypeInfo<AddResult> TypeInfo)? t_inner;

    /// <summary>Set by a test around the write that should send the inner Ind, on the thread that writes.</summary>
    public static (ConnMsgConnection Connection, System.Text.Json.Serialization.Metadata.JsonTypeInfo<AddResult> TypeInfo)? Inner
    {
        get => t_inner;
        set => t_inner = value;
    }

    public override Receipt Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException();

    public override void Write(Utf8JsonWriter writer, Receipt value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        if (Inner is { } inner)
        {
            inner.Connection.SendIndAsync("typed.inner", new AddResult(1, "inner"), inner.TypeInfo).AsTask().GetAwaiter().GetResult();
        }

        writer.WriteString("text", value.Text);
        writer.WriteEndObject();
    }
}

/// <summary>Source-generated JSON metadata for the typed handlers of these tests (no reflection).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
[JsonSerializable(typeof(AddArgs))]
[JsonSerializable(typeof(AddResult))]
[JsonSerializable(typeof(double))]
[JsonSerializable(typeof(byte[]))]
[JsonSerializable(typeof(Announcement))]
[JsonSerializable(typeof(Receipt))]
public sealed partial class MessagingTestJsonContext : JsonSerializerContext;
