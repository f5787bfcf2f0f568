using System.Buffers.Binary;
using ConnMsg.Tests.Infrastructure;

namespace ConnMsg.Tests.Transport;

/// <summary>Autobahn|Testsuite case 7 (close handshake) against the real listener over a raw socket.</summary>
public class ConformanceCloseTests : IClassFixture<RawServerFixture>
{
    private readonly RawServerFixture _fixture;

    public ConformanceCloseTests(RawServerFixture fixture) => _fixture = fixture;

    [Theory]
    [InlineData(1000)]
    [InlineData(1001)]
    [InlineData(1002)]
    [InlineData(1003)]
    [InlineData(1007)]
    [InlineData(1008)]
    [InlineData(1009)]
    [InlineData(1010)]
    [InlineData(1011)]
    [InlineData(3000)]
    [InlineData(3999)]
    [InlineData(4000)]
    [InlineData(4999)]
    public async Task CloseWithAValidCodeIsEchoedAndTheServerClosesTcp(int code)
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendAsync(ClientFrames.CloseFrame((ushort)code, "reason \u00e9"u8));
        ServerFrame close = await ws.ReceiveCloseAsync();
        Assert.Equal((ushort)code, close.CloseCode);
        Assert.True(close.Fin);
        Assert.True(await ws.ServerClosesTcpAsync()); // §7.1.1: the server closes the TCP connection first
    }

    [Fact]
    public async Task CloseWithoutPayloadIsAnsweredWithACloseWithoutCode()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendFrameAsync(ClientFrames.Close, []);
        ServerFrame close = await ws.ReceiveCloseAsync();
        Assert.Empty(close.Payload); // 1005 means "no code" and is never put on the wire
        Assert.True(await ws.ServerClosesTcpAsync());
    }

    [Fact]
    public async Task CloseWithA123ByteReasonIsEchoed()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendAsync(ClientFrames.CloseFrame(1000, new byte[123].Select(_ => (byte)'r').ToArray()));
        Assert.Equal((ushort)1000, await ws.ReceiveCloseCodeAsync());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(999)]
    [InlineData(1004)]
    [InlineData(1005)]
    [InlineData(1006)]
    [InlineData(1015)]
    [InlineData(1016)]
    [InlineData(1100)]
    [InlineData(2000)]
    [InlineData(2999)]
    [InlineData(5000)]
    [InlineData(65535)]
    public async Task CloseWithAnInvalidCodeClosesWith1002(int code)
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendAsync(ClientFrames.CloseFrame((ushort)code));
        Assert.Equal((ushort)1002, await ws.ReceiveCloseCodeAsync());
        Assert.True(await ws.ServerClosesTcpAsync());
    }

    [Fact]
    public async Task ClosePayloadOfLength1ClosesWith1002()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendFrameAsync(ClientFrames.Close, [0x03]);
        Assert.Equal((ushort)1002, await ws.ReceiveCloseCodeAsync());
    }

    [Fact]
    public async Task CloseReasonThatIsNotUtf8ClosesWith1007()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendAsync(ClientFrames.CloseFrame(1000, [0xCE, 0xBA, 0xED, 0xA0, 0x80]));
        Assert.Equal((ushort)1007, await ws.ReceiveCloseCodeAsync());
    }

    [Fact]
    public async Task CloseOf126BytesClosesWith1002()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        var payload = new byte[126];
        BinaryPrimitives.WriteUInt16BigEndian(payload, 1000);
        payload.AsSpan(2).Fill((byte)'r');
        await ws.SendFrameAsync(ClientFrames.Close, payload);
        Assert.Equal((ushort)1002, await ws.ReceiveCloseCodeAsync());
    }

    [Fact]
    public async Task FramesAfterTheClientCloseAreNotAnswered()
    {
        // 7.1.x: after the close frame nothing more is processed; the next frame from the server is its close.
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendAsync(ClientFrames.Concat(
            ClientFrames.CloseFrame(1000),
            ClientFrames.TextFrame("""{"type":"req","id":1,"op":"echo"}"""),
            ClientFrames.Frame(ClientFrames.Ping, [1])));
        ServerFrame next = await ws.ReceiveFrameAsync();
        Assert.Equal((ushort)1000, next.CloseCode);
        Assert.True(await ws.ServerClosesTcpAsync());
    }

    [Fact]
    public async Task MessageBeforeTheCloseIsAnsweredBeforeTheCloseEcho()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendAsync(ClientFrames.Concat(
            ClientFrames.TextFrame("""{"type":"req","id":1,"op":"echo","data":"last"}"""),
            ClientFrames.CloseFrame(1000)));
        Assert.Equal("last", Json.Parse(await ws.ReceiveTextAsync()).Str("data"));
        Assert.Equal((ushort)1000, await ws.ReceiveCloseCodeAsync());
    }
}
