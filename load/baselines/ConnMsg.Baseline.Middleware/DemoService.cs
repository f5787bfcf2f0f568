using System.Globalization;
using System.Text.Json;

namespace ConnMsg.Baseline.Middleware;

/// <summary>PROTOCOL.md's envelope handling and the Appendix A demo operations.</summary>
/// <remarks>Thread-safety: stateless apart from <see cref="Topics"/>; safe for concurrent use.</remarks>
internal sealed partial class DemoService
{
    private const long MaxIntegerId = (1L << 53) - 1;

    /// <summary>Creates the service over the shared topic registry.</summary>
    public DemoService(TopicRegistry topics) => Topics = topics;

    /// <summary>The server's topics.</summary>
    public TopicRegistry Topics { get; }

    /// <summary>Encodes the <c>$session</c> Ind sent right after the handshake.</summary>
    public byte[] EncodeSession(string connectionId)
    {
        ReplyWriter reply = ReplyWriter.Rent();
        Utf8JsonWriter w = reply.Json;
        w.WriteStartObject();
        w.WriteString("type", "ind");
        w.WriteString("topic", "$session");
        w.WriteStartObject("data");
        w.WriteString("id", connectionId);
        w.WriteNumber("keepAlive", BaselineLimits.KeepAliveSeconds);
        w.WriteNumber("maxMessage", BaselineLimits.MaxMessageSize);
        w.WriteNumber("maxInFlight", BaselineLimits.MaxInFlight);
        w.WriteEndObject();
        w.WriteEndObject();
        return reply.ToArray();
    }

