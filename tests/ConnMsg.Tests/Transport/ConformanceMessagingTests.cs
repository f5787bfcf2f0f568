using System.Text;
using ConnMsg.Tests.Infrastructure;

namespace ConnMsg.Tests.Transport;

/// <summary>
/// Autobahn|Testsuite map, against the real listener over a raw socket: case 2 (ping/pong), 5 (fragmentation),
/// 6 (UTF-8) and 9 (limits). Every failure asserts the exact close code of the server's close frame.
/// </summary>
public class ConformanceMessagingTests : IClassFixture<RawServerFixture>
{
    private readonly RawServerFixture _fixture;

    public ConformanceMessagingTests(RawServerFixture fixture) => _fixture = fixture;

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private static string Echo(int id, string data) => $$"""{"type":"req","id":{{id}},"op":"echo","data":"{{data}}"}""";

    // --- 2.x ping/pong.

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(125)]
    public async Task PingPayloadIsEchoedInPong(int length)
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        byte[] payload = Enumerable.Range(0, length).Select(i => (byte)(255 - i)).ToArray(); // binary, not UTF-8
        await ws.SendFrameAsync(ClientFrames.Ping, payload);
        ServerFrame pong = await ws.ReceiveFrameAsync();
        Assert.Equal((ClientFrames.Pong, true, false), (pong.Opcode, pong.Fin, pong.Masked));
        Assert.Equal(payload, pong.Payload);
    }

    [Fact]
    public async Task PingOf126BytesClosesWith1002()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendFrameAsync(ClientFrames.Ping, new byte[126]);
        Assert.Equal((ushort)1002, await ws.ReceiveCloseCodeAsync());
    }

    [Theory]
    [InlineData(ClientFrames.Ping)]
    [InlineData(ClientFrames.Pong)]
    [InlineData(ClientFrames.Close)]
    public async Task FragmentedControlFrameClosesWith1002(byte opcode)
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendFrameAsync(opcode, [0x03, 0xE8], fin: false);
        Assert.Equal((ushort)1002, await ws.ReceiveCloseCodeAsync());
    }

    [Fact]
    public async Task PingWrittenOneByteAtATimeIsAnswered()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        byte[] payload = Enumerable.Range(0, 125).Select(i => (byte)i).ToArray();
        foreach (byte b in ClientFrames.Frame(ClientFrames.Ping, payload))
        {
            await ws.SendAsync([b]);
        }

        ServerFrame pong = await ws.ReceiveFrameAsync();
        Assert.Equal(ClientFrames.Pong, pong.Opcode);
        Assert.Equal(payload, pong.Payload);
    }

    [Fact]
    public async Task UnsolicitedPongIsIgnored()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendFrameAsync(ClientFrames.Pong, [7, 7]);
        await ws.SendTextAsync(Echo(1, "after pong"));
        ServerFrame next = await ws.ReceiveFrameAsync();
        Assert.Equal(ClientFrames.Text, next.Opcode);
        Assert.Equal("after pong", Json.Parse(next.Text).Str("data"));
    }

    [Fact]
    public async Task TenPingsInOneWriteGetTenPongsInOrder()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendAsync(ClientFrames.Concat(Enumerable.Range(0, 10).Select(i => ClientFrames.Frame(ClientFrames.Ping, [(byte)i])).ToArray()));
        for (int i = 0; i < 10; i++)
        {
            ServerFrame pong = await ws.ReceiveFrameAsync();
            Assert.Equal(ClientFrames.Pong, pong.Opcode);
            Assert.Equal([(byte)i], pong.Payload);
        }
    }

    // --- 5.x fragmentation.

    [Fact]
    public async Task FragmentedTextMessageIsReassembled()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        string request = Echo(1, "fragmented");
        byte[] bytes = Utf8(request);
        var frames = new List<byte[]>();
        for (int i = 0; i < bytes.Length; i += 7)
        {
            frames.Add(ClientFrames.Frame(i == 0 ? ClientFrames.Text : ClientFrames.Continuation, bytes.AsSpan(i, Math.Min(7, bytes.Length - i)), fin: i + 7 >= bytes.Length));
        }

        await ws.SendAsync(ClientFrames.Concat([.. frames]));
        Assert.Equal("fragmented", Json.Parse(await ws.ReceiveTextAsync()).Str("data"));
    }

    [Fact]
    public async Task EmptyFragmentsAreAllowed()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendAsync(ClientFrames.Concat(
            ClientFrames.Frame(ClientFrames.Text, [], fin: false),
            ClientFrames.Frame(ClientFrames.Continuation, Utf8(Echo(1, "e")), fin: false),
            ClientFrames.Frame(ClientFrames.Continuation, [])));
        Assert.Equal("e", Json.Parse(await ws.ReceiveTextAsync()).Str("data"));
    }

    [Fact]
    public async Task PingBetweenFragmentsIsAnsweredAndTheMessageCompletes()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        byte[] bytes = Utf8(Echo(1, "around a ping"));
        await ws.SendAsync(ClientFrames.Concat(
            ClientFrames.Frame(ClientFrames.Text, bytes.AsSpan(0, 10), fin: false),
            ClientFrames.Frame(ClientFrames.Ping, "p"u8)));
        ServerFrame pong = await ws.ReceiveFrameAsync(); // answered before the message is finished
        Assert.Equal((ClientFrames.Pong, "p"), (pong.Opcode, pong.Text));
        await ws.SendAsync(ClientFrames.Frame(ClientFrames.Continuation, bytes.AsSpan(10)));
        Assert.Equal("around a ping", Json.Parse(await ws.ReceiveTextAsync()).Str("data"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ContinuationWithoutAStartedMessageClosesWith1002(bool fin)
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendFrameAsync(ClientFrames.Continuation, Utf8(Echo(1, "x")), fin: fin);
        Assert.Equal((ushort)1002, await ws.ReceiveCloseCodeAsync());
    }

    [Fact]
    public async Task NewTextMessageDuringAFragmentedMessageClosesWith1002()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendAsync(ClientFrames.Concat(
            ClientFrames.TextFrame("{\"type\":", fin: false),
            ClientFrames.TextFrame(Echo(1, "x"))));
        Assert.Equal((ushort)1002, await ws.ReceiveCloseCodeAsync());
    }

    [Fact]
    public async Task BinaryFrameDuringAFragmentedTextMessageClosesWith1002()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendAsync(ClientFrames.Concat(
            ClientFrames.TextFrame("{\"type\":", fin: false),
            ClientFrames.Frame(ClientFrames.Binary, [1])));
        Assert.Equal((ushort)1002, await ws.ReceiveCloseCodeAsync());
    }

    // The frames above are wrong by their opcode and the message in progress, which the header shows: the close comes
    // at the header, not after a payload of up to MaxMessageSize that the client may never finish sending.

    [Fact]
    public async Task ContinuationWithoutAStartedMessageClosesWith1002AsSoonAsItsHeaderArrives()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendAsync(ClientFrames.Concat(ClientFrames.Header(ClientFrames.Continuation, 60_000), new byte[10]));
        Assert.Equal((ushort)1002, await ws.ReceiveCloseCodeAsync());
        Assert.True(await ws.ServerClosesTcpAsync());
    }

    [Fact]
    public async Task NewTextMessageDuringAFragmentedMessageClosesWith1002AsSoonAsItsHeaderArrives()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendAsync(ClientFrames.Concat(
            ClientFrames.TextFrame("{\"type\":", fin: false),
            ClientFrames.Header(ClientFrames.Text, 60_000), new byte[10]));
        Assert.Equal((ushort)1002, await ws.ReceiveCloseCodeAsync());
        Assert.True(await ws.ServerClosesTcpAsync());
    }

    [Fact]
    public async Task BinaryFrameDuringAFragmentedTextMessageClosesWith1002AsSoonAsItsHeaderArrives()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendAsync(ClientFrames.Concat(
            ClientFrames.TextFrame("{\"type\":", fin: false),
            ClientFrames.Header(ClientFrames.Binary, 60_000), new byte[10]));
        Assert.Equal((ushort)1002, await ws.ReceiveCloseCodeAsync());
        Assert.True(await ws.ServerClosesTcpAsync());
    }

    // --- 6.x UTF-8.

    public static TheoryData<string, byte[]> InvalidUtf8 => new()
    {
        { "overlong", [0xC0, 0xAF] },
        { "surrogate D800", [0xED, 0xA0, 0x80] },
        { "above U+10FFFF", [0xF4, 0x90, 0x80, 0x80] },
        { "stray continuation", [0x80] },
        { "FF", [0xFF] },
        { "truncated at end of message", [0xE2, 0x82] },
    };

    [Theory]
    [MemberData(nameof(InvalidUtf8))]
    public async Task InvalidUtf8TextClosesWith1007(string name, byte[] bad)
    {
        _ = name;
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendFrameAsync(ClientFrames.Text, [.. "{\"a\":\""u8, .. bad]);
        Assert.Equal((ushort)1007, await ws.ReceiveCloseCodeAsync());
    }

    [Theory]
    [MemberData(nameof(InvalidUtf8))]
    public async Task InvalidUtf8InAFragmentedMessageClosesWith1007(string name, byte[] bad)
    {
        _ = name;
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendAsync(ClientFrames.Concat(
            ClientFrames.Frame(ClientFrames.Text, "{\"a\":\""u8, fin: false),
            ClientFrames.Frame(ClientFrames.Continuation, bad)));
        Assert.Equal((ushort)1007, await ws.ReceiveCloseCodeAsync());
    }

    [Fact]
    public async Task InvalidUtf8InAnUnfinishedFragmentClosesWith1007AtOnce()
    {
        // 6.4.x fail-fast: the message never ends, so only validation per fragment can catch it.
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendFrameAsync(ClientFrames.Text, [.. "{\"a\":\"\u03ba"u8, 0xF4, 0x90, 0x80, 0x80], fin: false);
        Assert.Equal((ushort)1007, await ws.ReceiveCloseCodeAsync());
    }

    [Fact]
    public async Task CodePointSplitAcrossFramesIsAccepted()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        byte[] bytes = Utf8(Echo(1, "\U0001F600\u20ac"));
        int split = Array.IndexOf(bytes, (byte)0xF0) + 2; // inside the 4-byte code point
        int split2 = Array.IndexOf(bytes, (byte)0xE2) + 1; // inside the 3-byte one
        await ws.SendAsync(ClientFrames.Concat(
            ClientFrames.Frame(ClientFrames.Text, bytes.AsSpan(0, split), fin: false),
            ClientFrames.Frame(ClientFrames.Continuation, bytes.AsSpan(split, split2 - split), fin: false),
            ClientFrames.Frame(ClientFrames.Continuation, bytes.AsSpan(split2))));
        Assert.Equal("\U0001F600\u20ac", Json.Parse(await ws.ReceiveTextAsync()).Str("data"));
    }

    // --- 9.x limits.

    [Fact]
    public async Task FragmentedMessageOverMaxMessageSizeClosesWith1009()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendAsync(ClientFrames.Concat(
            ClientFrames.Frame(ClientFrames.Text, new byte[40 * 1024].Select(_ => (byte)' ').ToArray(), fin: false),
            ClientFrames.Header(ClientFrames.Continuation, 24 * 1024 + 1))); // the total would be 64 KiB + 1
        Assert.Equal((ushort)1009, await ws.ReceiveCloseCodeAsync());
    }

    [Fact]
    public async Task FragmentedMessageOfExactlyMaxMessageSizeIsAccepted()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        byte[] bytes = Utf8(ClientFrames.EchoRequestOfLength(64 * 1024));
        await ws.SendAsync(ClientFrames.Concat(
            ClientFrames.Frame(ClientFrames.Text, bytes.AsSpan(0, 40 * 1024), fin: false),
            ClientFrames.Frame(ClientFrames.Continuation, bytes.AsSpan(40 * 1024))));
        Assert.Equal("cfm", Json.Parse(await ws.ReceiveTextAsync()).Type());
    }

    [Fact]
    public async Task FourKiBMessageInOneByteFramesIsAccepted()
    {
        // 9.x: many small frames; the connection must neither choke nor count headers against the limit.
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        byte[] bytes = Utf8(ClientFrames.EchoRequestOfLength(4096));
        var frames = bytes.Select((b, i) => ClientFrames.Frame(i == 0 ? ClientFrames.Text : ClientFrames.Continuation, [b], fin: i == bytes.Length - 1));
        await ws.SendAsync(ClientFrames.Concat([.. frames]));
        Assert.Equal("cfm", Json.Parse(await ws.ReceiveTextAsync()).Type());
    }
}
