using System.Net.Sockets;
using System.Text;

namespace ConnMsg.Tests.Http;

/// <summary>An HTTP response as read off a raw socket.</summary>
public sealed record RawHttpResponse(int Status, IReadOnlyList<KeyValuePair<string, string>> Headers, string Body, string Head)
{
    public string? Header(string name) => Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;
}

/// <summary>Sends hand-written HTTP/1.1 requests over a raw <see cref="TcpClient"/> and reads the whole answer.</summary>
public static class RawHttp
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public static string UpgradeRequest(int port, string? protocol = "connmsg.v1", string method = "GET", string path = "/ws",
        string? key = "dGhlIHNhbXBsZSBub25jZQ==", string? version = "13", string? upgrade = "websocket", string? connection = "Upgrade",
        string? origin = null, string extra = "")
    {
        var sb = new StringBuilder();
        sb.Append($"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
        if (upgrade is not null) sb.Append($"Upgrade: {upgrade}\r\n");
        if (connection is not null) sb.Append($"Connection: {connection}\r\n");
        if (key is not null) sb.Append($"Sec-WebSocket-Key: {key}\r\n");
        if (version is not null) sb.Append($"Sec-WebSocket-Version: {version}\r\n");
        if (protocol is not null) sb.Append($"Sec-WebSocket-Protocol: {protocol}\r\n");
        if (origin is not null) sb.Append($"Origin: {origin}\r\n");
        sb.Append(extra);
        sb.Append("\r\n");
        return sb.ToString();
    }

    /// <summary>Sends <paramref name="request"/> and reads the response head (and for non-101, the body up to Content-Length).</summary>
    public static async Task<RawHttpResponse> SendAsync(int port, string request)
    {
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, port);
        NetworkStream stream = tcp.GetStream();
        using var cts = new CancellationTokenSource(Timeout);
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request), cts.Token);
        return await ReadResponseAsync(stream, cts.Token);
    }

    public static async Task<RawHttpResponse> ReadResponseAsync(Stream stream, CancellationToken cancellationToken)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (!(bytes.Count >= 4 && bytes[^4] == '\r' && bytes[^3] == '\n' && bytes[^2] == '\r' && bytes[^1] == '\n'))
        {
            if (await stream.ReadAsync(one, cancellationToken) == 0)
            {
                throw new EndOfStreamException("incomplete response: " + Encoding.Latin1.GetString(bytes.ToArray()));
            }

            bytes.Add(one[0]);
        }

        string head = Encoding.Latin1.GetString(bytes.ToArray());
        string[] lines = head.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        string[] status = lines[0].Split(' ', 3);
        Assert.Equal("HTTP/1.1", status[0]);
        var headers = lines.Skip(1).Select(l =>
        {
            int colon = l.IndexOf(':');
            return new KeyValuePair<string, string>(l[..colon], l[(colon + 1)..].Trim());
        }).ToList();
        var response = new RawHttpResponse(int.Parse(status[1]), headers, string.Empty, head);
        if (response.Status == 101 || response.Header("Content-Length") is not { } lengthText)
        {
            return response;
        }

        var body = new byte[int.Parse(lengthText)];
        await stream.ReadExactlyAsync(body, cancellationToken);
        return response with { Body = Encoding.UTF8.GetString(body) };
    }
}
