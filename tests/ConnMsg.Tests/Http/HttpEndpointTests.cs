using System.Net.Sockets;
using System.Text;
using ConnMsg.Http;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Transport;

namespace ConnMsg.Tests.Http;

/// <summary>PROTOCOL.md §2 and §7: the handshake and the plain HTTP answers on the WebSocket port, over a raw socket.</summary>
public class HttpEndpointTests : IClassFixture<RawServerFixture>
{
    private const string SampleKey = "dGhlIHNhbXBsZSBub25jZQ==";
    private const string SampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
    private readonly RawServerFixture _fixture;

    public HttpEndpointTests(RawServerFixture fixture) => _fixture = fixture;

    private int Port => _fixture.Server.Port;

    [Fact]
    public async Task UpgradeOfferingConnmsgV1Gets101WithAcceptAndTheSubprotocol()
    {
        RawHttpResponse r = await RawHttp.SendAsync(Port, RawHttp.UpgradeRequest(Port, protocol: "connmsg.v1"));
        Assert.Equal(101, r.Status);
        Assert.Equal("websocket", r.Header("Upgrade"), ignoreCase: true);
        Assert.Equal("Upgrade", r.Header("Connection"), ignoreCase: true);
        Assert.Equal(SampleAccept, r.Header("Sec-WebSocket-Accept"));
        Assert.Equal("connmsg.v1", r.Header("Sec-WebSocket-Protocol"));
    }

    [Fact]
    public async Task UpgradeOfferingSeveralSubprotocolsSelectsConnmsgV1()
    {
        RawHttpResponse r = await RawHttp.SendAsync(Port, RawHttp.UpgradeRequest(Port, protocol: "chat, connmsg.v1, other"));
        Assert.Equal(101, r.Status);
        Assert.Equal("connmsg.v1", r.Header("Sec-WebSocket-Protocol"));
    }

    [Fact]
    public async Task UpgradeOfferingNoSubprotocolGets101WithoutTheProtocolHeader()
    {
        RawHttpResponse r = await RawHttp.SendAsync(Port, RawHttp.UpgradeRequest(Port, protocol: null));
        Assert.Equal(101, r.Status);
        Assert.Equal(SampleAccept, r.Header("Sec-WebSocket-Accept"));
        Assert.Null(r.Header("Sec-WebSocket-Protocol"));
    }

    [Fact]
    public async Task UpgradeOfferingOnlyOtherSubprotocolsGets400()
    {
        RawHttpResponse r = await RawHttp.SendAsync(Port, RawHttp.UpgradeRequest(Port, protocol: "chat, connmsg.v2"));
        Assert.Equal(400, r.Status);
        Assert.Null(r.Header("Sec-WebSocket-Accept"));
    }

    [Theory]
    [InlineData("8")]
    [InlineData("14")]
    [InlineData(null)]
    [InlineData("13\u00a0")] // a no-break space is no optional whitespace (RFC 9110 §5.6.3): only SP and HTAB are
    [InlineData("\u008513")]
    public async Task UpgradeWithAnotherVersionGets426NamingVersion13(string? version)
    {
        RawHttpResponse r = await RawHttp.SendAsync(Port, RawHttp.UpgradeRequest(Port, version: version));
        Assert.Equal(426, r.Status);
        Assert.Equal("13", r.Header("Sec-WebSocket-Version"));
    }

    [Theory]
    [InlineData("missing key", null, "GET", "websocket", "Upgrade")]
    [InlineData("key not base64", "not base64 at all!!!!!!!", "GET", "websocket", "Upgrade")]
    [InlineData("key of 15 bytes", "AAAAAAAAAAAAAAAAAAAA", "GET", "websocket", "Upgrade")]
    [InlineData("key of 17 bytes", "AAAAAAAAAAAAAAAAAAAAAAA=", "GET", "websocket", "Upgrade")]
    [InlineData("key with a trailing no-break space", SampleKey + "\u00a0", "GET", "websocket", "Upgrade")]
    [InlineData("key with a leading next-line", "\u0085" + SampleKey, "GET", "websocket", "Upgrade")]
    [InlineData("key not in canonical base64 (padding bits set)", "AAAAAAAAAAAAAAAAAAAAAB==", "GET", "websocket", "Upgrade")]
    [InlineData("POST", SampleKey, "POST", "websocket", "Upgrade")]
    [InlineData("missing Upgrade", SampleKey, "GET", null, "Upgrade")]
    [InlineData("Upgrade not websocket", SampleKey, "GET", "h2c", "Upgrade")]
    [InlineData("missing Connection", SampleKey, "GET", "websocket", null)]
    [InlineData("Connection without Upgrade", SampleKey, "GET", "websocket", "keep-alive")]
    public async Task BadUpgradeRequestGets400WithAOneLineReason(string name, string? key, string method, string? upgrade, string? connection)
    {
        RawHttpResponse r = await RawHttp.SendAsync(Port, RawHttp.UpgradeRequest(Port, key: key, method: method, upgrade: upgrade, connection: connection));
        Assert.True(r.Status == 400, $"{name}: {r.Status}");
        Assert.Null(r.Header("Sec-WebSocket-Accept"));
        Assert.Single(r.Body.TrimEnd('\n').Split('\n'));
        Assert.NotEmpty(r.Body.Trim());
    }

