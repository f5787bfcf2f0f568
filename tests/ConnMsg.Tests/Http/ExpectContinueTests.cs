using System.Net;
using System.Net.Sockets;
using System.Text;
using ConnMsg.Tests.Infrastructure;

namespace ConnMsg.Tests.Http;

/// <summary>
/// RFC 9110 §10.1.1: a client that sends <c>Expect: 100-continue</c> may hold its body until it sees a 100, and a server
/// that answers with a final status instead may close without it. The server never sends 100 and closes after every plain
/// answer, so it does not wait for a body that has not begun to arrive; one that has begun is being sent, and is read to
/// its end like any other so that the rest of it draws no reset.
/// </summary>
public sealed class ExpectContinueTests
{
    private const string SampleKey = "dGhlIHNhbXBsZSBub25jZQ==";

    // Far beyond how long the client waits: a close that comes at all came without waiting for the handshake timeout.
    private static readonly TimeSpan LongHandshakeTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    public static TheoryData<string, int> HeldBodies() => new()
    {
        { "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n", 404 },
        { "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n", 404 },
        { "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n", 200 },
        // An upgrade that declares a body is refused; its client, too, may be holding the body back.
        { $"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {SampleKey}\r\nSec-WebSocket-Version: 13\r\nContent-Length: 5\r\n", 400 },
    };

    [Theory]
    [MemberData(nameof(HeldBodies))]
    public async Task AClientHoldingItsBodyUntil100ContinueGetsItsAnswerAndTheCloseWithoutSendingIt(string head, int status)
    {
        await using TestServer server = await TestServer.StartAsync(o => o.HandshakeTimeout = LongHandshakeTimeout);
        using var tcp = await ConnectAsync(server.Port);
        NetworkStream stream = tcp.GetStream();
        using var cts = new CancellationTokenSource(Patience);
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"{head}Expect: 100-continue\r\n\r\n"), cts.Token);

        RawHttpResponse r = await RawHttp.ReadResponseAsync(stream, cts.Token);
        Assert.Equal(status, r.Status);
        Assert.Equal("close", r.Header("Connection"));
        // The body was never sent, and the server ends the connection with a FIN: it did not wait for it.
        Assert.Equal(0, await stream.ReadAsync(new byte[1], cts.Token));
    }

    private const int Part = 4096, PartsAfterTheAnswer = 16;

    public static TheoryData<string, string, string> BegunBodies() => new()
    {
        // The body in parts of 4 KiB: the first sent with the head, the others after the answer, then the end, if any.
        { "Content-Length: " + (Part * (PartsAfterTheAnswer + 1)) + "\r\n", new string('a', Part), string.Empty },
        { "Transfer-Encoding: chunked\r\n", $"{Part:x}\r\n{new string('a', Part)}\r\n", "0\r\n\r\n" },
    };

    [Theory]
    [MemberData(nameof(BegunBodies))]
    public async Task ABodyBegunWithoutWaitingFor100ContinueIsReadToItsEndBeforeTheClose(string framing, string part, string end)
    {
        // Many clients send the body at once despite the Expect (curl does after a second without a 100). What has come
        // shows the client is sending, not holding back: the server waits for the rest, and the rest draws no reset.
        await using TestServer server = await TestServer.StartAsync(o => o.HandshakeTimeout = LongHandshakeTimeout);
        using var tcp = await ConnectAsync(server.Port);
        NetworkStream stream = tcp.GetStream();
        using var cts = new CancellationTokenSource(Patience);
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /upload HTTP/1.1\r\nHost: x\r\n{framing}Expect: 100-continue\r\n\r\n{part}"), cts.Token);

        RawHttpResponse r = await RawHttp.ReadResponseAsync(stream, cts.Token);
        Assert.Equal(404, r.Status);
        for (int i = 0; i < PartsAfterTheAnswer; i++)
        {
            // The reset that a part arriving after the close draws fails a later write (broken pipe or connection reset).
            await stream.WriteAsync(Encoding.ASCII.GetBytes(part), cts.Token);
        }

        await stream.WriteAsync(Encoding.ASCII.GetBytes(end), cts.Token);
        Assert.Equal(0, await stream.ReadAsync(new byte[1], cts.Token)); // then a FIN: a reset throws here
    }

    private static async Task<TcpClient> ConnectAsync(int port)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        return tcp;
    }
}