    /// <summary>Parses one text message and answers it.</summary>
    public void HandleMessage(BaselineConnection connection, ReadOnlyMemory<byte> message)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(message);
        }
        catch (JsonException)
        {
            connection.Send(EncodeReject(null, "bad_message", "not valid JSON"));
            return;
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                connection.Send(EncodeReject(null, "bad_message", "not a JSON object"));
                return;
            }

            if (!root.TryGetProperty("type", out JsonElement type) || type.ValueKind != JsonValueKind.String)
            {
                connection.Send(EncodeReject(ReadableId(root), "bad_message", "type is required"));
                return;
            }

            if (!type.ValueEquals("req"))
            {
                // The baseline never sends requests, so answers and Inds from the client need no handling.
                if (type.ValueEquals("cfm") || type.ValueEquals("rej") || type.ValueEquals("ind"))
                {
                    return;
                }

                connection.Send(EncodeReject(ReadableId(root), "bad_message", "unknown type"));
                return;
            }

            string? id = ReadableId(root);
            if (id is null)
            {
                connection.Send(EncodeReject(null, "bad_message", "id is required"));
                return;
            }

            if (!root.TryGetProperty("op", out JsonElement opElement) || opElement.ValueKind != JsonValueKind.String
                || opElement.GetString() is not string op || !(op == "$ping" || op == "$subscribe" || op == "$unsubscribe" || Names.IsValid(op, 128)))
            {
                connection.Send(EncodeReject(id, "bad_message", "op is missing or malformed"));
                return;
            }

            JsonElement data = root.TryGetProperty("data", out JsonElement d) ? d : default;
            if (connection.IsInFlight(id))
            {
                connection.Send(EncodeReject(id, "duplicate_id", "id is in flight"));
                return;
            }

            Dispatch(connection, id, op, data);
        }
    }

    private void Dispatch(BaselineConnection connection, string id, string op, JsonElement data)
    {
        switch (op)
        {
            case "echo":
            case "$ping":
                connection.Send(EncodeConfirm(id, data));
                break;
            case "time":
                connection.Send(EncodeConfirm(id, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("utc", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
                    w.WriteEndObject();
                }));
                break;
            case "whoami":
                string[] topics;
                lock (connection.Subscriptions)
                {
                    topics = [.. connection.Subscriptions];
                }

                connection.Send(EncodeConfirm(id, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("id", connection.Id);
                    w.WriteStartArray("subscriptions");
                    foreach (string t in topics)
                    {
                        w.WriteStringValue(t);
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                }));
                break;
            case "fail":
                string code = data.ValueKind == JsonValueKind.Object && data.TryGetProperty("code", out JsonElement c) && c.ValueKind == JsonValueKind.String
                    ? c.GetString()! : "internal";
                string? reason = data.ValueKind == JsonValueKind.Object && data.TryGetProperty("reason", out JsonElement r) && r.ValueKind == JsonValueKind.String
                    ? r.GetString() : null;
                connection.Send(EncodeReject(id, code, reason));
                break;
            case "sleep":
                Sleep(connection, id, data);
                break;
            case "publish":
                Publish(connection, id, data);
                break;
            case "$subscribe":
                Subscribe(connection, id, data);
                break;
            case "$unsubscribe":
                if (TryGetTopic(data, out string? name))
                {
                    lock (connection.Subscriptions)
                    {
                        connection.Subscriptions.Remove(name);
                    }

                    Topics.Get(name).Unsubscribe(connection);
                    connection.Send(EncodeConfirm(id, default(JsonElement)));
                }
                else
                {
                    connection.Send(EncodeReject(id, "invalid_argument", "data.topic is required"));
                }

                break;
            default:
                connection.Send(EncodeReject(id, "unknown_op", "no such operation"));
                break;
        }
    }

    private void Sleep(BaselineConnection connection, string id, JsonElement data)
    {
        if (data.ValueKind != JsonValueKind.Object || !data.TryGetProperty("ms", out JsonElement msElement)
            || !msElement.TryGetInt32(out int ms) || ms < 0 || ms > 60000)
        {
            connection.Send(EncodeReject(id, "invalid_argument", "data.ms must be 0 … 60000"));
            return;
        }

        if (!connection.TryBeginRequest(id, out string? rejectCode))
        {
            connection.Send(EncodeReject(id, rejectCode!, null));
            return;
        }

        _ = SleepAsync(connection, id, ms);
    }

    private async Task SleepAsync(BaselineConnection connection, string id, int ms)
    {
        await Task.Delay(ms);
        connection.EndRequest(id);
        connection.Send(EncodeConfirm(id, w =>
        {
            w.WriteStartObject();
            w.WriteNumber("slept", ms);
            w.WriteEndObject();
        }));
    }

    private void Publish(BaselineConnection connection, string id, JsonElement data)
    {
        if (data.ValueKind != JsonValueKind.Object || !TryGetTopic(data, out string? name))
        {
            connection.Send(EncodeReject(id, "invalid_argument", "data.topic is required"));
            return;
        }

        JsonElement payload = data.TryGetProperty("data", out JsonElement p) ? p : default;
        int subscribers = Topics.Get(name).Publish(seq => EncodeInd(name, seq, payload));
        connection.Send(EncodeConfirm(id, w =>
        {
            w.WriteStartObject();
            w.WriteNumber("subscribers", subscribers);
            w.WriteEndObject();
        }));
    }

    private void Subscribe(BaselineConnection connection, string id, JsonElement data)
    {
        if (!TryGetTopic(data, out string? name))
        {
            connection.Send(EncodeReject(id, "invalid_argument", "data.topic is required"));
            return;
        }

        long? since = null;
        if (data.TryGetProperty("since", out JsonElement sinceElement))
        {
            if (!sinceElement.TryGetInt64(out long s) || s < 0)
            {
                connection.Send(EncodeReject(id, "invalid_argument", "data.since must be an integer >= 0"));
                return;
            }

            since = s;
        }

        lock (connection.Subscriptions)
        {
            connection.Subscriptions.Add(name);
        }

        Topic topic = Topics.Get(name);
        (bool recovered, long seq) = topic.Subscribe(connection, since);
        if (!topic.KeepsHistory)
        {
            connection.Send(EncodeConfirm(id, default(JsonElement)));
            return;
        }

        connection.Send(EncodeConfirm(id, w =>
        {
            w.WriteStartObject();
            if (since is not null)
            {
                w.WriteBoolean("recovered", recovered);
                if (!recovered)
                {
                    w.WriteNumber("seq", seq);
                }
            }
            else
            {
                w.WriteNumber("seq", seq);
            }

            w.WriteEndObject();
        }));
    }

    private static bool TryGetTopic(JsonElement data, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? topic)
    {
        topic = data.ValueKind == JsonValueKind.Object && data.TryGetProperty("topic", out JsonElement t) && t.ValueKind == JsonValueKind.String
            ? t.GetString() : null;
        return Names.IsValid(topic, 256);
    }

    /// <summary>The raw JSON text of a valid id, or null when it is missing or malformed.</summary>
    private static string? ReadableId(JsonElement root)
    {
        if (!root.TryGetProperty("id", out JsonElement id))
        {
            return null;
        }

        return id.ValueKind switch
        {
            JsonValueKind.Number when id.TryGetInt64(out long n) && n >= 0 && n <= MaxIntegerId => id.GetRawText(),
            JsonValueKind.String when id.GetString() is { Length: >= 1 and <= 64 } => id.GetRawText(),
            _ => null,
        };
    }
}
