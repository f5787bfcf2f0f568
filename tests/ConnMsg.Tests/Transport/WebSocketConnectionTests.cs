using System.Text;
using ConnMsg.WebSockets;

namespace ConnMsg.Tests.Transport;

/// <summary>
/// The connection's read loop over an in-memory pipe pair, no sockets: every input fed whole, one segment per byte,
/// and byte by byte (the loop then sees every prefix).
/// </summary>
public class WebSocketConnectionTests
{
    public static TheoryData<Feed> Feeds => new() { Feed.Whole, Feed.SegmentPerByte, Feed.ByteByByte };

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    [Theory]
    [MemberData(nameof(Feeds))]
    public async Task OneFrameMessageIsDelivered(Feed feed)
    {
        await using var h = new PipeHarness();
        await h.FeedAsync(ClientFrames.TextFrame("h\u00e9llo \u20ac \U0001F600"), feed);
        var messages = await h.Session.WaitForMessagesAsync(1);
        Assert.Equal(Utf8("h\u00e9llo \u20ac \U0001F600"), messages[0].Bytes);
    }

    [Fact]
    public async Task ATickerThatRunsLateStillPingsBeforeItClosesForSilence()
    {
        await using var h = new PipeHarness(new ConnMsgOptions { KeepAliveInterval = TimeSpan.FromSeconds(10) });
        long start = Environment.TickCount64;

        // The first tick comes three intervals late (a cold start, a starved pool): silence alone must not close.
        h.Connection.OnTick(start + 30_000);
        ServerFrame? first = await h.ReadFrameAsync();
        Assert.Equal(ClientFrames.Ping, first!.Opcode);

        // Still silent a whole interval after that ping: now it closes with 1001.
        h.Connection.OnTick(start + 40_000);
        ServerFrame? close = await h.ReadCloseAsync();
        Assert.Equal((ushort)1001, close!.CloseCode);
    }

    // IncompleteMessageTimeout: a message must be whole within the timeout of the read that brought its first byte.
    // These drive the ticker by hand; the batch times are bracketed by the clock read before feeding and after the loop
    // went idle, so every tick below is on a known side of the deadline whatever the machine's speed.

    [Fact]
    public async Task FrameLeftIncompleteClosesWith1008OnceIncompleteMessageTimeoutHasPassed()
    {
        await using var h = new PipeHarness(new ConnMsgOptions { IncompleteMessageTimeout = TimeSpan.FromSeconds(10) });
        byte[] frame = ClientFrames.TextFrame(ClientFrames.EchoRequestOfLength(1000));
        await h.FeedAsync(frame[..500], Feed.Whole);
        Assert.True(await h.Input.WaitIdleAsync(TimeSpan.FromSeconds(5)));
        long fed = Environment.TickCount64;

        h.Connection.OnTick(fed + 10_000);
        Assert.Equal((ushort)CloseCode.PolicyViolation, (await h.ReadFrameAsync())?.CloseCode);
        Assert.True(await h.OutputEndsAsync());
        Assert.Empty(h.Session.Messages);
    }

    [Fact]
    public async Task FragmentedMessageKeptOpenByPingsClosesWith1008OnceIncompleteMessageTimeoutHasPassed()
    {
        // Control frames between fragments are answered, but they neither end the message nor restart its deadline.
        await using var h = new PipeHarness(new ConnMsgOptions { IncompleteMessageTimeout = TimeSpan.FromSeconds(10) });
        await h.FeedAsync(ClientFrames.TextFrame("{\"type\":", fin: false), Feed.Whole);
        Assert.True(await h.Input.WaitIdleAsync(TimeSpan.FromSeconds(5)));
        long opened = Environment.TickCount64;
        await WaitForTheClockToPassAsync(opened + 20);
        await h.FeedAsync(ClientFrames.Concat(ClientFrames.Frame(ClientFrames.Ping, [1]), ClientFrames.Frame(ClientFrames.Continuation, "\"req\","u8, fin: false)), Feed.Whole);
        Assert.True(await h.Input.WaitIdleAsync(TimeSpan.FromSeconds(5)));

        h.Connection.OnTick(opened + 10_000);
        Assert.Equal(ClientFrames.Pong, (await h.ReadFrameAsync())?.Opcode);
        Assert.Equal((ushort)CloseCode.PolicyViolation, (await h.ReadFrameAsync())?.CloseCode);
        Assert.True(await h.OutputEndsAsync());
        Assert.Empty(h.Session.Messages);
    }

