using System.Text.Json;

namespace ConnMsg.Messaging;

/// <summary>
/// The one fault of a JSON string that <see cref="Utf8JsonReader"/> reports only by throwing: a <c>\u</c> escape of a
/// lone surrogate. RFC 8259 §8.2 lets the syntax through (a browser's <c>JSON.stringify</c> writes one for a string that
/// holds half a surrogate pair), but no UTF-8 can hold its value, so the reader's <c>CopyString</c>, <c>GetString</c> and
/// <c>ValueTextEquals</c> throw <see cref="InvalidOperationException"/> on it. This finds it first, as a value.
/// </summary>
/// <remarks>
/// Works on a string's raw value as the reader hands it over in <see cref="Utf8JsonReader.ValueSpan"/>, after the reader
/// has checked its escapes' syntax (a backslash is followed by one of <c>"\/bfnrtu</c>, a <c>u</c> by four hex digits).
/// The gateway's demo compiles this same file in. Stateless and thread-safe.
/// </remarks>
internal static class JsonEscapes
{
    /// <summary>The string token the reader is on has an escape that spells a lone surrogate.</summary>
    public static bool HasLoneSurrogate(ref Utf8JsonReader reader) =>
        reader.ValueIsEscaped && IndexOfLoneSurrogate(reader.ValueSpan) >= 0;

    /// <summary>
    /// Index of the backslash of the first escape in <paramref name="value"/> (a string's raw value, checked by the
    /// reader) that spells a lone surrogate: a low one, or a high one not followed by an escaped low one. -1 if none.
    /// </summary>
    public static int IndexOfLoneSurrogate(ReadOnlySpan<byte> value)
    {
        int i = value.IndexOf((byte)'\\');
        while (i >= 0)
        {
            int unit = EscapedUnit(value, i);
            int length;
            if (unit < 0)
            {
                length = 2; // \n, \", \\ and the like
            }
            else if (char.IsLowSurrogate((char)unit))
            {
                return i;
            }
            else if (char.IsHighSurrogate((char)unit))
            {
                if (!IsEscapedLowSurrogate(value, i + 6))
                {
                    return i;
                }

                length = 12;
            }
            else
            {
                length = 6;
            }

            i += length;
            if (i >= value.Length)
            {
                return -1;
            }

            int next = value[i..].IndexOf((byte)'\\');
            i = next < 0 ? -1 : i + next;
        }

        return -1;
    }

    /// <summary>
    /// Characters (code points) in <paramref name="value"/>, a string's raw value in valid UTF-8 checked by the reader:
    /// an escape counts as the character it spells, a pair of surrogate escapes as one, a lone surrogate as one.
    /// </summary>
    public static int CountCharacters(ReadOnlySpan<byte> value)
    {
        int count = 0;
        int i = 0;
        while (i < value.Length)
        {
            byte b = value[i];
            if (b != (byte)'\\')
            {
                // Every byte that is not a UTF-8 continuation byte starts a character.
                if ((b & 0xC0) != 0x80)
                {
                    count++;
                }

                i++;
                continue;
            }

            count++;
            int unit = EscapedUnit(value, i);
            if (unit < 0)
            {
                i += 2;
            }
            else if (char.IsHighSurrogate((char)unit) && IsEscapedLowSurrogate(value, i + 6))
            {
                i += 12;
            }
            else
            {
                i += 6;
            }
        }

        return count;
    }

    /// <summary>
    /// The value of <paramref name="token"/>, a JSON string with its quotes checked by the reader, with every lone
    /// surrogate read as U+FFFD (as a UTF-8 decoder reads a broken sequence). For text that is only shown to people.
    /// </summary>
    public static string GetStringReplacingLoneSurrogates(ReadOnlySpan<byte> token)
    {
        int lone = IndexOfLoneSurrogate(token);
        if (lone >= 0)
        {
            // \uFFFD is as long as the escape it replaces, so the copy stays a valid token of the same length.
            byte[] copy = token.ToArray();
            while (lone >= 0)
            {
                "fffd"u8.CopyTo(copy.AsSpan(lone + 2));
                int next = IndexOfLoneSurrogate(copy.AsSpan(lone + 6));
                lone = next < 0 ? -1 : lone + 6 + next;
            }

            return GetString(copy);
        }

        return GetString(token);
    }

    private static string GetString(ReadOnlySpan<byte> token)
    {
        var reader = new Utf8JsonReader(token);
        reader.Read();
        return reader.GetString()!;
    }

    private static bool IsEscapedLowSurrogate(ReadOnlySpan<byte> value, int i) =>
        EscapedUnit(value, i) is >= 0xDC00 and <= 0xDFFF;

    /// <summary>The UTF-16 unit of the <c>\uXXXX</c> escape at <paramref name="i"/>, or -1 when no such escape is there.</summary>
    private static int EscapedUnit(ReadOnlySpan<byte> value, int i)
    {
        if (i + 6 > value.Length || value[i] != (byte)'\\' || value[i + 1] != (byte)'u')
        {
            return -1;
        }

        int unit = 0;
        for (int k = i + 2; k < i + 6; k++)
        {
            int digit = HexDigit(value[k]);
            if (digit < 0)
            {
                return -1;
            }

            unit = (unit << 4) | digit;
        }

        return unit;
    }

    private static int HexDigit(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