    [Theory]
    [InlineData("GET /ws HTTP/1.1\nHost: localhost\n\n")]
    [InlineData("GET /ws HTTP/1.1\r\nHost: localhost\n\n")]
    [InlineData("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\n")]
    [InlineData("GET /ws HTTP/1.1\rHost: localhost\r\r")]
    public async Task RequestWhoseLinesDoNotEndWithCrlfGets400WithoutWaitingForTheHandshakeTimeout(string request)
    {
        // RFC 9112 §2.2. The default HandshakeTimeout (10 s) is longer than RawHttp waits (5 s): only a prompt 400 passes.
        RawHttpResponse r = await RawHttp.SendAsync(Port, request);
        Assert.Equal(400, r.Status);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public async Task EmptyLinesBeforeTheRequestLineAreIgnored(int emptyLines)
    {
        // RFC 9112 §2.2: a server that expects a request line SHOULD ignore at least one empty line (CRLF) before it.
        string crlfs = string.Concat(Enumerable.Repeat("\r\n", emptyLines));
        RawHttpResponse upgrade = await RawHttp.SendAsync(Port, crlfs + RawHttp.UpgradeRequest(Port));
        RawHttpResponse health = await RawHttp.SendAsync(Port, crlfs + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(101, upgrade.Status);
        Assert.Equal(SampleAccept, upgrade.Header("Sec-WebSocket-Accept"));
        Assert.Equal((200, "ok\n"), (health.Status, health.Body));
    }

    [Theory]
    [InlineData("\r\n\r\n\r\n\r\n\r\n")] // more empty lines than are ignored
    [InlineData("\n")]                    // a bare LF is no empty line, there as anywhere in the head
    [InlineData("\r\n\n")]
    public async Task WhatIsNotAnIgnoredEmptyLineBeforeTheRequestLineGets400(string before)
    {
        RawHttpResponse r = await RawHttp.SendAsync(Port, before + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal((400, "malformed request line\n"), (r.Status, r.Body));
    }

    [Theory]
    [InlineData("Content-Length: 5\r\n", "hello")]
    [InlineData("Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n")]
    [InlineData("Content-Length: 0\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n")]
    [InlineData("Content-Length: 0\r\nContent-Length: 5\r\n", "hello")]
    public async Task AnUpgradeWithARequestBodyIsRefusedWith400(string framing, string body)
    {
        // RFC 6455 §4.1 defines no body for the upgrade: one that is sent anyway would be read as the first frames, and a
        // proxy in front that reads the framing differently would disagree about where the WebSocket stream begins.
        RawHttpResponse r = await RawHttp.SendAsync(Port, RawHttp.UpgradeRequest(Port, extra: framing) + body);
        Assert.Equal(400, r.Status);
        Assert.Null(r.Header("Sec-WebSocket-Accept"));
    }

    [Theory]
    [InlineData("POST /upload HTTP/1.1\r\nHost: x\r\n", 404)]
    [InlineData("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + SampleKey +
        "\r\nSec-WebSocket-Version: 13\r\n", 400)]
    public async Task ARequestWithABodyIsAnsweredAndTheConnectionStaysUntilTheBodyHasArrived(string head, int status)
    {
        // RFC 9112 §9.6: request bytes that arrive after the server closed are answered with a reset, which can cost
        // the client the response it has not read yet; here the body is still on its way when the answer comes, as it
        // is over a slow link. The server reads (and discards) what the request declares before it closes.
        const int Chunk = 4096, Chunks = 16;
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, Port);
        NetworkStream stream = tcp.GetStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"{head}Content-Length: {Chunk * Chunks}\r\n\r\n"), cts.Token);

        RawHttpResponse r = await RawHttp.ReadResponseAsync(stream, cts.Token);
        Assert.Equal(status, r.Status);
        for (int i = 0; i < Chunks; i++)
        {
            // A reset fails a write here (broken pipe or connection reset).
            await stream.WriteAsync(new byte[Chunk], cts.Token);
        }

        Assert.Equal(0, await stream.ReadAsync(new byte[1], cts.Token)); // then a FIN: a reset throws here
    }