    [Fact]
    public async Task MessagesThatEachCompleteInTimeAreNeverClosedHoweverLongTheStreamOfThemLasts()
    {
        // Every read ends inside a frame, but never inside the same message for long: the deadline is per message.
        await using var h = new PipeHarness(new ConnMsgOptions { IncompleteMessageTimeout = TimeSpan.FromSeconds(10) });
        byte[] first = ClientFrames.TextFrame("one");
        byte[] second = ClientFrames.TextFrame("two");
        await h.FeedAsync(first[..4], Feed.Whole);
        Assert.True(await h.Input.WaitIdleAsync(TimeSpan.FromSeconds(5)));
        long firstFed = Environment.TickCount64;
        await WaitForTheClockToPassAsync(firstFed + 20);
        long secondStarted = Environment.TickCount64;
        await h.FeedAsync(ClientFrames.Concat(first[4..], second[..4]), Feed.Whole);
        Assert.True(await h.Input.WaitIdleAsync(TimeSpan.FromSeconds(5)));

        // Past the first message's deadline, within the second's.
        h.Connection.OnTick(secondStarted + 9_999);
        await h.FeedAsync(second[4..], Feed.Whole);
        var messages = await h.Session.WaitForMessagesAsync(2);
        Assert.Equal(["one", "two"], messages.Select(m => Encoding.UTF8.GetString(m.Bytes)));

        // Nothing in progress any more: no deadline at all.
        h.Connection.OnTick(Environment.TickCount64 + 11_000);
        await h.FeedAsync(ClientFrames.CloseFrame(1000), Feed.Whole);
        Assert.Equal((ushort)1000, (await h.ReadFrameAsync())?.CloseCode);
    }

    private static async Task WaitForTheClockToPassAsync(long tickCount)
    {
        // Environment.TickCount64 moves in steps of 10-16 ms: the test needs two reads on distinct ticks.
        while (Environment.TickCount64 <= tickCount)
        {
            await Task.Delay(5);
        }
    }

    [Fact]
    public async Task OneFrameMessageInOneSegmentIsDeliveredWithoutCopy()
    {
        await using var h = new PipeHarness();
        byte[] frame = ClientFrames.TextFrame("{\"type\":\"req\",\"id\":1,\"op\":\"echo\"}");
        await h.FeedAsync(frame, Feed.Whole);
        var message = (await h.Session.WaitForMessagesAsync(1))[0];

        // Handed on where it lay: unmasked in place inside the array the transport received, right after the 6-byte header.
        Assert.True(message.SingleSegment);
        Assert.Same(frame, message.BackingArray);
        Assert.Equal(6, message.BackingOffset);
        Assert.Equal(Utf8("{\"type\":\"req\",\"id\":1,\"op\":\"echo\"}"), message.Bytes);
    }

    [Theory]
    [MemberData(nameof(Feeds))]
    public async Task FragmentedMessageIsReassembled(Feed feed)
    {
        await using var h = new PipeHarness();
        byte[] euro = Utf8("\u20ac");
        byte[] input = ClientFrames.Concat(
            ClientFrames.Frame(ClientFrames.Text, [.. Utf8("ab"), euro[0]], fin: false),
            ClientFrames.Frame(ClientFrames.Continuation, [], fin: false),
            ClientFrames.Frame(ClientFrames.Continuation, [euro[1]], fin: false),
            ClientFrames.Frame(ClientFrames.Continuation, [euro[2], .. Utf8("cd")]),
            ClientFrames.TextFrame("next"));
        await h.FeedAsync(input, feed);
        var messages = await h.Session.WaitForMessagesAsync(2);
        if (feed == Feed.ByteByByte)
        {
            Assert.True(h.Input.DataReads >= input.Length, $"{h.Input.DataReads} reads for {input.Length} bytes: the loop did not see every prefix");
        }

        Assert.Equal(Utf8("ab\u20accd"), messages[0].Bytes);
        Assert.Equal(Utf8("next"), messages[1].Bytes);
        Assert.Equal(2, h.Session.Messages.Count);
    }

