using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace ConnMsg.Http;

/// <summary>Validates an upgrade request against RFC 6455 §4.2.1 and PROTOCOL.md §2, §7.</summary>
internal static class WebSocketHandshake
{
    public const string SubProtocol = "connmsg.v1";
    private static ReadOnlySpan<byte> Guid => "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"u8;

    /// <summary>Length of a Sec-WebSocket-Accept value: base64 of a 20-byte SHA-1 hash.</summary>
    public const int AcceptLength = 28;

    /// <summary>
    /// Checks the request; returns null with the client's (valid) key and the subprotocol when it is a valid upgrade,
    /// else the refusal. The key, not the accept value: <see cref="WriteAccept"/> writes that straight into the response.
    /// </summary>
    public static HttpResponse? Validate(HttpRequestHead request, ConnMsgOptions options, out string key, out string? subProtocol, out string refusedReason)
    {
        key = string.Empty;
        subProtocol = null;
        refusedReason = string.Empty;

        if (request.Method != "GET")
        {
            return Refuse(400, "bad_method", "WebSocket upgrade requires GET", out refusedReason);
        }

        // RFC 9112 §3.2: a request with no Host, more than one, or an invalid one gets 400.
        if (!HasOneValidHost(request))
        {
            return RefuseHost(out refusedReason);
        }

        // RFC 6455 §4.1 gives the upgrade no body. One sent anyway would be read as the first frames, and a proxy in front
        // that frames it otherwise would disagree with us on where the WebSocket stream starts (request smuggling).
        if (request.DeclaresBody())
        {
            return Refuse(400, "body", "an upgrade request must not have a body (Transfer-Encoding, or Content-Length other than 0)", out refusedReason);
        }

        if (!request.ContainsToken("Upgrade", "websocket", StringComparison.OrdinalIgnoreCase, out _))
        {
            return Refuse(400, "bad_upgrade", "missing or wrong Upgrade header (expected websocket)", out refusedReason);
        }

        if (!request.ContainsToken("Connection", "Upgrade", StringComparison.OrdinalIgnoreCase, out _))
        {
            return Refuse(400, "bad_connection", "missing Upgrade token in Connection header", out refusedReason);
        }

        // Values are compared as the parser left them, without optional whitespace (SP, HTAB). string.Trim() would also
        // strip what is no whitespace in HTTP, such as the no-break space or U+0085 that Latin-1 makes of bytes A0 and 85.
        if (request.CountHeader("Sec-WebSocket-Version") != 1 || request.GetHeader("Sec-WebSocket-Version") != "13")
        {
            refusedReason = "bad_version";
            return HttpResponse.Text(426, "unsupported Sec-WebSocket-Version (13 required)", new KeyValuePair<string, string>("Sec-WebSocket-Version", "13"));
        }

        // RFC 6455 §11.3.1: the key must not appear more than once.
        string? offeredKey = request.CountHeader("Sec-WebSocket-Key") == 1 ? request.GetHeader("Sec-WebSocket-Key") : null;
        if (!IsValidKey(offeredKey))
        {
            return Refuse(400, "bad_key", "missing or invalid Sec-WebSocket-Key", out refusedReason);
        }

        string? origin = request.GetHeader("Origin");
        if (origin is not null && options.AllowedOrigins.Count > 0 && !IsAllowedOrigin(options.AllowedOrigins, origin))
        {
            return Refuse(403, "origin", "origin not allowed", out refusedReason);
        }

        if (request.ContainsToken("Sec-WebSocket-Protocol", SubProtocol, StringComparison.Ordinal, out bool offered))
        {
            subProtocol = SubProtocol;
        }
        else if (offered)
        {
            return Refuse(400, "subprotocol", "no supported subprotocol offered (connmsg.v1)", out refusedReason);
        }

        key = offeredKey!;
        return null;
    }

    /// <summary>
    /// Writes Sec-WebSocket-Accept, base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2), as ASCII into <paramref name="destination"/>
    /// (at least <see cref="AcceptLength"/> bytes); returns the bytes written. <paramref name="key"/> is one that
    /// <see cref="Validate"/> accepted (24 characters).
    /// </summary>
    public static int WriteAccept(string key, Span<byte> destination)
    {
        Span<byte> input = stackalloc byte[64];
        int n = Encoding.ASCII.GetBytes(key, input);
        Guid.CopyTo(input[n..]);
        Span<byte> hash = stackalloc byte[20];
        SHA1.HashData(input[..(n + Guid.Length)], hash);
        Base64.EncodeToUtf8(hash, destination, out _, out int written);
        return written;
    }

    private static bool IsAllowedOrigin(IList<string> allowed, string origin)
    {
        for (int i = 0; i < allowed.Count; i++)
        {
            if (string.Equals(allowed[i], origin, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsValidKey(string? key)
    {
        // A base64-encoded 16-byte value is exactly 24 characters: 22 of data, then "==".
        if (key is null || key.Length != 24)
        {
            return false;
        }

        // Canonical form (RFC 4648 §3.5, as RFC 6455 §4.2.1 means it): the last data character carries 2 bits of the last
        // byte and 4 zero bits, so it is one of A, Q, g, w. The decoder ignores those 4 bits and would accept 16 keys
        // for each value.
        Span<byte> decoded = stackalloc byte[18];
        return Convert.TryFromBase64String(key, decoded, out int written) && written == 16 && key[21] is 'A' or 'Q' or 'g' or 'w';
    }

    /// <summary>
    /// The refusal of a request without exactly one valid Host, upgrade or not: one reason for both, so that a dashboard
    /// counting refusals by reason sees one figure for the one failure.
    /// </summary>
    internal static HttpResponse RefuseHost(out string refusedReason) =>
        Refuse(400, "bad_request", "exactly one valid Host header required", out refusedReason);

    /// <summary>Exactly one Host header, and a valid one (RFC 9112 §3.2).</summary>
    internal static bool HasOneValidHost(HttpRequestHead request) =>
        request.CountHeader("Host") == 1 && IsValidHost(request.GetHeader("Host")!);

    /// <summary>
    /// Host = uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2): a bracketed IP literal or a reg-name / IPv4
    /// address, then digits for the port. Empty is allowed (a target without authority).
    /// </summary>
    internal static bool IsValidHost(string host)
    {
        ReadOnlySpan<char> rest = host;
        if (rest.StartsWith('['))
        {
            int close = rest.IndexOf(']');
            if (close < 2 || rest[1..close].ContainsAnyExcept(IpLiteralChars))
            {
                return false;
            }

            rest = rest[(close + 1)..];
        }
        else
        {
            int colon = rest.IndexOf(':');
            ReadOnlySpan<char> name = colon < 0 ? rest : rest[..colon];
            if (name.ContainsAnyExcept(RegNameChars))
            {
                return false;
            }

            rest = colon < 0 ? default : rest[colon..];
        }

        return rest.IsEmpty || (rest[0] == ':' && !rest[1..].ContainsAnyExceptInRange('0', '9'));
    }

    // unreserved / pct-encoded / sub-delims; IPv6 and IPvFuture literals (hex digits, ':', '.', 'v', unreserved).
    private static readonly System.Buffers.SearchValues<char> RegNameChars =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%!$&'()*+,;=");

    private static readonly System.Buffers.SearchValues<char> IpLiteralChars =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:");

    private static HttpResponse Refuse(int status, string reasonKey, string line, out string refusedReason)
    {
        refusedReason = reasonKey;
        return HttpResponse.Text(status, line);
    }
}
