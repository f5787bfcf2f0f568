using System.Text;

namespace ConnMsg.Http;

/// <summary>
/// Shared strings for the header names and values nearly every upgrade request carries, spelled as clients send them.
/// </summary>
/// <remarks>
/// The request head lives as long as its connection (handlers read it through <c>ConnMsgConnection.Request</c>),
/// so a fresh string per name and per common value is memory every held connection pays for, about half a KiB on a
/// minimal handshake. Matching is exact (case-sensitive): a head keeps the names as sent.
/// </remarks>
internal static class KnownHeaderStrings
{
    private static readonly string[] s_known =
    [
        "Host", "host", "Upgrade", "upgrade", "Connection", "connection", "Origin", "origin",
        "Sec-WebSocket-Key", "sec-websocket-key", "Sec-WebSocket-Version", "sec-websocket-version",
        "Sec-WebSocket-Protocol", "sec-websocket-protocol", "Sec-WebSocket-Extensions", "sec-websocket-extensions",
        "User-Agent", "user-agent", "Accept-Encoding", "accept-encoding", "Accept-Language", "accept-language",
        "Cache-Control", "cache-control", "Pragma", "pragma", "Cookie", "cookie", "Authorization", "authorization",
        "websocket", "keep-alive, Upgrade", "13", "no-cache", "gzip, deflate, br, zstd", WebSocketHandshake.SubProtocol,
        "permessage-deflate; client_max_window_bits", "permessage-deflate",
    ];

    /// <summary>The shared string equal to <paramref name="bytes"/> (Latin-1), or a new one.</summary>
    public static string Get(ReadOnlySpan<byte> bytes)
    {
        foreach (string candidate in s_known)
        {
            if (candidate.Length == bytes.Length && Ascii.Equals(bytes, candidate))
            {
                return candidate;
            }
        }

        return Encoding.Latin1.GetString(bytes);
    }

    private static string? s_lastHost;
    private static string? s_lastOrigin;
    private static string? s_lastUserAgent;
    private static string? s_lastTarget;

    /// <summary>The method as a shared string when it is one a client of this server sends.</summary>
    public static string Method(ReadOnlySpan<byte> bytes) =>
        bytes.SequenceEqual("GET"u8) ? "GET" : bytes.SequenceEqual("HEAD"u8) ? "HEAD" : Encoding.ASCII.GetString(bytes);

    /// <summary>
    /// The request target, shared with the previous request's when they are the same. One with a query is not
    /// remembered: browsers cannot set headers on a WebSocket, so a query is where their tokens go.
    /// </summary>
    public static string Target(ReadOnlySpan<byte> bytes) =>
        bytes.Contains((byte)'?') ? Encoding.ASCII.GetString(bytes) : Recent(ref s_lastTarget, bytes);

    /// <summary>
    /// A header's value: for Host, Origin and User-Agent the previous request's string when it is the same value (a
    /// gateway's clients mostly send one of each, and no list of known values can hold a deployment's host name),
    /// otherwise a known one. Other headers, credentials among them, are never remembered beyond their own request.
    /// </summary>
    public static string Value(string name, ReadOnlySpan<byte> bytes) => name.Length switch
    {
        4 when string.Equals(name, "Host", StringComparison.OrdinalIgnoreCase) => Recent(ref s_lastHost, bytes),
        6 when string.Equals(name, "Origin", StringComparison.OrdinalIgnoreCase) => Recent(ref s_lastOrigin, bytes),
        10 when string.Equals(name, "User-Agent", StringComparison.OrdinalIgnoreCase) => Recent(ref s_lastUserAgent, bytes),
        _ => Get(bytes),
    };

    private static string Recent(ref string? slot, ReadOnlySpan<byte> bytes)
    {
        string? last = Volatile.Read(ref slot);
        if (last is not null && last.Length == bytes.Length && Ascii.Equals(bytes, last))
        {
            return last;
        }

        string fresh = Encoding.Latin1.GetString(bytes);
        Volatile.Write(ref slot, fresh);
        return fresh;
    }
}