    [Theory]
    [MemberData(nameof(Feeds))]
    public async Task PingInsideAFragmentedMessageIsAnsweredWithPong(Feed feed)
    {
        await using var h = new PipeHarness();
        byte[] input = ClientFrames.Concat(
            ClientFrames.TextFrame("first ", fin: false),
            ClientFrames.Frame(ClientFrames.Ping, [1, 2, 3, 0xFF]),
            ClientFrames.Frame(ClientFrames.Continuation, Utf8("second")));
        await h.FeedAsync(input, feed);

        ServerFrame? pong = await h.ReadFrameAsync();
        Assert.NotNull(pong);
        Assert.Equal((ClientFrames.Pong, true, false, 0), (pong.Opcode, pong.Fin, pong.Masked, pong.Rsv));
        Assert.Equal([1, 2, 3, 0xFF], pong.Payload);
        var messages = await h.Session.WaitForMessagesAsync(1);
        Assert.Equal(Utf8("first second"), messages[0].Bytes);
    }

    [Theory]
    [MemberData(nameof(Feeds))]
    public async Task CloseFrameIsEchoedAndTheConnectionEnds(Feed feed)
    {
        await using var h = new PipeHarness();
        await h.FeedAsync(ClientFrames.Concat(ClientFrames.TextFrame("before"), ClientFrames.CloseFrame(4321, "bye"u8)), feed);
        ServerFrame? close = await h.ReadFrameAsync();
        Assert.NotNull(close);
        Assert.True(close.IsClose);
        Assert.Equal((ushort)4321, close.CloseCode);
        Assert.True(await h.OutputEndsAsync());
        await h.Run.WaitAsync(TimeSpan.FromSeconds(5));
        await h.Session.Closed.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(1, h.Session.ClosedCalls);
        Assert.Single(h.Session.Messages);
    }

    [Theory]
    [MemberData(nameof(Feeds))]
    public async Task FramesAfterTheCloseFrameAreIgnored(Feed feed)
    {
        await using var h = new PipeHarness();
        await h.FeedAsync(ClientFrames.Concat(ClientFrames.CloseFrame(1000), ClientFrames.TextFrame("late"), ClientFrames.Frame(ClientFrames.Ping, [9])), feed);
        ServerFrame? close = await h.ReadFrameAsync();
        Assert.Equal((ushort)1000, close?.CloseCode);
        Assert.Null(await h.ReadFrameAsync()); // no pong, nothing after the close frame
        Assert.Empty(h.Session.Messages);
    }

    [Theory]
    [MemberData(nameof(Feeds))]
    public async Task UnmaskedClientFrameClosesWith1002(Feed feed)
    {
        await using var h = new PipeHarness();
        await h.FeedAsync(ClientFrames.Frame(ClientFrames.Text, Utf8("x"), masked: false), feed);
        Assert.Equal((ushort)CloseCode.ProtocolError, (await h.ReadCloseAsync())?.CloseCode);
        Assert.True(await h.OutputEndsAsync());
        Assert.Empty(h.Session.Messages);
    }

    [Theory]
    [MemberData(nameof(Feeds))]
    public async Task InvalidUtf8InAFirstFragmentClosesWith1007BeforeTheMessageEnds(Feed feed)
    {
        await using var h = new PipeHarness();
        await h.FeedAsync(ClientFrames.Frame(ClientFrames.Text, [0x41, 0xED, 0xA0, 0x80], fin: false), feed);
        Assert.Equal((ushort)CloseCode.InvalidPayload, (await h.ReadCloseAsync())?.CloseCode);
    }

