using System.Text.Json;

namespace ConnMsg.Messaging.Topics;

/// <summary>Reads the data of <c>$subscribe</c>/<c>$unsubscribe</c>: <c>{"topic":"…","since":N}</c> (PROTOCOL.md §5.2, §5.3).</summary>
internal static class SubscribeRequest
{
    public static bool TryParse(ReadOnlySpan<byte> data, out string? topic, out long? since, out string? error)
    {
        topic = null;
        since = null;
        error = null;
        if (data.IsEmpty)
        {
            error = "data must be an object with a topic";
            return false;
        }

        // The data was validated as JSON by the envelope reader, so this reader cannot throw.
        var reader = new Utf8JsonReader(data);
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = "data must be an object with a topic";
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            // A name or topic with a lone surrogate escape is not text, and ValueTextEquals or GetString would throw on it.
            if (JsonEscapes.HasLoneSurrogate(ref reader))
            {
                reader.Read();
                reader.Skip();
            }
            else if (reader.ValueTextEquals("topic"u8))
            {
                reader.Read();
                // The value counts, not its spelling: "prices\/EURUSD" is the topic prices/EURUSD.
                topic = reader.TokenType == JsonTokenType.String && reader.ValueSpan.Length <= Names.MaxTopicBytes * 6
                    && !JsonEscapes.HasLoneSurrogate(ref reader) ? reader.GetString() : null;
                if (topic is null || !Names.IsValid(topic, Names.MaxTopicBytes, allowReserved: true))
                {
                    error = "topic must be 1..256 characters of A-Z a-z 0-9 . _ - : /";
                    return false;
                }
            }
            else if (reader.ValueTextEquals("since"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }

                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long n) || n < 0)
                {
                    error = "since must be an integer >= 0";
                    return false;
                }

                since = n;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (topic is null)
        {
            error = "topic is required";
            return false;
        }

        return true;
    }
}
