using System.Buffers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using ConnMsg.Tests.Infrastructure;

namespace ConnMsg.Tests.Transport;

/// <summary>
/// A WebSocket client written for breaking the rules: a raw <see cref="TcpClient"/> that does the handshake by hand,
/// then writes whatever bytes a test wants and decodes the server's frames itself.
/// </summary>
/// <remarks>Not thread-safe: one test drives it.</remarks>
public sealed class RawWebSocket : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly byte[] _readBuffer = new byte[128 * 1024];
    private ReadOnlySequence<byte> _unread = ReadOnlySequence<byte>.Empty;

    private RawWebSocket(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    /// <summary>The response head of the handshake.</summary>
    public string HandshakeResponse { get; private set; } = string.Empty;

    /// <summary>The $session Ind, when it was read.</summary>
    public string? Session { get; private set; }

    public Socket Socket => _tcp.Client;

    public static async Task<RawWebSocket> ConnectAsync(TestServer server, string? subProtocol = "connmsg.v1", bool readSession = true)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, server.Port);
        var ws = new RawWebSocket(tcp);
        string key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        string request = $"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{server.Port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                         $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n" +
                         (subProtocol is null ? "" : $"Sec-WebSocket-Protocol: {subProtocol}\r\n") + "\r\n";
        await ws.SendAsync(Encoding.ASCII.GetBytes(request));
        ws.HandshakeResponse = await ws.ReadHeadAsync();
        if (!ws.HandshakeResponse.StartsWith("HTTP/1.1 101 ", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("handshake refused: " + ws.HandshakeResponse);
        }

        if (readSession)
        {
            ServerFrame session = await ws.ReceiveFrameAsync();
            Assert.Equal(ClientFrames.Text, session.Opcode);
            ws.Session = session.Text;
        }

        return ws;
    }

    public async Task SendAsync(byte[] bytes)
    {
        using var cts = new CancellationTokenSource(DefaultTimeout);
        await _stream.WriteAsync(bytes, cts.Token);
    }

    public Task SendFrameAsync(byte opcode, byte[] payload, bool fin = true, int rsv = 0, bool masked = true) =>
        SendAsync(ClientFrames.Frame(opcode, payload, fin, rsv, masked));

    public Task SendTextAsync(string text, bool fin = true) => SendAsync(ClientFrames.TextFrame(text, fin));

    /// <summary>The next frame from the server; throws <see cref="EndOfStreamException"/> if the connection ends first.</summary>
    public async Task<ServerFrame> ReceiveFrameAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            if (ServerFrame.TryParse(ref _unread, out ServerFrame? frame))
            {
                return frame!;
            }

            int n = await _stream.ReadAsync(_readBuffer, cts.Token);
            if (n == 0)
            {
                throw new EndOfStreamException("the server closed the TCP connection; unparsed bytes: " + _unread.Length);
            }

            _unread = new ReadOnlySequence<byte>([.. _unread.ToArray(), .. _readBuffer.AsSpan(0, n)]);
        }
    }

    /// <summary>Reads frames until the server's close frame and returns it; data and ping frames before it are skipped.</summary>
    public async Task<ServerFrame> ReceiveCloseAsync(TimeSpan? timeout = null)
    {
        while (true)
        {
            ServerFrame frame = await ReceiveFrameAsync(timeout);
            if (frame.IsClose)
            {
                return frame;
            }
        }
    }

    /// <summary>The close code of the server's close frame (null when the frame carries none).</summary>
    public async Task<ushort?> ReceiveCloseCodeAsync(TimeSpan? timeout = null) => (await ReceiveCloseAsync(timeout)).CloseCode;

    /// <summary>Reads the next text message (skipping pings/pongs), for requests and answers.</summary>
    public async Task<string> ReceiveTextAsync(TimeSpan? timeout = null)
    {
        while (true)
        {
            ServerFrame frame = await ReceiveFrameAsync(timeout);
            if (frame.Opcode == ClientFrames.Text)
            {
                Assert.True(frame.Fin, "the server fragments nothing");
                return frame.Text;
            }

            Assert.False(frame.IsClose, "unexpected close " + frame.CloseCode);
        }
    }

    /// <summary>
    /// True once the server has ended the TCP connection (EOF, or a reset after it closed with our bytes unread), after
    /// discarding any frames still in flight; false if it is still open after <paramref name="timeout"/>.
    /// </summary>
    public async Task<bool> ServerClosesTcpAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            while (true)
            {
                int n = await _stream.ReadAsync(_readBuffer, cts.Token);
                if (n == 0)
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    private async Task<string> ReadHeadAsync()
    {
        using var cts = new CancellationTokenSource(DefaultTimeout);
        var head = new List<byte>();
        var one = new byte[1];
        // Byte by byte: the server may send the $session frame in the same segment as the 101.
        while (!(head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (await _stream.ReadAsync(one, cts.Token) == 0)
            {
                throw new EndOfStreamException("no handshake response: " + Encoding.ASCII.GetString(head.ToArray()));
            }

            head.Add(one[0]);
        }

        return Encoding.ASCII.GetString(head.ToArray());
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return default;
    }
}
