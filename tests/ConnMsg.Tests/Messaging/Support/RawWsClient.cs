using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace ConnMsg.Tests.Messaging.Support;

/// <summary>
/// A WebSocket client over a bare <see cref="TcpClient"/> with a small receive buffer: the test decides when (and
/// whether) bytes are read from the socket, which <see cref="System.Net.WebSockets.ClientWebSocket"/>'s internal
/// buffering does not allow. Used to play a consumer that stops reading.
/// </summary>
public sealed class RawWsClient : IDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly byte[] _buffer = new byte[256 * 1024];
    private int _start;
    private int _end;

    private RawWsClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<RawWsClient> ConnectAsync(Uri wsUri, int receiveBufferSize = 4096)
    {
        var tcp = new TcpClient { ReceiveBufferSize = receiveBufferSize, NoDelay = true };
        await tcp.ConnectAsync(wsUri.Host, wsUri.Port);
        var client = new RawWsClient(tcp);
        string key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        string head = $"GET {wsUri.AbsolutePath} HTTP/1.1\r\nHost: {wsUri.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                      $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: connmsg.v1\r\n\r\n";
        await client._stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        string response = await client.ReadHeadAsync();
        Assert.StartsWith("HTTP/1.1 101", response);
        return client;
    }

    /// <summary>Sends one masked text frame.</summary>
    public Task SendTextAsync(string text) => SendTextsAsync(text);

    /// <summary>Sends masked text frames, one per text, in a single write: the server reads them in one batch.</summary>
    public async Task SendTextsAsync(params string[] texts)
    {
        using var frames = new MemoryStream();
        Span<byte> len = stackalloc byte[2];
        foreach (string text in texts)
        {
            byte[] payload = Encoding.UTF8.GetBytes(text);
            frames.WriteByte(0x81);
            if (payload.Length < 126)
            {
                frames.WriteByte((byte)(0x80 | payload.Length));
            }
            else
            {
                frames.WriteByte(0x80 | 126);
                BinaryPrimitives.WriteUInt16BigEndian(len, (ushort)payload.Length);
                frames.Write(len);
            }

            byte[] mask = RandomNumberGenerator.GetBytes(4);
            frames.Write(mask);
            for (int i = 0; i < payload.Length; i++)
            {
                payload[i] ^= mask[i % 4];
            }

            frames.Write(payload);
        }

        await _stream.WriteAsync(frames.ToArray());
    }

    /// <summary>Reads the next whole frame (the server never fragments its small messages): its opcode and payload.</summary>
    public async Task<(int Opcode, byte[] Payload)> ReadFrameAsync(CancellationToken cancellationToken)
    {
        await FillAsync(2, cancellationToken);
        int opcode = _buffer[_start] & 0x0F;
        long length = _buffer[_start + 1] & 0x7F;
        int header = 2;
        if (length == 126)
        {
            await FillAsync(4, cancellationToken);
            length = BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(_start + 2));
            header = 4;
        }
        else if (length == 127)
        {
            await FillAsync(10, cancellationToken);
            length = (long)BinaryPrimitives.ReadUInt64BigEndian(_buffer.AsSpan(_start + 2));
            header = 10;
        }

        Assert.True(header + length <= _buffer.Length, $"frame of {length} bytes is larger than this client's buffer");
        await FillAsync(header + (int)length, cancellationToken);
        byte[] payload = _buffer.AsSpan(_start + header, (int)length).ToArray();
        _start += header + (int)length;
        return (opcode, payload);
    }

    /// <summary>Reads frames until the server's close frame; returns its status code.</summary>
    public async Task<int> ReadUntilCloseAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            (int opcode, byte[] payload) = await ReadFrameAsync(cts.Token);
            if (opcode == 0x8)
            {
                return payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(payload) : 1005;
            }
        }
    }

    private async Task<string> ReadHeadAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            int end = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                string head = Encoding.ASCII.GetString(_buffer, _start, end);
                _start += end + 4;
                return head;
            }

            await FillAsync(_end - _start + 1, cts.Token);
        }
    }

    private async Task FillAsync(int needed, CancellationToken cancellationToken)
    {
        while (_end - _start < needed)
        {
            if (_start > 0 && _buffer.Length - _start < needed)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            int n = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (n == 0)
            {
                throw new EndOfStreamException("the server closed the TCP connection");
            }

            _end += n;
        }
    }

    public void Dispose() => _tcp.Dispose();
}
