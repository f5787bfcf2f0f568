using System.Text.Json;
using ConnMsg.Messaging;

namespace ConnMsg.Client.Internal;

/// <summary>Parses one complete inbound message into an <see cref="Envelope"/> without allocating on the Ind/Cfm paths.</summary>
/// <remarks>Stateless and thread-safe. A violation is reported as a value (<c>error</c>), never thrown.</remarks>
internal static class EnvelopeReader
{
    /// <summary>Topics are at most 256 bytes (PROTOCOL §3), so at most 256 UTF-16 chars.</summary>
    public const int MaxTopicChars = 256;

    private static ReadOnlySpan<byte> CfmPrefix => "{\"type\":\"cfm\",\"id\":"u8;
    private static ReadOnlySpan<byte> DataMember => ",\"data\":"u8;

    public static bool TryRead(ReadOnlySpan<byte> json, Span<char> topicBuffer, out Envelope envelope, out string? error)
    {
        // Nearly every message is the answer to one of our requests, in the one shape servers write it.
        if (TryReadCanonicalCfm(json, out envelope))
        {
            error = null;
            return true;
        }

        return TryReadGeneral(json, topicBuffer, out envelope, out error);
    }

    /// <summary><see cref="TryRead"/> without the shortcut for answers: any member order, every error worded.</summary>
    internal static bool TryReadGeneral(ReadOnlySpan<byte> json, Span<char> topicBuffer, out Envelope envelope, out string? error)
    {
        envelope = default;
        try
        {
            return TryReadCore(json, topicBuffer, ref envelope, out error);
        }
        catch (JsonException)
        {
            // The reader throws for malformed JSON; the message is complete, so this is a violation, not "need more bytes".
            error = "not valid JSON";
            return false;
        }
        catch (InvalidOperationException)
        {
            // Wrong token kind for a member, e.g. a number that does not fit.
            error = "a member has the wrong JSON type";
            return false;
        }
    }

    // {"type":"cfm","id":<integer>[,"data":<plain value>]} matched byte by byte, to exactly the envelope the general path
    // reads from the same bytes; anything else (other order, whitespace, escapes, non-ASCII, a string id) returns false
    // and is read the general way, which also words every error.
    internal static bool TryReadCanonicalCfm(ReadOnlySpan<byte> json, out Envelope envelope)
    {
        envelope = default;
        if (!json.StartsWith(CfmPrefix))
        {
            return false;
        }

        // 18 digits always fit a long; a longer id is left to the general path, which decides whether it fits.
        int idStart = CfmPrefix.Length;
        int idEnd = PlainJsonScanner.SkipUnsignedInteger(json, idStart, maxDigits: 18, out long id);
        if (idEnd < 0)
        {
            return false;
        }

        int i = idEnd;
        ReadOnlySpan<byte> data = default;
        if (json[i..].StartsWith(DataMember))
        {
            int valueStart = PlainJsonScanner.SkipWhitespace(json, i + DataMember.Length);
            int valueEnd = PlainJsonScanner.SkipValue(json, valueStart, validUtf8: false);
            if (valueEnd < 0)
            {
                return false;
            }

            data = json[valueStart..valueEnd];
            i = valueEnd;
        }

        if (i != json.Length - 1 || json[i] != (byte)'}')
        {
            return false;
        }

        envelope.Kind = MessageKind.Cfm;
        envelope.RawId = json[idStart..idEnd];
        envelope.IntegerId = id;
        envelope.Data = data;
        return true;
    }

