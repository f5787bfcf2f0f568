using System.Diagnostics;
using ConnMsg.Tests.Infrastructure;

namespace ConnMsg.Tests.Transport;

/// <summary>PROTOCOL.md §2 keep-alive: ping an idle connection every interval, close with 1001 after 2 × interval of silence.</summary>
public class KeepAliveTests : IClassFixture<KeepAliveTests.Fixture>
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(300);
    private readonly Fixture _fixture;

    public KeepAliveTests(Fixture fixture) => _fixture = fixture;

    public sealed class Fixture : IAsyncLifetime
    {
        public TestServer Server { get; private set; } = null!;

        public async Task InitializeAsync() => Server = await TestServer.StartAsync(options: o => o.KeepAliveInterval = Interval);

        public async Task DisposeAsync() => await Server.DisposeAsync();
    }

    [Fact]
    public async Task IdleClientReceivesAPing()
    {
        var clock = Stopwatch.StartNew();
        await using RawWebSocket ws = await RawWebSocket.ConnectAsync(_fixture.Server);
        ServerFrame frame = await ws.ReceiveFrameAsync(TimeSpan.FromSeconds(3));
        Assert.Equal(ClientFrames.Ping, frame.Opcode);
        Assert.True(clock.ElapsedMilliseconds >= Interval.TotalMilliseconds - 50, $"pinged after {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task ClientThatNeverAnswersIsClosedWith1001AfterTwiceTheInterval()
    {
        var clock = Stopwatch.StartNew();
        await using RawWebSocket ws = await RawWebSocket.ConnectAsync(_fixture.Server);
        ServerFrame first = await ws.ReceiveFrameAsync(TimeSpan.FromSeconds(3));
        Assert.Equal(ClientFrames.Ping, first.Opcode);
        ServerFrame close = await ws.ReceiveCloseAsync(TimeSpan.FromSeconds(3));
        long elapsed = clock.ElapsedMilliseconds;
        Assert.Equal((ushort)1001, close.CloseCode);
        Assert.InRange(elapsed, (long)(2 * Interval.TotalMilliseconds) - 50, 3000);
    }

    [Fact]
    public async Task ClientThatAnswersPingsStaysOpenPastTwiceTheInterval()
    {
        var clock = Stopwatch.StartNew();
        await using RawWebSocket ws = await RawWebSocket.ConnectAsync(_fixture.Server);
        int pings = 0;
        while (pings < 4)
        {
            ServerFrame frame = await ws.ReceiveFrameAsync(TimeSpan.FromSeconds(3));
            Assert.False(frame.IsClose, $"closed with {frame.CloseCode} after {clock.ElapsedMilliseconds} ms although every ping was answered");
            if (frame.Opcode == ClientFrames.Ping)
            {
                pings++;
                await ws.SendFrameAsync(ClientFrames.Pong, frame.Payload);
            }
        }

        Assert.True(clock.ElapsedMilliseconds > 2 * Interval.TotalMilliseconds);
        await ws.SendTextAsync("""{"type":"req","id":1,"op":"echo","data":"alive"}""");
        Assert.Equal("alive", Json.Parse(await ws.ReceiveTextAsync()).Str("data"));
    }
}
