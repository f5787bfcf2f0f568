namespace ConnMsg.Tests.Transport;

/// <summary>
/// An independent UTF-8 checker written from the grammar of RFC 3629 §4, used as the oracle for the server's validator.
/// </summary>
public static class Utf8Reference
{
    /// <summary>
    /// Index of the first byte at which <paramref name="bytes"/> stops being a prefix of any valid UTF-8 text, or -1 when
    /// every prefix is viable. <paramref name="complete"/> says whether the text ends on a code point boundary.
    /// </summary>
    public static int FirstInvalidByte(ReadOnlySpan<byte> bytes, out bool complete)
    {
        int need = 0;          // continuation bytes still expected
        byte lo = 0x80, hi = 0xBF; // allowed range of the next continuation byte
        for (int i = 0; i < bytes.Length; i++)
        {
            byte b = bytes[i];
            if (need > 0)
            {
                if (b < lo || b > hi)
                {
                    complete = false;
                    return i;
                }

                lo = 0x80;
                hi = 0xBF;
                need--;
                continue;
            }

            switch (b)
            {
                case <= 0x7F: break;
                case >= 0xC2 and <= 0xDF: need = 1; break;
                case 0xE0: need = 2; lo = 0xA0; break;           // no overlong 3-byte forms
                case >= 0xE1 and <= 0xEC: need = 2; break;
                case 0xED: need = 2; hi = 0x9F; break;           // no surrogates U+D800..U+DFFF
                case >= 0xEE and <= 0xEF: need = 2; break;
                case 0xF0: need = 3; lo = 0x90; break;           // no overlong 4-byte forms
                case >= 0xF1 and <= 0xF3: need = 3; break;
                case 0xF4: need = 3; hi = 0x8F; break;           // nothing above U+10FFFF
                default:                                          // 80..C1 as a lead, F5..FF
                    complete = false;
                    return i;
            }
        }

        complete = need == 0;
        return -1;
    }

    public static bool IsValid(ReadOnlySpan<byte> bytes) => FirstInvalidByte(bytes, out bool complete) < 0 && complete;
}
