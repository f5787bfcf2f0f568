using System.Text.Json;

namespace ConnMsg.Messaging;

/// <summary>Checks that bytes handed to us by application code are exactly one JSON value.</summary>
internal static class JsonValue
{
    public static ReadOnlySpan<byte> Null => "null"u8;

    public static bool IsSingleValue(ReadOnlySpan<byte> json)
    {
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
