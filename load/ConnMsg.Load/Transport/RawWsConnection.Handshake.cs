using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace ConnMsg.Load.Transport;

public sealed partial class RawWsConnection
{
    private const string Rfc6455Guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private async Task HandshakeAsync(WsTarget target, CancellationToken cancellationToken)
    {
        // The handshake happens once per connection, so plain strings are fine here.
        string key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        string request =
            $"GET {target.Path} HTTP/1.1\r\nHost: {target.Host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: connmsg.v1\r\n\r\n";
        byte[] requestBytes = Encoding.ASCII.GetBytes(request);
        await _socket.SendAsync(requestBytes, SocketFlags.None, cancellationToken);

        int headerEnd;
        while ((headerEnd = _receive.AsSpan(0, _receiveEnd).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (_receiveEnd == _receive.Length)
            {
                Array.Resize(ref _receive, _receive.Length * 2);
            }

            int n = await _socket.ReceiveAsync(_receive.AsMemory(_receiveEnd), SocketFlags.None, cancellationToken);
            if (n == 0)
            {
                throw new IOException("the server closed the connection during the handshake");
            }

            _receiveEnd += n;
        }

        string response = Encoding.ASCII.GetString(_receive, 0, headerEnd);
        string[] lines = response.Split("\r\n");
        if (!lines[0].StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
        {
            throw new IOException($"upgrade refused: {lines[0]}");
        }

        string expectedAccept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + Rfc6455Guid)));
        bool acceptOk = false;
        foreach (string line in lines.AsSpan(1))
        {
            int colon = line.IndexOf(':');
            if (colon <= 0)
            {
                continue;
            }

            ReadOnlySpan<char> name = line.AsSpan(0, colon).Trim();
            ReadOnlySpan<char> value = line.AsSpan(colon + 1).Trim();
            if (name.Equals("Sec-WebSocket-Accept", StringComparison.OrdinalIgnoreCase))
            {
                acceptOk = value.SequenceEqual(expectedAccept);
            }
            else if (name.Equals("Sec-WebSocket-Protocol", StringComparison.OrdinalIgnoreCase))
            {
                SubProtocol = value.ToString();
            }
        }

        if (!acceptOk)
        {
            throw new IOException("upgrade answered with a wrong or missing Sec-WebSocket-Accept");
        }

        // Whatever followed the headers (the $session Ind, typically) is the start of the frame stream.
        _receiveStart = headerEnd + 4;
    }
}
