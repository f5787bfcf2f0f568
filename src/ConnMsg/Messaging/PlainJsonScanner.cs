using System.Buffers;

namespace ConnMsg.Messaging;

/// <summary>
/// Finds where one JSON value ends when it is written in the plain subset that clients send almost always: strings
/// without escapes or control characters, numbers, <c>true</c>/<c>false</c>/<c>null</c>, objects and arrays nested at most
/// <see cref="MaxDepth"/> deep, JSON whitespace between tokens.
/// </summary>
/// <remarks>
/// It answers only "one valid value, ending here" or "not plain": an escape, a control character, deeper nesting and
/// every malformed value are all "not plain" (and so is any non-ASCII byte unless the caller vouches that the input is
/// valid UTF-8, as a WebSocket text message is), and the caller hands the message to
/// <see cref="System.Text.Json.Utf8JsonReader"/>, which decides validity and words the error. So everything this
/// accepts must be valid JSON, while it may decline valid JSON freely. Callers check what follows the value.
/// </remarks>
internal static class PlainJsonScanner
{
    /// <summary>Deepest nesting handled here; the envelope reader allows 64 levels in all, so deeper values stay valid there.</summary>
    public const int MaxDepth = 32;

    // Where a run of plain string bytes stops: the closing quote, or a byte only the full reader handles.
    private static readonly SearchValues<byte> s_asciiStringStops = SearchValues.Create(StringStops(asciiOnly: true));
    private static readonly SearchValues<byte> s_utf8StringStops = SearchValues.Create(StringStops(asciiOnly: false));

    /// <summary>
    /// The index just past the value that starts at <paramref name="start"/> (after optional whitespace), or -1 when it
    /// is not one plain value. <paramref name="validUtf8"/>: the caller has checked that all of <paramref name="json"/>
    /// is valid UTF-8, so strings may hold any character but the controls.
    /// </summary>
    public static int SkipValue(ReadOnlySpan<byte> json, int start, bool validUtf8)
    {
        ulong objects = 0; // one bit per open container, 1 for an object, innermost lowest
        int depth = 0;
        int i = start;
        while (true)
        {
            // A value is due at i.
            i = SkipWhitespace(json, i);
            if ((uint)i >= (uint)json.Length)
            {
                return -1;
            }

            byte b = json[i];
            if (b is (byte)'{' or (byte)'[')
            {
                if (depth == MaxDepth)
                {
                    return -1;
                }

                bool isObject = b == (byte)'{';
                objects = (objects << 1) | (isObject ? 1UL : 0UL);
                depth++;
                i = SkipWhitespace(json, i + 1);
                if ((uint)i >= (uint)json.Length)
                {
                    return -1;
                }

                if (json[i] == (isObject ? (byte)'}' : (byte)']'))
                {
                    // Empty: the container is itself the value just finished.
                    i++;
                    depth--;
                    objects >>= 1;
                }
                else if (isObject)
                {
                    i = SkipMemberName(json, i, validUtf8);
                    if (i < 0)
                    {
                        return -1;
                    }

                    continue;
                }
                else
                {
                    continue;
                }
            }
            else
            {
                i = b switch
                {
                    (byte)'"' => SkipString(json, i, validUtf8),
                    (byte)'t' => SkipLiteral(json, i, "true"u8),
                    (byte)'f' => SkipLiteral(json, i, "false"u8),
                    (byte)'n' => SkipLiteral(json, i, "null"u8),
                    _ => SkipNumber(json, i),
                };
                if (i < 0)
                {
                    return -1;
                }
            }

            // A value just ended: close the containers it finishes, or go on to the next element.
            while (true)
            {
                if (depth == 0)
                {
                    return i;
                }

                i = SkipWhitespace(json, i);
                if ((uint)i >= (uint)json.Length)
                {
                    return -1;
                }

                bool inObject = (objects & 1) != 0;
                byte c = json[i];
                if (c == (byte)',')
                {
                    i++;
                    if (inObject)
                    {
                        i = SkipMemberName(json, SkipWhitespace(json, i), validUtf8);
                        if (i < 0)
                        {
                            return -1;
                        }
                    }

                    break;
                }

                if (c != (inObject ? (byte)'}' : (byte)']'))
                {
                    return -1;
                }

                i++;
                depth--;
                objects >>= 1;
            }
        }
    }

