using System.Security.Cryptography;
using System.Text;

namespace ConnMsg.Http;

/// <summary>Validates an upgrade request against RFC 6455 §4.2.1 and PROTOCOL.md §2, §7.</summary>
internal static class WebSocketHandshake
{
    public const string SubProtocol = "connmsg.v1";
    private static ReadOnlySpan<byte> Guid => "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"u8;

    /// <summary>Checks the request; returns null with the accept key and subprotocol when it is a valid upgrade, else the refusal.</summary>
    public static HttpResponse? Validate(HttpRequestHead request, ConnMsgOptions options, out string accept, out string? subProtocol, out string refusedReason)
    {
        accept = string.Empty;
        subProtocol = null;
        refusedReason = string.Empty;

        if (request.Method != "GET")
        {
            return Refuse(400, "bad_method", "WebSocket upgrade requires GET", out refusedReason);
        }

        if (request.GetHeader("Host") is null)
        {
            return Refuse(400, "bad_request", "missing Host header", out refusedReason);
        }

        if (!request.GetHeaderTokens("Upgrade").Any(t => t.Equals("websocket", StringComparison.OrdinalIgnoreCase)))
        {
            return Refuse(400, "bad_upgrade", "missing or wrong Upgrade header (expected websocket)", out refusedReason);
        }

        if (!request.GetHeaderTokens("Connection").Any(t => t.Equals("Upgrade", StringComparison.OrdinalIgnoreCase)))
        {
            return Refuse(400, "bad_connection", "missing Upgrade token in Connection header", out refusedReason);
        }

        if (request.GetHeader("Sec-WebSocket-Version")?.Trim() != "13")
        {
            refusedReason = "bad_version";
            return HttpResponse.Text(426, "unsupported Sec-WebSocket-Version (13 required)", new KeyValuePair<string, string>("Sec-WebSocket-Version", "13"));
        }

        string? key = request.GetHeader("Sec-WebSocket-Key")?.Trim();
        if (!IsValidKey(key))
        {
            return Refuse(400, "bad_key", "missing or invalid Sec-WebSocket-Key", out refusedReason);
        }

        string? origin = request.GetHeader("Origin");
        if (origin is not null && options.AllowedOrigins.Count > 0
            && !options.AllowedOrigins.Any(o => string.Equals(o, origin, StringComparison.OrdinalIgnoreCase)))
        {
            return Refuse(403, "origin", "origin not allowed", out refusedReason);
        }

        bool offered = false;
        foreach (string p in request.GetHeaderTokens("Sec-WebSocket-Protocol"))
        {
            offered = true;
            if (p == SubProtocol)
            {
                subProtocol = SubProtocol;
            }
        }

        if (offered && subProtocol is null)
        {
            return Refuse(400, "subprotocol", "no supported subprotocol offered (connmsg.v1)", out refusedReason);
        }

        accept = ComputeAccept(key!);
        return null;
    }

    /// <summary>Sec-WebSocket-Accept: base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2).</summary>
    public static string ComputeAccept(string key)
    {
        Span<byte> input = stackalloc byte[64];
        int n = Encoding.ASCII.GetBytes(key, input);
        Guid.CopyTo(input[n..]);
        Span<byte> hash = stackalloc byte[20];
        SHA1.HashData(input[..(n + Guid.Length)], hash);
        return Convert.ToBase64String(hash);
    }

    private static bool IsValidKey(string? key)
    {
        // A base64-encoded 16-byte value is exactly 24 characters.
        if (key is null || key.Length != 24)
        {
            return false;
        }

        Span<byte> decoded = stackalloc byte[18];
        return Convert.TryFromBase64String(key, decoded, out int written) && written == 16;
    }

    private static HttpResponse Refuse(int status, string reasonKey, string line, out string refusedReason)
    {
        refusedReason = reasonKey;
        return HttpResponse.Text(status, line);
    }
}
