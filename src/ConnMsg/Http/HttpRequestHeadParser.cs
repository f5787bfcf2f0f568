using System.Buffers;
using System.Text;

namespace ConnMsg.Http;

/// <summary>Parses an HTTP/1.1 request line and header block (RFC 9112 §3, §5) from the connection's bytes, with limits.</summary>
internal static class HttpRequestHeadParser
{
    private static ReadOnlySpan<byte> EndOfHead => "\r\n\r\n"u8;

    /// <summary>
    /// Empty lines (CRLF) skipped before the request line (RFC 9112 §2.2: a server SHOULD ignore at least one). One more
    /// is an empty request line, refused as malformed; the skipped ones count against the head size limit.
    /// </summary>
    internal const int MaxLeadingEmptyLines = 4;

    /// <summary>
    /// Reads a whole request head. Returns <c>true</c> with the head consumed; <c>false</c> with <see cref="HttpParseError.None"/>
    /// while more bytes are needed (nothing consumed); <c>false</c> with an error once the input breaks a rule or a limit,
    /// which is known as soon as the buffered bytes exceed it — a slow sender cannot make us buffer more.
    /// </summary>
    public static bool TryReadRequestHead(ref SequenceReader<byte> reader, int maxRequestLine, int maxHead, int maxHeaders,
        out HttpRequestHead? head, out HttpParseError error)
    {
        head = null;
        error = HttpParseError.None;
        SequenceReader<byte> probe = reader;
        // Only whole CRLFs are skipped: a bare LF or CR there is reported below as any other bare line end in the head is.
        for (int skipped = 0; skipped < MaxLeadingEmptyLines && probe.IsNext("\r\n"u8, advancePast: true); skipped++)
        {
        }

        long leading = probe.Consumed - reader.Consumed;
        SequenceReader<byte> start = probe;
        if (!probe.TryReadTo(out ReadOnlySequence<byte> block, EndOfHead, advancePastDelimiter: true))
        {
            if (reader.Remaining > maxHead)
            {
                error = HttpParseError.HeadTooLarge;
            }
            else if (!LineFitsWhileIncomplete(start, maxRequestLine))
            {
                error = HttpParseError.RequestLineTooLong;
            }
            else if (CompleteLines(start.UnreadSequence) - 1 > maxHeaders)
            {
                // Every complete line after the request line is a header: too many is known before the blank line.
                error = HttpParseError.TooManyHeaders;
            }
            else
            {
                // A client that ends its lines with a bare LF (or CR) never sends the CRLFCRLF looked for above: without
                // this it would wait out the handshake timeout for an answer that is a 400 now.
                error = BareLineEnd(start.UnreadSequence);
            }

            return false;
        }

        if (leading + block.Length + EndOfHead.Length > maxHead)
        {
            error = HttpParseError.HeadTooLarge;
            return false;
        }

        int length = (int)block.Length;
        byte[]? rented = null;
        Span<byte> bytes = length <= 4096 ? stackalloc byte[length] : (rented = ArrayPool<byte>.Shared.Rent(length)).AsSpan(0, length);
        try
        {
            block.CopyTo(bytes);
            if (!TryParse(bytes, maxRequestLine, maxHeaders, out head, out error))
            {
                return false;
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        reader.Advance(leading + block.Length + EndOfHead.Length);
        return true;
    }

    private static bool LineFitsWhileIncomplete(SequenceReader<byte> reader, int maxRequestLine)
    {
        // The limit is on the line without its CRLF, as in TryParse: a CR that may end the line does not count.
        ReadOnlySequence<byte> line = reader.TryReadTo(out ReadOnlySequence<byte> toLf, (byte)'\n', advancePastDelimiter: false)
            ? toLf
            : reader.UnreadSequence;
        long length = line.Length;
        if (length > 0 && line.Slice(length - 1).FirstSpan[0] == (byte)'\r')
        {
            length--;
        }

        return length <= maxRequestLine;
    }

    /// <summary>
    /// Whether the buffered bytes hold a line end other than CRLF (RFC 9112 §2.2): an LF not after a CR, or a CR before
    /// anything but an LF. A CR that is the last byte so far may still get its LF. Such a line end in the request line is
    /// a malformed request line, after it a malformed header, as <see cref="TryParse"/> reports it in a complete head.
    /// </summary>
    private static HttpParseError BareLineEnd(in ReadOnlySequence<byte> buffered)
    {
        bool crLast = false; // the previous segment ended with a CR
        bool pastRequestLine = false;
        foreach (ReadOnlyMemory<byte> segment in buffered)
        {
            ReadOnlySpan<byte> span = segment.Span;
            if (span.IsEmpty)
            {
                continue;
            }

            int i = 0;
            if (crLast)
            {
                if (span[0] != (byte)'\n')
                {
                    return pastRequestLine ? HttpParseError.MalformedHeader : HttpParseError.MalformedRequestLine;
                }

                crLast = false;
                pastRequestLine = true;
                i = 1;
            }

            while (i < span.Length)
            {
                int at = span[i..].IndexOfAny((byte)'\r', (byte)'\n');
                if (at < 0)
                {
                    break;
                }

                at += i;
                if (span[at] == (byte)'\n' || (at + 1 < span.Length && span[at + 1] != (byte)'\n'))
                {
                    // Every CRLF before was stepped over whole, so an LF here has no CR before it.
                    return pastRequestLine ? HttpParseError.MalformedHeader : HttpParseError.MalformedRequestLine;
                }

                if (at + 1 == span.Length)
                {
                    crLast = true;
                    break;
                }

                pastRequestLine = true;
                i = at + 2;
            }
        }

        return HttpParseError.None;
    }

    private static long CompleteLines(in ReadOnlySequence<byte> buffered)
    {
        long lines = 0;
        foreach (ReadOnlyMemory<byte> segment in buffered)
        {
            lines += segment.Span.Count((byte)'\n');
        }

        return lines;
    }

    private static bool TryParse(ReadOnlySpan<byte> block, int maxRequestLine, int maxHeaders, out HttpRequestHead? head, out HttpParseError error)
    {
        head = null;
        int lineEnd = block.IndexOf("\r\n"u8);
        ReadOnlySpan<byte> requestLine = lineEnd < 0 ? block : block[..lineEnd];
        if (requestLine.Length > maxRequestLine)
        {
            error = HttpParseError.RequestLineTooLong;
            return false;
        }

        // request-line = method SP request-target SP HTTP-version
        int sp1 = requestLine.IndexOf((byte)' ');
        int sp2 = sp1 < 0 ? -1 : requestLine[(sp1 + 1)..].IndexOf((byte)' ');
        if (sp1 <= 0 || sp2 <= 0)
        {
            error = HttpParseError.MalformedRequestLine;
            return false;
        }

        ReadOnlySpan<byte> method = requestLine[..sp1];
        ReadOnlySpan<byte> target = requestLine.Slice(sp1 + 1, sp2);
        ReadOnlySpan<byte> version = requestLine[(sp1 + sp2 + 2)..];
        if (!IsToken(method) || !IsVisible(target) || !TryGetOriginForm(target, out target))
        {
            error = HttpParseError.MalformedRequestLine;
            return false;
        }

        if (!version.SequenceEqual("HTTP/1.1"u8))
        {
            // 505 only for a well-formed version this server does not speak; anything else is a malformed line.
            bool wellFormed = version.Length == 8 && version.StartsWith("HTTP/"u8) && char.IsAsciiDigit((char)version[5])
                && version[6] == (byte)'.' && char.IsAsciiDigit((char)version[7]);
            error = wellFormed ? HttpParseError.UnsupportedVersion : HttpParseError.MalformedRequestLine;
            return false;
        }

        ReadOnlySpan<byte> rest = lineEnd < 0 ? default : block[(lineEnd + 2)..];

        // Every line of the block after the request line is a header or an error (the block ends before the first
        // blank line), so the array is sized once, and no list grows and is copied per handshake.
        int lines = rest.IsEmpty ? 0 : rest.Count("\r\n"u8) + 1;
        KeyValuePair<string, string>[] headers = lines == 0 ? [] : new KeyValuePair<string, string>[Math.Min(lines, maxHeaders)];
        int count = 0;
        while (!rest.IsEmpty)
        {
            int end = rest.IndexOf("\r\n"u8);
            ReadOnlySpan<byte> line = end < 0 ? rest : rest[..end];
            rest = end < 0 ? default : rest[(end + 2)..];
            if (count == maxHeaders)
            {
                error = HttpParseError.TooManyHeaders;
                return false;
            }

            int colon = line.IndexOf((byte)':');
            if (colon <= 0 || !IsToken(line[..colon]))
            {
                // Also rejects obsolete line folding (a line starting with whitespace), as RFC 9112 §5.2 allows.
                error = HttpParseError.MalformedHeader;
                return false;
            }

            ReadOnlySpan<byte> value = line[(colon + 1)..].Trim(" \t"u8);
            if (!IsFieldValue(value))
            {
                error = HttpParseError.MalformedHeader;
                return false;
            }

            // Names are tokens (ASCII), so Latin-1 decodes them exactly as ASCII would.
            string name = KnownHeaderStrings.Get(line[..colon]);
            headers[count++] = new(name, KnownHeaderStrings.Value(name, value));
        }

        string targetText = KnownHeaderStrings.Target(target);
        int q = targetText.IndexOf('?');
        head = new HttpRequestHead(
            KnownHeaderStrings.Method(method),
            q < 0 ? targetText : q == 0 ? "/" : targetText[..q],
            q < 0 ? string.Empty : targetText[q..],
            "HTTP/1.1",
            headers);
        error = HttpParseError.None;
        return true;
    }

    private static bool IsToken(ReadOnlySpan<byte> s)
    {
        if (s.IsEmpty)
        {
            return false;
        }

        foreach (byte b in s)
        {
            bool ok = b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
                || "!#$%&'*+-.^_`|~"u8.Contains(b);
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The path and query of a request target: origin-form as it is, absolute-form (<c>http://host/path</c>, which a
    /// server must accept, RFC 9112 §3.2.2) with its scheme and authority removed. Asterisk- and authority-form fail.
    /// </summary>
    private static bool TryGetOriginForm(ReadOnlySpan<byte> target, out ReadOnlySpan<byte> originForm)
    {
        originForm = target;
        if (!target.IsEmpty && target[0] == (byte)'/')
        {
            return true;
        }

        int schemeEnd = target.IndexOf("://"u8);
        if (schemeEnd <= 0 || !IsScheme(target[..schemeEnd]))
        {
            return false;
        }

        ReadOnlySpan<byte> afterAuthority = target[(schemeEnd + 3)..];
        int pathStart = afterAuthority.IndexOfAny((byte)'/', (byte)'?');
        if (pathStart == 0 || afterAuthority.IsEmpty)
        {
            return false; // no authority: an http(s) URI must have a host (RFC 9110 §4.2.1, §4.2.2)
        }

        // An empty path is "/" (RFC 9112 §3.2.1); a query right after the authority keeps its '?', and the path is
        // filled in when the head is built.
        originForm = pathStart < 0 ? "/"u8 : afterAuthority[pathStart..];
        return true;
    }

    private static bool IsScheme(ReadOnlySpan<byte> s) =>
        System.Text.Ascii.EqualsIgnoreCase(s, "http"u8) || System.Text.Ascii.EqualsIgnoreCase(s, "https"u8);

    /// <summary>field-value (RFC 9110 §5.5): visible characters, obs-text, spaces and tabs; no other control character.</summary>
    private static bool IsFieldValue(ReadOnlySpan<byte> value)
    {
        foreach (byte b in value)
        {
            if ((b < 0x20 && b != (byte)'\t') || b == 0x7F)
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsVisible(ReadOnlySpan<byte> s)
    {
        foreach (byte b in s)
        {
            if (b is <= 0x20 or >= 0x7F)
            {
                return false;
            }
        }

        return true;
    }
}
