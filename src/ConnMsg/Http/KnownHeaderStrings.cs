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
        "websocket", "keep-alive, Upgrade", "13", "no-cache", "gzip, deflate, br, zstd",
        "permessage-deflate; client_max_window_bits", "permessage-deflate",
    ];

    /// <summary>The shared string equal to <paramref name="bytes"/> (Latin-1), or a new one.</summary>
    public static string Get(ReadOnlySpan<byte> bytes)
    {
        foreach (string known in s_known)
        {
            if (known.Length == bytes.Length && Ascii.Equals(bytes, known))
            {
                return known;
            }
        }

        return Encoding.Latin1.GetString(bytes);
    }
}
