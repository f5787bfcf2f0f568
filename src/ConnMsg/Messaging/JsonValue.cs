using System.Text.Json;
using System.Text.Unicode;

namespace ConnMsg.Messaging;

/// <summary>Checks that bytes handed to us by application code are exactly one JSON value, in UTF-8.</summary>
internal static class JsonValue
{
    public static ReadOnlySpan<byte> Null => "null"u8;

    public static bool IsSingleValue(ReadOnlySpan<byte> json)
    {
        // Utf8JsonReader does not check the UTF-8 inside strings, and the bytes go out in a text message, which the peer
        // closes on when it is not UTF-8 (RFC 6455 §8.1): a bad publish would close every subscriber. The check is
        // vectorised and costs a fraction of the JSON reader's pass over the same bytes.
        if (!Utf8.IsValid(json))
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read())
            {
                return false;
            }

            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
