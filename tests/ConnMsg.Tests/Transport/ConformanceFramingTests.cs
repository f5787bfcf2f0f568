using System.Text;
using ConnMsg.Tests.Infrastructure;

namespace ConnMsg.Tests.Transport;

/// <summary>
/// Autobahn|Testsuite map, against the real listener over a raw socket. Case 1 (framing), 3 (reserved bits),
/// 4 (opcodes), plus the ConnMsg rules for binary (1003) and masking (1002). Every test reads the exact close code.
/// </summary>
public class ConformanceFramingTests : IClassFixture<RawServerFixture>
{
    private readonly RawServerFixture _fixture;

    public ConformanceFramingTests(RawServerFixture fixture) => _fixture = fixture;

    // --- 1.1 text messages of the boundary lengths: 7-bit, 16-bit and 64-bit length fields up to MaxMessageSize.

    [Theory]
    [InlineData(125)]
    [InlineData(126)]
    [InlineData(127)]
    [InlineData(65535)]
    [InlineData(65536)]
    public async Task TextMessageOfBoundaryLengthIsEchoed(int length)
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        string request = ClientFrames.EchoRequestOfLength(length);
        Assert.Equal(length, Encoding.UTF8.GetByteCount(request));
        await ws.SendTextAsync(request);
        var answer = Json.Parse(await ws.ReceiveTextAsync());
        Assert.Equal("cfm", answer.Type());
        Assert.Equal(request.Count(c => c == 'x'), answer.GetProperty("data").GetString()!.Length);
    }

    [Fact]
    public async Task EmptyTextMessageIsAnsweredWithBadMessageAndTheConnectionStays()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendTextAsync("");
        var answer = Json.Parse(await ws.ReceiveTextAsync());
        Assert.Equal(("rej", "bad_message"), (answer.Type(), answer.Str("code")));
        await ws.SendTextAsync("""{"type":"req","id":2,"op":"echo","data":2}""");
        Assert.Equal("cfm", Json.Parse(await ws.ReceiveTextAsync()).Type());
    }

    [Fact]
    public async Task TextMessageOverMaxMessageSizeClosesWith1009AsSoonAsTheHeaderShowsIt()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendAsync(ClientFrames.Header(ClientFrames.Text, 64 * 1024 + 1)); // not one payload byte follows
        Assert.Equal((ushort)1009, await ws.ReceiveCloseCodeAsync());
        Assert.True(await ws.ServerClosesTcpAsync());
    }

    [Fact]
    public async Task SixtyFourBitLengthWithTopBitSetClosesWith1002()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        byte[] header = ClientFrames.Header(ClientFrames.Text, 5, encoding: LengthEncoding.Bits64);
        header[2] |= 0x80;
        await ws.SendAsync(header);
        Assert.Equal((ushort)1002, await ws.ReceiveCloseCodeAsync());
    }

    [Fact]
    public async Task ManyFramesInOneWriteAreAllAnsweredInOrder()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendAsync(ClientFrames.Concat(Enumerable.Range(1, 20)
            .Select(i => ClientFrames.TextFrame($$"""{"type":"req","id":{{i}},"op":"echo","data":{{i}}}""")).ToArray()));
        var ids = new List<int>();
        for (int i = 0; i < 20; i++)
        {
            ids.Add(Json.Parse(await ws.ReceiveTextAsync()).GetProperty("id").GetInt32());
        }

        Assert.Equal(Enumerable.Range(1, 20).OrderBy(i => i), ids.OrderBy(i => i));
    }

    [Fact]
    public async Task FrameWrittenOneByteAtATimeIsAnswered()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        byte[] frame = ClientFrames.TextFrame("""{"type":"req","id":"slow","op":"echo","data":"\u20ac"}""");
        foreach (byte b in frame)
        {
            await ws.SendAsync([b]);
        }

        var answer = Json.Parse(await ws.ReceiveTextAsync());
        Assert.Equal(("cfm", "\"slow\"", "€"), (answer.Type(), answer.Raw("id"), answer.Str("data")));
    }

    // --- ConnMsg rules: binary is not part of v1; client frames must be masked.

    [Fact]
    public async Task BinaryMessageClosesWith1003()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendFrameAsync(ClientFrames.Binary, [1, 2, 3]);
        Assert.Equal((ushort)1003, await ws.ReceiveCloseCodeAsync());
        Assert.True(await ws.ServerClosesTcpAsync());
    }

    [Fact]
    public async Task BinaryFrameClosesWith1003AsSoonAsItsHeaderArrives()
    {
        // The opcode alone decides it: waiting for the payload would let a client park up to MaxMessageSize per connection.
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendAsync(ClientFrames.Concat(ClientFrames.Header(ClientFrames.Binary, 60_000), new byte[10])); // 59 990 bytes never follow
        Assert.Equal((ushort)1003, await ws.ReceiveCloseCodeAsync());
        Assert.True(await ws.ServerClosesTcpAsync());
    }

    [Fact]
    public async Task UnmaskedClientFrameClosesWith1002()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendFrameAsync(ClientFrames.Text, "{}"u8.ToArray(), masked: false);
        Assert.Equal((ushort)1002, await ws.ReceiveCloseCodeAsync());
        Assert.True(await ws.ServerClosesTcpAsync());
    }

    [Fact]
    public async Task ServerFramesAreUnmaskedFinalAndWithoutReservedBits()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendTextAsync(ClientFrames.EchoRequestOfLength(300));
        ServerFrame frame = await ws.ReceiveFrameAsync();
        Assert.Equal((true, false, 0, ClientFrames.Text), (frame.Fin, frame.Masked, frame.Rsv, frame.Opcode));
    }

    // --- 3.x reserved bits.

    [Theory]
    [InlineData(1, ClientFrames.Text)]
    [InlineData(2, ClientFrames.Text)]
    [InlineData(3, ClientFrames.Text)]
    [InlineData(4, ClientFrames.Text)]
    [InlineData(5, ClientFrames.Text)]
    [InlineData(6, ClientFrames.Ping)]
    [InlineData(7, ClientFrames.Text)]
    [InlineData(4, ClientFrames.Close)]
    public async Task ReservedBitSetClosesWith1002(int rsv, byte opcode)
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendFrameAsync(opcode, "{}"u8.ToArray(), rsv: rsv);
        Assert.Equal((ushort)1002, await ws.ReceiveCloseCodeAsync());
    }

    [Fact]
    public async Task ReservedBitSetAfterAValidMessageClosesWith1002AfterAnsweringIt()
    {
        // 3.2: the valid message before the bad frame is still processed.
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendAsync(ClientFrames.Concat(
            ClientFrames.TextFrame("""{"type":"req","id":1,"op":"echo"}"""),
            ClientFrames.Frame(ClientFrames.Text, "{}"u8, rsv: 2)));
        Assert.Equal("cfm", Json.Parse(await ws.ReceiveTextAsync()).Type());
        Assert.Equal((ushort)1002, await ws.ReceiveCloseCodeAsync());
    }

    // --- 4.x reserved opcodes.

    [Theory]
    [InlineData(0x3)]
    [InlineData(0x4)]
    [InlineData(0x5)]
    [InlineData(0x6)]
    [InlineData(0x7)]
    [InlineData(0xB)]
    [InlineData(0xC)]
    [InlineData(0xD)]
    [InlineData(0xE)]
    [InlineData(0xF)]
    public async Task ReservedOpcodeClosesWith1002(int opcode)
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendFrameAsync((byte)opcode, "{}"u8.ToArray());
        Assert.Equal((ushort)1002, await ws.ReceiveCloseCodeAsync());
        Assert.True(await ws.ServerClosesTcpAsync());
    }
}
