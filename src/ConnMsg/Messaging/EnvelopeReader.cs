using System.Text.Json;

namespace ConnMsg.Messaging;

/// <summary>
/// Reads the envelope of PROTOCOL.md §3 with <see cref="Utf8JsonReader"/> straight over the payload: members in any
/// order, unknown members skipped, <c>id</c> and <c>data</c> kept as raw slices. Allocates nothing for valid input.
/// A request in the usual shape is read by <see cref="CanonicalRequestReader"/> instead, to the same result.
/// </summary>
internal static class EnvelopeReader
{
    private const long MaxSafeInteger = (1L << 53) - 1;
    private const int MaxIdCharacters = 64;

    /// <summary>
    /// Parses <paramref name="json"/>. On failure returns false with a fixed reason, and with <c>envelope.Id</c> set
    /// when a valid id was read before the fault (so the rejection can echo it). <paramref name="validUtf8"/>: the caller
    /// has checked that <paramref name="json"/> is valid UTF-8 (a WebSocket text message is), which the shortcut relies on.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> json, bool validUtf8, out Envelope envelope, out string? error)
    {
        // Nearly every request comes in one shape, which is matched byte by byte at a fraction of the reader's cost.
        if (CanonicalRequestReader.TryRead(json, validUtf8, out envelope))
        {
            error = null;
            return true;
        }

        return TryReadGeneral(json, out envelope, out error);
    }

    /// <summary><see cref="TryRead"/> without the canonical shortcut: any member order, every error worded.</summary>
    internal static bool TryReadGeneral(ReadOnlySpan<byte> json, out Envelope envelope, out string? error)
    {
        envelope = default;
        try
        {
            return TryReadCore(json, ref envelope, out error);
        }
        catch (JsonException)
        {
            // Utf8JsonReader reports malformed JSON only by throwing; this is the one exception on this path,
            // and only for input that is not JSON at all.
            error = "malformed JSON";
            return false;
        }
    }