    private static bool TryReadCore(ReadOnlySpan<byte> json, Span<char> topicBuffer, ref Envelope env, out string? error)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            error = "not a JSON object";
            return false;
        }

        // A lone surrogate escape (RFC 8259 lets one through) is no text, and the reader's ValueTextEquals, GetString and
        // CopyString throw on it; JsonEscapes finds it first. Where it breaks a member, the violation is only noted, so
        // that the id after it is still read and the request it answers can be failed rather than wait out its timeout.
        bool topicNotText = false, opNotText = false, codeNotText = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (JsonEscapes.HasLoneSurrogate(ref reader))
            {
                // No member of ours has a name that is not text: an unknown member, ignored.
                reader.Read();
                reader.Skip();
            }
            else if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                env.Kind = reader.TokenType != JsonTokenType.String || JsonEscapes.HasLoneSurrogate(ref reader) ? MessageKind.None
                    : reader.ValueTextEquals("ind"u8) ? MessageKind.Ind
                    : reader.ValueTextEquals("cfm"u8) ? MessageKind.Cfm
                    : reader.ValueTextEquals("rej"u8) ? MessageKind.Rej
                    : reader.ValueTextEquals("req"u8) ? MessageKind.Req
                    : MessageKind.None;
                if (env.Kind == MessageKind.None)
                {
                    error = "unknown type";
                    return false;
                }
            }
            else if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                int start = (int)reader.TokenStartIndex;
                if (reader.TokenType == JsonTokenType.Number)
                {
                    env.IntegerId = reader.TryGetInt64(out long id) ? id : null;
                }
                else if (reader.TokenType != JsonTokenType.String)
                {
                    // null or a structure: unusable for correlation; skip so the rest can still be read.
                    reader.Skip();
                    continue;
                }

                env.RawId = json[start..(int)reader.BytesConsumed];
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                reader.Read();
                int start = (int)reader.TokenStartIndex;
                reader.Skip();
                env.Data = json[start..(int)reader.BytesConsumed];
            }
            else if (reader.ValueTextEquals("topic"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.String)
                {
                    error = "topic is not a string";
                    return false;
                }

                if (JsonEscapes.HasLoneSurrogate(ref reader))
                {
                    topicNotText = true;
                    continue;
                }

                if (reader.ValueSpan.Length <= topicBuffer.Length)
                {
                    env.TopicLength = reader.CopyString(topicBuffer);
                }
                else
                {
                    // Rare: heavily escaped or oversized. Fall back to a string to measure the unescaped text.
                    string topic = reader.GetString()!;
                    if (topic.Length > topicBuffer.Length)
                    {
                        error = "topic too long";
                        return false;
                    }

                    topic.CopyTo(topicBuffer);
                    env.TopicLength = topic.Length;
                }

                env.HasTopic = true;
            }
            else if (reader.ValueTextEquals("seq"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long seq))
                {
                    env.Seq = seq;
                }
                else if (reader.TokenType != JsonTokenType.Null)
                {
                    error = "seq is not an integer";
                    return false;
                }
            }
            else if (reader.ValueTextEquals("op"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && JsonEscapes.HasLoneSurrogate(ref reader))
                {
                    // Only a req's op matters; the kind may not be known yet.
                    opNotText = true;
                    continue;
                }

                env.Op = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("code"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && JsonEscapes.HasLoneSurrogate(ref reader))
                {
                    // Only a rej's code matters; the kind may not be known yet.
                    codeNotText = true;
                    continue;
                }

                env.Code = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("reason"u8))
            {
                reader.Read();
                // Text for people only: a lone surrogate reads as U+FFFD, and the rej still answers its request.
                env.Reason = reader.TokenType != JsonTokenType.String ? null
                    : reader.ValueIsEscaped ? JsonEscapes.GetStringReplacingLoneSurrogates(json[(int)reader.TokenStartIndex..(int)reader.BytesConsumed])
                    : reader.GetString();
            }
            else
            {
                // Unknown members are ignored for forward compatibility (PROTOCOL §3).
                reader.Read();
                reader.Skip();
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            error = "trailing data after the object";
            return false;
        }

        error = env.Kind switch
        {
            MessageKind.None => "type missing",
            _ when topicNotText => "topic is not text",
            MessageKind.Req when opNotText => "op is not text",
            MessageKind.Rej when codeNotText => "code is not text",
            MessageKind.Req when env.RawId.IsEmpty => "id missing",
            MessageKind.Req when string.IsNullOrEmpty(env.Op) => "op missing",
            MessageKind.Cfm or MessageKind.Rej when env.RawId.IsEmpty => "id missing",
            MessageKind.Rej when string.IsNullOrEmpty(env.Code) => "code missing",
            MessageKind.Ind when !env.HasTopic || env.TopicLength == 0 => "topic missing",
            _ => null,
        };
        return error is null;
    }
}
