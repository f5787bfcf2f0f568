namespace ConnMsg.Messaging;

/// <summary>
/// Reads a request written the way clients write them, <c>{"type":"req","id":…,"op":"…"[,"data":…]}</c> with no
/// whitespace around the envelope's members and a plain <c>data</c> value (<see cref="PlainJsonScanner"/>), by
/// matching bytes instead of running a JSON reader.
/// </summary>
/// <remarks>
/// It yields exactly the <see cref="Envelope"/> that the general reader yields for the same bytes, or declines:
/// another member order, another type, an escape, whitespace, a bad id or op, anything unusual. Declining is never
/// an error; <see cref="EnvelopeReader"/> then reads the message the general way and words any error.
/// </remarks>
internal static class CanonicalRequestReader
{
    private const long MaxSafeInteger = (1L << 53) - 1;
    private const int MaxSafeIntegerDigits = 16;
    private const int MaxIdChars = 64;

    private static ReadOnlySpan<byte> Prefix => "{\"type\":\"req\",\"id\":"u8;
    private static ReadOnlySpan<byte> OpMember => ",\"op\":\""u8;
    private static ReadOnlySpan<byte> DataMember => ",\"data\":"u8;

    /// <summary>
    /// True, with <paramref name="envelope"/> set, when <paramref name="json"/> is a valid request in canonical form.
    /// <paramref name="validUtf8"/>: the caller has checked that <paramref name="json"/> is valid UTF-8.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> json, bool validUtf8, out Envelope envelope)
    {
        envelope = default;
        if (!json.StartsWith(Prefix))
        {
            return false;
        }

        int idStart = Prefix.Length;
        int idEnd = SkipId(json, idStart);
        if (idEnd < 0 || !json[idEnd..].StartsWith(OpMember))
        {
            return false;
        }

        int opStart = idEnd + OpMember.Length;
        int opLength = json[opStart..].IndexOf((byte)'"');
        if (opLength < 0 || !Names.IsValid(json.Slice(opStart, opLength), Names.MaxOpBytes, allowReserved: true))
        {
            return false;
        }

        int i = opStart + opLength + 1;
        Range data = default;
        if (json[i..].StartsWith(DataMember))
        {
            int valueStart = PlainJsonScanner.SkipWhitespace(json, i + DataMember.Length);
            int valueEnd = PlainJsonScanner.SkipValue(json, valueStart, validUtf8);
            if (valueEnd < 0)
            {
                return false;
            }

            data = new Range(valueStart, valueEnd);
            i = valueEnd;
        }

        if (i != json.Length - 1 || json[i] != (byte)'}')
        {
            return false;
        }

        envelope.Kind = MessageKind.Req;
        envelope.Id = new Range(idStart, idEnd);
        envelope.Op = new Range(opStart, opStart + opLength);
        envelope.Data = data;
        return true;
    }

    // An id as PROTOCOL.md §3 allows it: an integer 0..2^53-1 without sign, fraction or leading zero, or a plain string
    // of 1..64 characters. Returns the index past it, or -1.
    private static int SkipId(ReadOnlySpan<byte> json, int start)
    {
        if ((uint)start >= (uint)json.Length)
        {
            return -1;
        }

        if (json[start] == (byte)'"')
        {
            // ASCII only, so that bytes are characters when the length is checked.
            int end = PlainJsonScanner.SkipString(json, start, validUtf8: false);
            int chars = end - start - 2;
            return end > 0 && chars is >= 1 and <= MaxIdChars ? end : -1;
        }

        int integerEnd = PlainJsonScanner.SkipUnsignedInteger(json, start, MaxSafeIntegerDigits, out long value);
        return value <= MaxSafeInteger ? integerEnd : -1;
    }
}
