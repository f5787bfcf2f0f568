using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;

namespace ConnMsg.Client.Internal;

/// <summary>The client side of the RFC 6455 §4.1 opening handshake: builds the upgrade request, validates the 101 answer.</summary>
/// <remarks>Stateless and thread-safe. Runs once per connection, so it favours clarity over avoiding allocations.</remarks>
internal static class WebSocketHandshake
{
    /// <summary>An answer's header block larger than this is refused.</summary>
    public const int MaxResponseHeaderBytes = 16 * 1024;

    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    /// <summary>A fresh random 16-byte key, base64 encoded (§4.1: "randomly selected for each connection").</summary>
    public static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));

    public static byte[] BuildRequest(Uri uri, string key, string subProtocol)
    {
        string host = uri.GetComponents(UriComponents.Host | UriComponents.Port, UriFormat.UriEscaped);
        var request = new StringBuilder(256)
            .Append("GET ").Append(uri.PathAndQuery).Append(" HTTP/1.1\r\n")
            .Append("Host: ").Append(host).Append("\r\n")
            .Append("Upgrade: websocket\r\n")
            .Append("Connection: Upgrade\r\n")
            .Append("Sec-WebSocket-Key: ").Append(key).Append("\r\n")
            .Append("Sec-WebSocket-Version: 13\r\n")
            .Append("Sec-WebSocket-Protocol: ").Append(subProtocol).Append("\r\n")
            .Append("\r\n");
        return Encoding.ASCII.GetBytes(request.ToString());
    }

    /// <summary>The length of the header block including its final CRLF CRLF, or -1 while it is incomplete.</summary>
    public static int FindEnd(ReadOnlySpan<byte> received)
    {
        int index = received.IndexOf("\r\n\r\n"u8);
        return index < 0 ? -1 : index + 4;
    }

    public static string ExpectedAccept(string key) => Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + AcceptGuid)));

    /// <summary>Validates the server's answer (§4.1, the client's checks 1–6) and returns the selected subprotocol, if any.</summary>
    /// <exception cref="WebSocketException">Anything but a valid 101 for our key.</exception>
    public static string? Validate(ReadOnlySpan<byte> headerBlock, string key, string offeredSubProtocol)
    {
        string text = Encoding.Latin1.GetString(headerBlock);
        string[] lines = text.Split("\r\n");
        string[] status = lines[0].Split(' ', 3);
        if (status.Length < 2 || !status[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || !int.TryParse(status[1], out int code))
        {
            throw new WebSocketException(WebSocketError.HeaderError, "The server's answer to the WebSocket upgrade is not HTTP/1.1.");
        }

        if (code != 101)
        {
            // The same wording as ClientWebSocket, so logs read the same whichever transport is used.
            throw new WebSocketException(WebSocketError.NotAWebSocket, $"The server returned status code '{code}' when status code '101' was expected.");
        }

        string? upgrade = null, connection = null, accept = null, protocol = null, extensions = null;
        for (int i = 1; i < lines.Length; i++)
        {
            string line = lines[i];
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var name = line.AsSpan(0, colon).Trim();
            string value = line[(colon + 1)..].Trim();
            if (name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase))
            {
                upgrade = value;
            }
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                connection = value;
            }
            else if (name.Equals("Sec-WebSocket-Accept", StringComparison.OrdinalIgnoreCase))
            {
                accept = value;
            }
            else if (name.Equals("Sec-WebSocket-Protocol", StringComparison.OrdinalIgnoreCase))
            {
                protocol = value;
            }
            else if (name.Equals("Sec-WebSocket-Extensions", StringComparison.OrdinalIgnoreCase))
            {
                extensions = value;
            }
        }

        if (!string.Equals(upgrade, "websocket", StringComparison.OrdinalIgnoreCase))
        {
            throw new WebSocketException(WebSocketError.HeaderError, "The server's 101 answer lacks 'Upgrade: websocket'.");
        }

        if (connection is null || !connection.Split(',').Any(t => t.Trim().Equals("Upgrade", StringComparison.OrdinalIgnoreCase)))
        {
            throw new WebSocketException(WebSocketError.HeaderError, "The server's 101 answer lacks 'Connection: Upgrade'.");
        }

        if (accept != ExpectedAccept(key))
        {
            throw new WebSocketException(WebSocketError.HeaderError, "The server's Sec-WebSocket-Accept does not match the key sent.");
        }

        if (!string.IsNullOrEmpty(extensions))
        {
            throw new WebSocketException(WebSocketError.HeaderError, $"The server selected extensions '{extensions}' that were not offered.");
        }

        if (string.IsNullOrEmpty(protocol))
        {
            return null;
        }

        if (protocol != offeredSubProtocol)
        {
            throw new ConnMsgException($"The server selected subprotocol '{protocol}', not '{offeredSubProtocol}'.");
        }

        return protocol;
    }
}
