using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ConnMsg.Hosting;
using ConnMsg.Tests.Infrastructure;

namespace ConnMsg.Tests.Http;

/// <summary>
/// RFC 9112 §6.3, §7.1 and §9.6 for a request the server answers without an upgrade while it declares a chunked body:
/// the body is read to its last chunk and dropped before the connection closes, so that no request byte arrives after
/// the close and draws a reset that can cost the client its answer; a body over the limit, broken framing or a client
/// that stops sending ends the reading at once or at the handshake timeout, never later.
/// </summary>
public sealed class ChunkedRequestBodyTests
{
    private const string SampleKey = "dGhlIHNhbXBsZSBub25jZQ==";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    public static TheoryData<string, int> Requests() => new()
    {
        { "POST /upload HTTP/1.1\r\nHost: x\r\n", 404 },
        { $"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {SampleKey}\r\nSec-WebSocket-Version: 13\r\n", 400 },
        // Transfer-Encoding overrides Content-Length (§6.3 rule 4): the chunks are what the client sends.
        { "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n", 404 },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task AChunkedBodyIsReadToItsEndBeforeTheConnectionCloses(string head, int status)
    {
        // The body follows the answer, as it does over a slow link; extensions and a trailer field are framing to read past.
        await using TestServer server = await TestServer.StartAsync();
        using var tcp = await ConnectAsync(server.Port);
        NetworkStream stream = tcp.GetStream();
        using var cts = new CancellationTokenSource(Patience);
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"{head}Transfer-Encoding: gzip, chunked\r\n\r\n"), cts.Token);

        RawHttpResponse r = await RawHttp.ReadResponseAsync(stream, cts.Token);
        Assert.Equal(status, r.Status);
        Assert.Equal("close", r.Header("Connection"));
        for (int i = 0; i < 16; i++)
        {
            // A reset fails a write here (broken pipe or connection reset).
            await stream.WriteAsync(Encoding.ASCII.GetBytes(i % 2 == 0 ? "1000\r\n" : "1000;part=odd\r\n"), cts.Token);
            await stream.WriteAsync(new byte[0x1000], cts.Token);
            await stream.WriteAsync("\r\n"u8.ToArray(), cts.Token);
        }

        await stream.WriteAsync("0\r\nChecksum: 1234\r\n\r\n"u8.ToArray(), cts.Token);
        Assert.Equal(0, await stream.ReadAsync(new byte[1], cts.Token)); // then a FIN: a reset throws here
    }

    public static TheoryData<string, string> EndsWithoutWaiting() => new()
    {
        // The declared size alone is over the limit: none of its data is waited for.
        { "over the limit in one chunk", $"{ConnMsgConnectionHandler.MaxDiscardedBodyBytes:x}\r\n" },
        // Each chunk fits, the body does not: the second's size line takes it over.
        { "over the limit in two chunks", $"{ConnMsgConnectionHandler.MaxDiscardedBodyBytes - 16:x}\r\n{new string('a', (int)ConnMsgConnectionHandler.MaxDiscardedBodyBytes - 16)}\r\n20\r\n" },
        { "size not in hex", "zz\r\n" },
        { "data not followed by CRLF", "3\r\nabcd" },
        { "size line ended by a bare LF", "3\n" },
    };

    [Theory]
    [MemberData(nameof(EndsWithoutWaiting))]
    public async Task AChunkedBodyOverTheLimitOrWithBrokenFramingIsNotWaitedFor(string why, string body)
    {
        // Not a test that failed before the body was read: it guards the reading, which must stop at once here rather
        // than wait for the rest of a body it will not take (the handshake timeout is far beyond the client's patience).
        _ = why;
        await using TestServer server = await TestServer.StartAsync(o => o.HandshakeTimeout = TimeSpan.FromSeconds(60));
        using var tcp = await ConnectAsync(server.Port);
        NetworkStream stream = tcp.GetStream();
        using var cts = new CancellationTokenSource(Patience);
        await stream.WriteAsync(Encoding.ASCII.GetBytes("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"), cts.Token);
        RawHttpResponse r = await RawHttp.ReadResponseAsync(stream, cts.Token);
        Assert.Equal(404, r.Status);

        await stream.WriteAsync(Encoding.ASCII.GetBytes(body), cts.Token);
        await AssertEndsAsync(stream, cts.Token);
    }

    [Fact]
    public async Task AChunkedBodyThatStopsArrivingIsWaitedForUntilTheHandshakeTimeoutAndNoLonger()
    {
        var timeout = TimeSpan.FromMilliseconds(500);
        await using TestServer server = await TestServer.StartAsync(o => o.HandshakeTimeout = timeout);
        using var tcp = await ConnectAsync(server.Port);
        NetworkStream stream = tcp.GetStream();
        using var cts = new CancellationTokenSource(Patience);
        var clock = Stopwatch.StartNew();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"), cts.Token);
        RawHttpResponse r = await RawHttp.ReadResponseAsync(stream, cts.Token);
        Assert.Equal(404, r.Status);

        await AssertEndsAsync(stream, cts.Token);
        clock.Stop();
        // The rest of the chunk is waited for (a reset could follow it otherwise), for as long as the handshake may take.
        Assert.InRange(clock.Elapsed, timeout * 0.8, Patience);
    }

    private static async Task<TcpClient> ConnectAsync(int port)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        return tcp;
    }

    /// <summary>The server ends the connection: a FIN, or a reset where bytes it left unread were still arriving.</summary>
    private static async Task AssertEndsAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        try
        {
            Assert.Equal(0, await stream.ReadAsync(buffer, cancellationToken));
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
        }
    }
}