    /// <summary>The index just past a plain string starting at the quote at <paramref name="start"/>, or -1.</summary>
    public static int SkipString(ReadOnlySpan<byte> json, int start, bool validUtf8)
    {
        if ((uint)start >= (uint)json.Length || json[start] != (byte)'"')
        {
            return -1;
        }

        int stop = json[(start + 1)..].IndexOfAny(validUtf8 ? s_utf8StringStops : s_asciiStringStops);
        if (stop < 0)
        {
            return -1;
        }

        int at = start + 1 + stop;
        return json[at] == (byte)'"' ? at + 1 : -1;
    }

    /// <summary>
    /// The index just past an unsigned JSON integer of at most <paramref name="maxDigits"/> digits (no sign, fraction,
    /// exponent or leading zero) starting at <paramref name="start"/>, with its <paramref name="value"/>; or -1.
    /// What follows is the caller's to check. <paramref name="maxDigits"/> must be at most 18, so the value fits.
    /// </summary>
    public static int SkipUnsignedInteger(ReadOnlySpan<byte> json, int start, int maxDigits, out long value)
    {
        value = 0;
        int i = start;
        while ((uint)i < (uint)json.Length && IsDigit(json[i]))
        {
            if (i - start == maxDigits)
            {
                return -1;
            }

            value = (value * 10) + (json[i] - '0');
            i++;
        }

        int digits = i - start;
        return digits == 0 || (digits > 1 && json[start] == (byte)'0') ? -1 : i;
    }

    /// <summary>Skips JSON whitespace (space, tab, line feed, carriage return).</summary>
    public static int SkipWhitespace(ReadOnlySpan<byte> json, int i)
    {
        while ((uint)i < (uint)json.Length && json[i] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
        {
            i++;
        }

        return i;
    }

    private static int SkipMemberName(ReadOnlySpan<byte> json, int i, bool validUtf8)
    {
        i = SkipString(json, i, validUtf8);
        if (i < 0)
        {
            return -1;
        }

        i = SkipWhitespace(json, i);
        return (uint)i < (uint)json.Length && json[i] == (byte)':' ? i + 1 : -1;
    }

    private static int SkipLiteral(ReadOnlySpan<byte> json, int i, ReadOnlySpan<byte> literal) =>
        json[i..].StartsWith(literal) ? i + literal.Length : -1;

    // RFC 8259 §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?. What follows is the caller's to check, so "01"
    // ends after "0" and is then refused by whoever expected a delimiter.
    private static int SkipNumber(ReadOnlySpan<byte> json, int i)
    {
        if ((uint)i < (uint)json.Length && json[i] == (byte)'-')
        {
            i++;
        }

        if ((uint)i >= (uint)json.Length)
        {
            return -1;
        }

        if (json[i] == (byte)'0')
        {
            i++;
        }
        else if (IsDigit(json[i]))
        {
            i = SkipDigits(json, i + 1);
        }
        else
        {
            return -1;
        }

        if ((uint)i < (uint)json.Length && json[i] == (byte)'.')
        {
            int first = i + 1;
            i = SkipDigits(json, first);
            if (i == first)
            {
                return -1;
            }
        }

        if ((uint)i < (uint)json.Length && (json[i] | 0x20) == (byte)'e')
        {
            i++;
            if ((uint)i < (uint)json.Length && json[i] is (byte)'+' or (byte)'-')
            {
                i++;
            }

            int first = i;
            i = SkipDigits(json, first);
            if (i == first)
            {
                return -1;
            }
        }

        return i;
    }

    private static int SkipDigits(ReadOnlySpan<byte> json, int i)
    {
        while ((uint)i < (uint)json.Length && IsDigit(json[i]))
        {
            i++;
        }

        return i;
    }

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    private static byte[] StringStops(bool asciiOnly)
    {
        var stops = new List<byte> { (byte)'"', (byte)'\\' };
        for (int b = 0; b < 0x20; b++)
        {
            stops.Add((byte)b);
        }

        for (int b = 0x80; asciiOnly && b <= 0xFF; b++)
        {
            stops.Add((byte)b);
        }

        return stops.ToArray();
    }
}