    [Theory]
    [MemberData(nameof(Feeds))]
    public async Task FragmentsOverMaxMessageSizeCloseWith1009(Feed feed)
    {
        await using var h = new PipeHarness(new ConnMsgOptions { MaxMessageSize = 300 });
        byte[] input = ClientFrames.Concat(
            ClientFrames.Frame(ClientFrames.Text, new byte[200].Select(_ => (byte)'a').ToArray(), fin: false),
            ClientFrames.Header(ClientFrames.Continuation, 101)); // the header alone says 301 > 300
        await h.FeedAsync(input, feed);
        Assert.Equal((ushort)CloseCode.MessageTooBig, (await h.ReadCloseAsync())?.CloseCode);
        Assert.Empty(h.Session.Messages);
    }

    [Theory]
    [MemberData(nameof(Feeds))]
    public async Task MessageOfExactlyMaxMessageSizeInFragmentsIsDelivered(Feed feed)
    {
        await using var h = new PipeHarness(new ConnMsgOptions { MaxMessageSize = 300 });
        byte[] input = ClientFrames.Concat(
            ClientFrames.Frame(ClientFrames.Text, Enumerable.Repeat((byte)'a', 200).ToArray(), fin: false),
            ClientFrames.Frame(ClientFrames.Continuation, Enumerable.Repeat((byte)'b', 100).ToArray()));
        await h.FeedAsync(input, feed);
        var messages = await h.Session.WaitForMessagesAsync(1);
        Assert.Equal(300, messages[0].Bytes.Length);
    }

    public static TheoryData<string, Feed> FramesWrongForTheMessageInProgress()
    {
        var data = new TheoryData<string, Feed>();
        foreach (string name in new[] { "binary (1003)", "continuation of nothing (1002)", "text inside a fragmented message (1002)", "binary inside a fragmented message (1002)" })
        {
            foreach (Feed feed in new[] { Feed.Whole, Feed.SegmentPerByte, Feed.ByteByByte })
            {
                data.Add(name, feed);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(FramesWrongForTheMessageInProgress))]
    public async Task FrameWrongForTheMessageInProgressClosesBeforeItsPayloadArrives(string name, Feed feed)
    {
        (byte[] before, byte opcode, ushort code) = name switch
        {
            "binary (1003)" => ([], ClientFrames.Binary, CloseCode.UnsupportedData),
            "continuation of nothing (1002)" => ([], ClientFrames.Continuation, CloseCode.ProtocolError),
            "text inside a fragmented message (1002)" => (ClientFrames.TextFrame("{", fin: false), ClientFrames.Text, CloseCode.ProtocolError),
            _ => (ClientFrames.TextFrame("{", fin: false), ClientFrames.Binary, CloseCode.ProtocolError),
        };

        await using var h = new PipeHarness();
        // The header and a few bytes of a 60 000-byte payload whose rest never comes.
        await h.FeedAsync(ClientFrames.Concat(before, ClientFrames.Header(opcode, 60_000), new byte[10]), feed);
        Assert.Equal(code, (await h.ReadCloseAsync())?.CloseCode);
        Assert.True(await h.OutputEndsAsync());
        Assert.Empty(h.Session.Messages);
    }

    [Fact]
    public async Task PeerThatClosesTcpMidFrameEndsTheConnectionWithoutAFrame()
    {
        await using var h = new PipeHarness();
        byte[] frame = ClientFrames.TextFrame("unfinished");
        await h.FeedAsync(frame[..5], Feed.Whole);
        Assert.True(await h.Input.WaitIdleAsync(TimeSpan.FromSeconds(5)));
        h.Input.CompleteWriter();
        await h.Run.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Null(await h.ReadFrameAsync());
        Assert.Empty(h.Session.Messages);
        Assert.Equal(1, h.Session.ClosedCalls);
    }
}
