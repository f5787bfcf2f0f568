using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ConnMsg.Tests.Http;

/// <summary>
/// RFC 9112 §6.3: a request whose body length cannot be determined (a final transfer coding other than chunked; a
/// Content-Length that is not one valid number) is answered 400 and the connection closed, whatever it asks for: the
/// server cannot tell where its body ends, so it must not act as though it knew.
/// </summary>
public sealed class UnknownBodyLengthTests : IClassFixture<ConnMsg.Tests.Transport.RawServerFixture>
{
    private readonly ConnMsg.Tests.Transport.RawServerFixture _fixture;

    public UnknownBodyLengthTests(ConnMsg.Tests.Transport.RawServerFixture fixture) => _fixture = fixture;

    public static TheoryData<string> UnknownLengths() => new()
    {
        "Transfer-Encoding: gzip\r\n",                                // rule 4: the final coding is not chunked
        "Transfer-Encoding: chunked, gzip\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n",  // the final coding over every field
        "Transfer-Encoding: gzip\r\nContent-Length: 5\r\n",           // Transfer-Encoding overrides Content-Length
        "Content-Length: abc\r\n",                                    // rule 5: invalid
        "Content-Length: -1\r\n",
        "Content-Length: +5\r\n",
        "Content-Length: 5\r\nContent-Length: 6\r\n",                 // duplicated with different values
        "Content-Length: 5, 6\r\n",
        // The same value twice MAY be taken as one (§6.3 rule 5) or rejected; rejected here, as Kestrel does, so that
        // the one rule (one field, one number) decides for a plain request and an upgrade alike.
        "Content-Length: 5\r\nContent-Length: 5\r\n",
    };

    [Theory]
    [MemberData(nameof(UnknownLengths))]
    public async Task APlainRequestWhoseBodyLengthCannotBeDeterminedGets400AndTheConnectionCloses(string framing)
    {
        // /healthz answers 200 to any request it can read: only the framing can make this a 400.
        int port = _fixture.Server.Port;
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        NetworkStream stream = tcp.GetStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET /healthz HTTP/1.1\r\nHost: x\r\n{framing}\r\n"), cts.Token);

        RawHttpResponse r = await RawHttp.ReadResponseAsync(stream, cts.Token);
        Assert.Equal(400, r.Status);
        Assert.Equal("close", r.Header("Connection"));
        Assert.Single(r.Body.TrimEnd('\n').Split('\n'));
        Assert.NotEmpty(r.Body.Trim());
        Assert.Equal(0, await stream.ReadAsync(new byte[1], cts.Token)); // closed, without waiting for a body
    }

    [Fact]
    public async Task APlainRequestWhoseBodyLengthCannotBeDeterminedIsCountedAndLoggedAsARefusal()
    {
        await using RefusalProbe probe = await RefusalProbe.StartAsync();

        RawHttpResponse r = await RawHttp.SendAsync(probe.Server.Port, "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n");
        Assert.Equal(400, r.Status);
        await probe.AssertOneRefusalAsync(400, "body_length");
    }
}
