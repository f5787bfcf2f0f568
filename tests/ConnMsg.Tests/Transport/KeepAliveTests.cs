using System.Diagnostics;
using ConnMsg.Tests.Infrastructure;

namespace ConnMsg.Tests.Transport;

/// <summary>PROTOCOL.md §2 keep-alive: ping an idle connection every interval, close with 1001 after 2 × interval of silence.</summary>
/// <remarks>Runs alone (<see cref="TimingSensitive"/>): with a 300 ms interval, a CPU-starved ticker or read loop shifts the timings.</remarks>
[Collection(nameof(TimingSensitive))]
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
        ServerFrame close = await ws.ReceiveCloseAsync(TimeSpan.FromSeconds(5));
        long elapsed = clock.ElapsedMilliseconds;
        Assert.Equal((ushort)1001, close.CloseCode);
        Assert.InRange(elapsed, (long)(2 * Interval.TotalMilliseconds) - 50, 5000);
    }

    [Fact]
    public async Task ClientThatAnswersPingsIsNeverClosedWithinTwiceTheIntervalOfItsLastFrame()
    {
        var clock = Stopwatch.StartNew();
        await using RawWebSocket ws = await RawWebSocket.ConnectAsync(_fixture.Server);
        long lastSent = clock.ElapsedMilliseconds;
        int pings = 0;
        while (pings < 4)
        {
            ServerFrame frame = await ws.ReceiveFrameAsync(TimeSpan.FromSeconds(3));
            if (frame.IsClose)
            {
                // Only a starved test host gets here; the rule is that silence, not time, closes the connection.
                long silence = clock.ElapsedMilliseconds - lastSent;
                Assert.True(silence >= 2 * Interval.TotalMilliseconds - 30,
                    $"closed with {frame.CloseCode} only {silence} ms after the client's last frame, although every ping was answered");
                return;
            }

            if (frame.Opcode == ClientFrames.Ping)
            {
                pings++;
                await ws.SendFrameAsync(ClientFrames.Pong, frame.Payload);
                lastSent = clock.ElapsedMilliseconds;
            }
        }

        Assert.True(clock.ElapsedMilliseconds > 2 * Interval.TotalMilliseconds);
        await ws.SendTextAsync("""{"type":"req","id":1,"op":"echo","data":"alive"}""");
        Assert.Equal("alive", Json.Parse(await ws.ReceiveTextAsync()).Str("data"));
    }
}

/// <summary>Tests whose assertions involve wall-clock bounds run after the parallel ones, alone.</summary>
[CollectionDefinition(nameof(TimingSensitive), DisableParallelization = true)]
public sealed class TimingSensitive
{
}