    [Fact]
    public async Task ADeclaredBodyOverTheLimitTheServerReadsIsNotWaitedFor()
    {
        // Nothing of the body is sent: the answer and the end of the connection come at once, not after the handshake
        // timeout (10 s by default, longer than RawHttp waits).
        long over = ConnMsg.Hosting.ConnMsgConnectionHandler.MaxDiscardedBodyBytes + 1;
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, Port);
        NetworkStream stream = tcp.GetStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {over}\r\n\r\n"), cts.Token);

        RawHttpResponse r = await RawHttp.ReadResponseAsync(stream, cts.Token);
        Assert.Equal(404, r.Status);
        Assert.Equal(0, await stream.ReadAsync(new byte[1], cts.Token));
    }

    [Fact]
    public async Task AnUpgradeDeclaringAnEmptyBodyIsAccepted()
    {
        RawHttpResponse r = await RawHttp.SendAsync(Port, RawHttp.UpgradeRequest(Port, extra: "Content-Length: 0\r\n"));
        Assert.Equal(101, r.Status);
    }

    [Theory]
    [InlineData("GET /healthz HTTP/1.1\r\n\r\n")]
    [InlineData("GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n")]
    [InlineData("GET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n")]
    [InlineData("GET /nope HTTP/1.1\r\n\r\n")]
    public async Task PlainRequestWithoutExactlyOneValidHostGets400(string request)
    {
        // RFC 9112 §3.2: every HTTP/1.1 request, not only the upgrade.
        RawHttpResponse r = await RawHttp.SendAsync(Port, request);
        Assert.Equal(400, r.Status);
    }

    [Fact]
    public async Task UpgradeTokensAreMatchedCaseInsensitively()
    {
        RawHttpResponse r = await RawHttp.SendAsync(Port, RawHttp.UpgradeRequest(Port, upgrade: "WebSocket", connection: "keep-alive, upgrade"));
        Assert.Equal(101, r.Status);
    }

    [Fact]
    public async Task UnknownPathGets404()
    {
        RawHttpResponse r = await RawHttp.SendAsync(Port, $"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(404, r.Status);
    }

    [Theory]
    [InlineData("Host: 127.0.0.1\r\n")]                                 // two Host fields (RFC 9112 §3.2)
    [InlineData("Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n")]     // two keys (RFC 6455 §11.3.1)
    [InlineData("Sec-WebSocket-Version: 13\r\n")]                       // two versions
    public async Task AnUpgradeWithARepeatedHeaderIsRefused(string repeated)
    {
        RawHttpResponse r = await RawHttp.SendAsync(Port, RawHttp.UpgradeRequest(Port, extra: repeated));
        Assert.InRange(r.Status, 400, 426);
    }

    [Fact]
    public async Task AnUpgradeWithAnInvalidHostIsRefusedWith400()
    {
        string request = RawHttp.UpgradeRequest(Port).Replace($"Host: 127.0.0.1:{Port}", "Host: a b/c");
        RawHttpResponse r = await RawHttp.SendAsync(Port, request);
        Assert.Equal(400, r.Status);
    }

    [Fact]
    public async Task AnUpgradeInAbsoluteFormIsAccepted()
    {
        string request = RawHttp.UpgradeRequest(Port).Replace("GET /ws HTTP/1.1", $"GET http://127.0.0.1:{Port}/ws HTTP/1.1");
        RawHttpResponse r = await RawHttp.SendAsync(Port, request);
        Assert.Equal(101, r.Status);
    }

    [Fact]
    public async Task HeadToTheWebSocketPathIsRefusedWithAHeadAndNoBody()
    {
        // RFC 7231 §4.3.2: a response to HEAD has no body, whatever its Content-Length says.
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, Port);
        NetworkStream stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(RawHttp.UpgradeRequest(Port, method: "HEAD")));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var received = new MemoryStream();
        await stream.CopyToAsync(received, timeout.Token); // the server closes after its refusal

        string answer = Encoding.Latin1.GetString(received.ToArray());
        Assert.StartsWith("HTTP/1.1 400 ", answer);
        Assert.EndsWith("\r\n\r\n", answer);
        Assert.Equal(answer.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4, answer.Length);
    }

    [Fact]
    public async Task HealthzGets200Ok()
    {
        RawHttpResponse r = await RawHttp.SendAsync(Port, $"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(200, r.Status);
        Assert.Equal("ok", r.Body.Trim());
    }

    [Fact]
    public async Task MetricsExposeOpenConnectionsAndClosesByCode()
    {
        // Provoke a close with 1003 so that its series exists.
        await using (RawWebSocket ws = await _fixture.ConnectAsync())
        {
            await ws.SendFrameAsync(ClientFrames.Binary, [0]);
            Assert.Equal((ushort)1003, await ws.ReceiveCloseCodeAsync());
        }

        await using RawWebSocket open = await _fixture.ConnectAsync();
        RawHttpResponse r = await RawHttp.SendAsync(Port, $"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(200, r.Status);
        Assert.StartsWith("text/plain", r.Header("Content-Type"));
        string openLine = r.Body.Split('\n').Single(l => l.StartsWith("connmsg_connections_open ", StringComparison.Ordinal));
        Assert.True(long.Parse(openLine.Split(' ')[1]) >= 1, openLine);
        Assert.Contains("connmsg_closes_sent_total{code=\"1003\"} ", r.Body);
    }

    [Fact]
    public async Task OversizedHeadGets431()
    {
        string padding = string.Concat(Enumerable.Range(0, 200).Select(i => $"X-Pad-{i}: {new string('p', 80)}\r\n")); // ~18 KiB > 16 KiB
        RawHttpResponse r = await RawHttp.SendAsync(Port, $"GET /ws HTTP/1.1\r\nHost: x\r\n{padding}\r\n");
        Assert.Equal(431, r.Status);
    }

    [Fact]
    public async Task OversizedHeadThatNeverEndsGets431()
    {
        // No blank line ever comes: the limit alone must decide.
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, Port);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        string head = "GET /ws HTTP/1.1\r\nHost: x\r\n" + string.Concat(Enumerable.Range(0, 190).Select(i => $"X-Pad-{i}: {new string('p', 80)}\r\n"));
        await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes(head), cts.Token);
        RawHttpResponse r = await RawHttp.ReadResponseAsync(tcp.GetStream(), cts.Token);
        Assert.Equal(431, r.Status);
    }

    [Fact]
    public async Task TooManyHeadersGets431()
    {
        string headers = string.Concat(Enumerable.Range(0, 65).Select(i => $"X-H{i}: v\r\n"));
        RawHttpResponse r = await RawHttp.SendAsync(Port, $"GET /ws HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
        Assert.Equal(431, r.Status);
    }

    [Fact]
    public async Task TooManyHeadersThatNeverEndGets431()
    {
        // 70 complete header lines and no blank line: the count alone must decide, without waiting.
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, Port);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        string head = "GET /ws HTTP/1.1\r\nHost: x\r\n" + string.Concat(Enumerable.Range(0, 70).Select(i => $"X-H{i}: v\r\n"));
        await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes(head), cts.Token);
        RawHttpResponse r = await RawHttp.ReadResponseAsync(tcp.GetStream(), cts.Token);
        Assert.Equal(431, r.Status);
    }

    [Fact]
    public async Task UpgradeWithoutHostGets400()
    {
        string request = RawHttp.UpgradeRequest(Port).Replace($"Host: 127.0.0.1:{Port}\r\n", "");
        Assert.DoesNotContain("Host:", request);
        RawHttpResponse r = await RawHttp.SendAsync(Port, request);
        Assert.Equal(400, r.Status);
    }

    [Fact]
    public async Task Http10Gets505()
    {
        RawHttpResponse r = await RawHttp.SendAsync(Port, "GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n");
        Assert.Equal(505, r.Status);
    }

    [Fact]
    public async Task MalformedRequestLineGets400()
    {
        RawHttpResponse r = await RawHttp.SendAsync(Port, "GET  /ws HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(400, r.Status);
    }

    [Fact]
    public async Task SecWebSocketAcceptIsComputedPerRfc6455ForARandomKey()
    {
        string key = Convert.ToBase64String(Guid.NewGuid().ToByteArray());
        RawHttpResponse r = await RawHttp.SendAsync(Port, RawHttp.UpgradeRequest(Port, key: key));
        string expected = Convert.ToBase64String(System.Security.Cryptography.SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
        Assert.Equal(expected, r.Header("Sec-WebSocket-Accept"));
        byte[] written = new byte[WebSocketHandshake.AcceptLength];
        Assert.Equal(expected, Encoding.ASCII.GetString(written, 0, WebSocketHandshake.WriteAccept(key, written)));
    }
}