    private static bool TryReadCore(ReadOnlySpan<byte> json, ref Envelope e, out string? error)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            error = "message is not a JSON object";
            return false;
        }

        error = null;
        bool seenType = false, seenOp = false, seenData = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (JsonEscapes.HasLoneSurrogate(ref reader))
            {
                // No member of ours has a name that is not text (ValueTextEquals would throw on it): an unknown member.
                reader.Read();
                reader.Skip();
            }
            else if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                if (seenType || reader.TokenType != JsonTokenType.String)
                {
                    error ??= "type must be one string";
                    reader.Skip(); // an object or array here must not be read as the envelope's own members
                }
                else
                {
                    e.Kind = JsonEscapes.HasLoneSurrogate(ref reader) ? MessageKind.None
                        : reader.ValueTextEquals("req"u8) ? MessageKind.Req
                        : reader.ValueTextEquals("cfm"u8) ? MessageKind.Cfm
                        : reader.ValueTextEquals("rej"u8) ? MessageKind.Rej
                        : reader.ValueTextEquals("ind"u8) ? MessageKind.Ind
                        : MessageKind.None;
                    if (e.Kind == MessageKind.None)
                    {
                        error ??= "unknown type";
                    }
                }

                seenType = true;
            }
            else if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                if (e.HasId)
                {
                    error ??= "duplicate id member";
                    e.Id = default;
                    reader.Skip();
                }
                else if (IsValidId(ref reader))
                {
                    e.Id = new Range((int)reader.TokenStartIndex, (int)reader.BytesConsumed);
                }
                else
                {
                    error ??= "id must be an integer 0..2^53-1 or a string of 1..64 characters";
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("op"u8))
            {
                reader.Read();
                if (seenOp || !TryReadName(ref reader, Names.MaxOpBytes, out e.Op, out e.OpEscaped))
                {
                    error ??= "op must be 1..128 characters of A-Z a-z 0-9 . _ - : /";
                    reader.Skip();
                }

                seenOp = true;
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                reader.Read();
                int start = (int)reader.TokenStartIndex;
                reader.Skip();
                if (seenData)
                {
                    error ??= "duplicate data member";
                }

                e.Data = new Range(start, (int)reader.BytesConsumed);
                seenData = true;
            }
            else if (reader.ValueTextEquals("code"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && Names.IsSnakeCase(reader.ValueSpan))
                {
                    e.Code = SliceOfString(ref reader);
                }
                else
                {
                    error ??= "code must be a snake_case string";
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("reason"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    e.Reason = new Range((int)reader.TokenStartIndex, (int)reader.BytesConsumed);
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("topic"u8))
            {
                reader.Read();
                if (!TryReadName(ref reader, Names.MaxTopicBytes, out e.Topic, out e.TopicEscaped))
                {
                    error ??= "topic must be 1..256 characters of A-Z a-z 0-9 . _ - : /";
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("seq"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out e.Seq) || e.Seq < 1)
                {
                    error ??= "seq must be an integer >= 1";
                    reader.Skip();
                }
            }
            else
            {
                // Unknown members are ignored (forward compatibility).
                reader.Read();
                reader.Skip();
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject)
        {
            error ??= "malformed JSON";
            return false;
        }

        // Nothing may follow the object but whitespace; Read throws on anything else.
        if (reader.Read())
        {
            error ??= "trailing data after the object";
        }

        if (error is null)
        {
            error = e.Kind switch
            {
                MessageKind.None => "type is required",
                MessageKind.Req when !e.HasId => "id is required in a req",
                MessageKind.Req when !seenOp => "op is required in a req",
                MessageKind.Cfm or MessageKind.Rej when !e.HasId => "id is required in an answer",
                MessageKind.Rej when e.Code.End.Value == 0 => "code is required in a rej",
                MessageKind.Ind when e.Topic.End.Value == 0 => "topic is required in an ind",
                _ => null,
            };
        }

        return error is null;
    }

    /// <summary>
    /// Reads an op or topic: a JSON string whose value follows the name rule (PROTOCOL §3). The value is what counts,
    /// so an escaped spelling (<c>"orders\/place"</c>, as PHP writes a slash) is as good as a plain one; it is returned as
    /// its whole token, for <see cref="Unescape"/>, and flagged in <paramref name="escaped"/>.
    /// </summary>
    private static bool TryReadName(ref Utf8JsonReader reader, int maxBytes, out Range name, out bool escaped)
    {
        name = default;
        escaped = false;
        if (reader.TokenType != JsonTokenType.String)
        {
            return false;
        }

        if (!reader.ValueIsEscaped)
        {
            if (!Names.IsValid(reader.ValueSpan, maxBytes, allowReserved: true))
            {
                return false;
            }

            name = SliceOfString(ref reader);
            return true;
        }

        // An escape is at most 6 bytes (\uXXXX) and no allowed character needs more than one. A lone surrogate is no
        // allowed character either, and CopyString would throw on it.
        if (reader.ValueSpan.Length > maxBytes * 6 || JsonEscapes.IndexOfLoneSurrogate(reader.ValueSpan) >= 0)
        {
            return false;
        }

        Span<byte> value = stackalloc byte[reader.ValueSpan.Length];
        int length = reader.CopyString(value);
        if (!Names.IsValid(value[..length], maxBytes, allowReserved: true))
        {
            return false;
        }

        name = new Range((int)reader.TokenStartIndex, (int)reader.BytesConsumed);
        escaped = true;
        return true;
    }

    /// <summary>The value of a name read with escapes: <paramref name="token"/> is its JSON string, already validated.</summary>
    public static ReadOnlySpan<byte> Unescape(ReadOnlySpan<byte> token, Span<byte> destination)
    {
        var reader = new Utf8JsonReader(token);
        reader.Read();
        return destination[..reader.CopyString(destination)];
    }

    private static Range SliceOfString(ref Utf8JsonReader reader)
    {
        // ValueSpan excludes the quotes: TokenStartIndex is the opening quote.
        int start = (int)reader.TokenStartIndex + 1;
        return new Range(start, start + reader.ValueSpan.Length);
    }

    private static bool IsValidId(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            // Integers only: TryGetInt64 fails for fractions and exponents; the range is that of a JSON-safe integer.
            ReadOnlySpan<byte> raw = reader.ValueSpan;
            return raw.IndexOfAny("eE."u8) < 0 && reader.TryGetInt64(out long v) && v >= 0 && v <= MaxSafeInteger && (raw[0] != (byte)'-');
        }

        if (reader.TokenType == JsonTokenType.String)
        {
            // PROTOCOL.md §3 bounds a string id in characters, which JSON (RFC 8259 §7) means as Unicode code points: an
            // emoji is one character, though it takes two UTF-16 units and four UTF-8 bytes.
            int characters;
            if (reader.ValueIsEscaped)
            {
                // Twelve bytes is the longest spelling of one character: a surrogate pair as two \u escapes. Counted on
                // the escaped bytes: unescaping would throw on a lone surrogate, which counts as one character.
                if (reader.ValueSpan.Length > MaxIdCharacters * 12)
                {
                    return false;
                }

                characters = JsonEscapes.CountCharacters(reader.ValueSpan);
            }
            else
            {
                if (reader.ValueSpan.Length > MaxIdCharacters * 4)
                {
                    return false;
                }

                // The transport validated the UTF-8, so every byte that is not a continuation byte starts a code point.
                characters = reader.ValueSpan.Length - CountContinuationBytes(reader.ValueSpan);
            }

            return characters is >= 1 and <= MaxIdCharacters;
        }

        return false;
    }

    private static int CountContinuationBytes(ReadOnlySpan<byte> utf8)
    {
        int continuation = 0;
        foreach (byte b in utf8)
        {
            if ((b & 0xC0) == 0x80)
            {
                continuation++;
            }
        }

        return continuation;
    }
}
