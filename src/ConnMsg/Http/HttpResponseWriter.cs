using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace ConnMsg.Http;

/// <summary>Writes HTTP/1.1 responses for the handshake and for plain requests on the WebSocket port.</summary>
internal static class HttpResponseWriter
{
    public static void WriteResponse(PipeWriter output, HttpResponse response, bool headOnly)
    {
        var head = new StringBuilder(256);
        head.Append("HTTP/1.1 ").Append(response.Status).Append(' ').Append(ReasonPhrase(response.Status)).Append("\r\n");
        head.Append("Content-Type: ").Append(response.ContentType).Append("\r\n");
        head.Append("Content-Length: ").Append(response.Body.Length).Append("\r\n");
        head.Append("Cache-Control: no-store\r\n");
        foreach (KeyValuePair<string, string> h in response.Headers)
        {
            head.Append(h.Key).Append(": ").Append(h.Value).Append("\r\n");
        }

        // One request per TCP connection outside WebSocket: simpler and bounded, at the cost of keep-alive for scrapes.
        head.Append("Connection: close\r\n\r\n");
        Write(output, head.ToString());
        if (!headOnly)
        {
            output.Write(response.Body.Span);
        }
    }

    /// <summary>Writes the 101 for a key that <see cref="WebSocketHandshake.Validate"/> accepted, as bytes: no string per handshake.</summary>
    public static void WriteSwitchingProtocols(PipeWriter output, string key, string? subProtocol)
    {
        ReadOnlySpan<byte> head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "u8;
        ReadOnlySpan<byte> protocol = "\r\nSec-WebSocket-Protocol: "u8;
        Span<byte> span = output.GetSpan(head.Length + WebSocketHandshake.AcceptLength + protocol.Length + (subProtocol?.Length ?? 0) + 4);
        head.CopyTo(span);
        int n = head.Length;
        n += WebSocketHandshake.WriteAccept(key, span[n..]);
        if (subProtocol is not null)
        {
            protocol.CopyTo(span[n..]);
            n += protocol.Length;
            n += Encoding.ASCII.GetBytes(subProtocol, span[n..]);
        }

        "\r\n\r\n"u8.CopyTo(span[n..]);
        output.Advance(n + 4);
    }

    private static void Write(PipeWriter output, string ascii)
    {
        Span<byte> span = output.GetSpan(ascii.Length);
        int n = Encoding.ASCII.GetBytes(ascii, span);
        output.Advance(n);
    }

    private static string ReasonPhrase(int status) => status switch
    {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        // The reason phrase is optional (RFC 9112 §4: a client should ignore it); for a status without one here, an
        // application's static content, it is left empty rather than made up.
        _ => "",
    };
}
