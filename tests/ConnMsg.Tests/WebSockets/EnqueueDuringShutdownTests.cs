using System.Collections.Concurrent;
using System.Reflection;
using ConnMsg.Hosting;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;
using ConnMsg.WebSockets;
using Microsoft.Extensions.DependencyInjection;

// The seam this test holds a producer in exists only in Debug builds of the server (a connection pays nothing for it
// in Release), so a Release build of the tests leaves the test out rather than failing to compile; test.sh runs Debug.
#if DEBUG
namespace ConnMsg.Tests.WebSockets;

/// <summary>
/// A frame offered to <see cref="WebSocketConnection.Enqueue"/> is released exactly once whatever the connection is
/// doing: the queue holds a pooled frame's reference, and one left in a queue (or a drain) nobody empties never goes
/// back to its pool.
/// </summary>
public sealed class EnqueueDuringShutdownTests
{
    [Fact]
    public async Task FrameOfferedWhileTheConnectionShutsDownIsReleased()
    {
        await using TestServer server = await TestServer.StartAsync();
        var client = await RawWsClient.ConnectAsync(server.WebSocketUri);
        WebSocketConnection connection = await SingleConnectionAsync(server);

        // A producer (a fan-out, an answer) passes the admission check while the connection is still up, and is
        // held there, the way a preempted thread would be, until the connection has ended completely.
        using var inWindow = new ManualResetEventSlim();
        using var proceed = new ManualResetEventSlim();
        int armed = 1;
        connection.AfterAdmissionCheck = () =>
        {
            if (Interlocked.Exchange(ref armed, 0) == 1)
            {
                inWindow.Set();
                Assert.True(proceed.Wait(TimeSpan.FromSeconds(30)), "the test never let the producer go on");
            }
        };

        OutboundFrame frame = OutboundFrame.Control(WebSocketOpcode.Ping, "late"u8);
        frame.AddRef(); // the test's own reference, so the frame cannot go back to the pool and be reused under it
        Task<bool> producer = Task.Factory.StartNew(() => connection.Enqueue(frame), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.True(inWindow.Wait(TimeSpan.FromSeconds(10)), "the producer never reached the queue");

        // The peer goes away without a close frame, so nothing after it is dropped as "after the close": the
        // connection's shutdown drains, drops what is queued, completes its output and leaves the registry.
        client.Dispose();
        await Eventually.TrueAsync(() => Connections(server).IsEmpty, "the connection has ended");

        proceed.Set();
        bool queued = await producer.Within("the producer");

        // Whatever Enqueue answered, the connection's reference must be given back: only the test's is left.
        await Eventually.TrueAsync(() => frame.References == 1, $"the connection released the frame (queued: {queued}, references: {frame.References})",
            TimeSpan.FromSeconds(5));
        Assert.False(queued, "an ended connection accepted a frame");
        frame.Release();
    }

    private static async Task<WebSocketConnection> SingleConnectionAsync(TestServer server)
    {
        await Eventually.TrueAsync(() => Connections(server).Count == 1, "the server registered the connection");
        return Connections(server).Keys.Single();
    }

    private static ConcurrentDictionary<WebSocketConnection, byte> Connections(TestServer server)
    {
        ConnectionRegistry registry = server.App.Services.GetRequiredService<ConnectionRegistry>();
        FieldInfo field = typeof(ConnectionRegistry).GetField("_connections", BindingFlags.NonPublic | BindingFlags.Instance)!;
        return (ConcurrentDictionary<WebSocketConnection, byte>)field.GetValue(registry)!;
    }
}
#endif
