using System.Diagnostics;
using ConnMsg.Tests.Infrastructure;

namespace ConnMsg.Tests.Transport;

/// <summary>
/// <see cref="ConnMsgOptions.IncompleteMessageTimeout"/> against the real listener and its ticker: a message (a frame, or
/// every fragment of a fragmented one) must be whole within the timeout of its first byte, or the connection closes with
/// 1008. Bytes that keep trickling in and pings that are answered keep the keep-alive satisfied, not the message.
/// </summary>
/// <remarks>Runs alone (<see cref="TimingSensitive"/>): the assertions bound wall-clock times.</remarks>
[Collection(nameof(TimingSensitive))]
public class IncompleteMessageTimeoutTests : IClassFixture<IncompleteMessageTimeoutTests.Fixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);
    private readonly Fixture _fixture;

    public IncompleteMessageTimeoutTests(Fixture fixture) => _fixture = fixture;

    public sealed class Fixture : IAsyncLifetime
    {
        public TestServer Server { get; private set; } = null!;

        public async Task InitializeAsync() => Server = await TestServer.StartAsync(options: o => o.IncompleteMessageTimeout = Timeout);

        public async Task DisposeAsync() => await Server.DisposeAsync();
    }

    [Fact]
    public async Task FrameTrickledInByteByByteClosesWith1008OnceIncompleteMessageTimeoutHasPassed()
    {
        await using RawWebSocket ws = await RawWebSocket.ConnectAsync(_fixture.Server);
        byte[] frame = ClientFrames.TextFrame(ClientFrames.EchoRequestOfLength(60_000));
        var clock = Stopwatch.StartNew();
        await ws.SendAsync(frame[..50_000]);

        // One more byte every 50 ms: the connection is never silent, the frame is never whole.
        using var stop = new CancellationTokenSource();
        Task trickle = TrickleAsync(ws, frame.AsMemory(50_000), stop.Token);
        ServerFrame close = await ws.ReceiveCloseAsync(TimeSpan.FromSeconds(10));
        long elapsed = clock.ElapsedMilliseconds;
        stop.Cancel();
        await trickle;

        Assert.Equal((ushort)1008, close.CloseCode);
        Assert.InRange(elapsed, (long)Timeout.TotalMilliseconds - 30, 10_000);
        Assert.True(await ws.ServerClosesTcpAsync());
    }

    [Fact]
    public async Task FragmentedMessageKeptOpenByAnsweredPingsClosesWith1008OnceIncompleteMessageTimeoutHasPassed()
    {
        await using RawWebSocket ws = await RawWebSocket.ConnectAsync(_fixture.Server);
        var clock = Stopwatch.StartNew();
        await ws.SendTextAsync("{\"type\":\"req\",", fin: false);

        // A ping every 50 ms, each answered: the reassembly buffer stays held, the message never ends.
        for (int ping = 0; ; ping++)
        {
            await ws.SendFrameAsync(ClientFrames.Ping, [(byte)ping]);
            ServerFrame frame = await ws.ReceiveFrameAsync(TimeSpan.FromSeconds(10));
            if (frame.IsClose)
            {
                Assert.Equal((ushort)1008, frame.CloseCode);
                Assert.InRange(clock.ElapsedMilliseconds, (long)Timeout.TotalMilliseconds - 30, 10_000);
                break;
            }

            Assert.Equal((ClientFrames.Pong, (byte)ping), (frame.Opcode, frame.Payload.Single()));
            Assert.True(clock.ElapsedMilliseconds < 10_000, "the fragmented message is still open after 10 s");
            await Task.Delay(50);
        }

        Assert.True(await ws.ServerClosesTcpAsync());
    }

    private static async Task TrickleAsync(RawWebSocket ws, ReadOnlyMemory<byte> rest, CancellationToken stop)
    {
        try
        {
            for (int i = 0; i < rest.Length - 1 && !stop.IsCancellationRequested; i++)
            {
                await Task.Delay(50, stop);
                await ws.SendAsync(rest.Slice(i, 1).ToArray());
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // Stopped by the test, or the server closed the connection under it.
        }
    }
}
