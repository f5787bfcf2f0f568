using System.Text.Json;

namespace ConnMsg.Baseline.Middleware;

/// <summary>The envelopes the baseline writes: each one a fresh array, as the send queue holds them.</summary>
internal sealed partial class DemoService
{
    private static byte[] EncodeConfirm(string id, JsonElement data)
    {
        ReplyWriter reply = ReplyWriter.Rent();
        Utf8JsonWriter w = reply.Json;
        w.WriteStartObject();
        w.WriteString("type", "cfm");
        w.WritePropertyName("id");
        w.WriteRawValue(id, skipInputValidation: true);
        if (data.ValueKind != JsonValueKind.Undefined)
        {
            w.WritePropertyName("data");
            data.WriteTo(w);
        }

        w.WriteEndObject();
        return reply.ToArray();
    }

    private static byte[] EncodeConfirm(string id, Action<Utf8JsonWriter> writeData)
    {
        ReplyWriter reply = ReplyWriter.Rent();
        Utf8JsonWriter w = reply.Json;
        w.WriteStartObject();
        w.WriteString("type", "cfm");
        w.WritePropertyName("id");
        w.WriteRawValue(id, skipInputValidation: true);
        w.WritePropertyName("data");
        writeData(w);
        w.WriteEndObject();
        return reply.ToArray();
    }

    private static byte[] EncodeReject(string? id, string code, string? reason)
    {
        ReplyWriter reply = ReplyWriter.Rent();
        Utf8JsonWriter w = reply.Json;
        w.WriteStartObject();
        w.WriteString("type", "rej");
        if (id is null)
        {
            w.WriteNull("id");
        }
        else
        {
            w.WritePropertyName("id");
            w.WriteRawValue(id, skipInputValidation: true);
        }

        w.WriteString("code", code);
        if (reason is not null)
        {
            w.WriteString("reason", reason);
        }

        w.WriteEndObject();
        return reply.ToArray();
    }

    private static byte[] EncodeInd(string topic, long seq, JsonElement data)
    {
        ReplyWriter reply = ReplyWriter.Rent();
        Utf8JsonWriter w = reply.Json;
        w.WriteStartObject();
        w.WriteString("type", "ind");
        w.WriteString("topic", topic);
        if (seq > 0)
        {
            w.WriteNumber("seq", seq);
        }

        if (data.ValueKind != JsonValueKind.Undefined)
        {
            w.WritePropertyName("data");
            data.WriteTo(w);
        }

        w.WriteEndObject();
        return reply.ToArray();
    }
}
