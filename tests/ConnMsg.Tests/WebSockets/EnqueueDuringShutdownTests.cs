using System.Collections.Concurrent;
using System.IO.Pipelines;
using ConnMsg.Diagnostics;
using ConnMsg.Messaging;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;
using ConnMsg.WebSockets;
using Microsoft.AspNetCore.Connections;
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
        using var proceed = new ManualResetEventSlim();
        (Task<bool> producer, OutboundFrame frame) = HoldAProducerPastAdmission(connection, proceed);

        // The peer goes away without a close frame, so nothing after it is dropped as "after the close": the
        // connection's shutdown drains, drops what is queued, completes its output and leaves the registry.
        client.Dispose();
        await Eventually.TrueAsync(() => HasEnded(server), "the connection has ended");

        proceed.Set();
        bool queued = await producer.Within("the producer");

        // Whatever Enqueue answered, the connection's reference must be given back: only the test's is left.
        await Eventually.TrueAsync(() => frame.References == 1, $"the connection released the frame (queued: {queued}, references: {frame.References})",
            TimeSpan.FromSeconds(5));
        Assert.False(queued, "an ended connection accepted a frame");
        frame.Release();
    }

    [Fact]
    public async Task NothingWritesToTheOutputOnceTheShutdownsLastDrainHasRun()
    {
        // Every connection's output is watched: after the shutdown's last drain, the output is about to be completed,
        // and on ConnMsg's transport completing it returns its buffer to the pool; a drain still writing then writes
        // into an array that may already be another connection's.
        var outputs = new ConcurrentQueue<WatchedOutput>();
        await using TestServer server = await TestServer.StartAsync(listen: l => l.Use(next => context =>
        {
            var output = new WatchedOutput(context.Transport.Output);
            outputs.Enqueue(output);
            context.Transport = new DuplexPipe(context.Transport.Input, output);
            return next(context);
        }));
        var client = await RawWsClient.ConnectAsync(server.WebSocketUri);
        WebSocketConnection connection = await SingleConnectionAsync(server);
        WatchedOutput watched = Assert.Single(outputs);

        // A producer passes the admission check while the connection is up, and is held there (a preempted thread).
        using var proceed = new ManualResetEventSlim();
        (Task<bool> producer, OutboundFrame frame) = HoldAProducerPastAdmission(connection, proceed);

        // The producer goes on exactly when the shutdown has drained for the last time, and the shutdown waits until
        // whatever the producer's frame set off has taken it from the queue: the widest the window can be.
        string? seamFailure = null;
        connection.AfterShutdownDrain = () =>
        {
            watched.Seal();
            proceed.Set();
            if (!producer.Wait(TimeSpan.FromSeconds(10)) || !SpinWait.SpinUntil(() => connection.QueuedBytes == 0, TimeSpan.FromSeconds(10)))
            {
                seamFailure = "the producer's frame neither was refused nor left the queue";
            }
        };

        // The peer goes away without a close frame, so a late frame would not be dropped as "after the close".
        client.Dispose();
        bool queued = await producer.Within("the producer");
        await Eventually.TrueAsync(() => HasEnded(server), "the connection has ended");
        await Eventually.TrueAsync(() => frame.References == 1, $"the connection released the frame (queued: {queued}, references: {frame.References})",
            TimeSpan.FromSeconds(5));

        Assert.Null(seamFailure);
        Assert.True(watched.Completed, "the connection completed its output");
        Assert.True(watched.WritesAfterSeal == 0,
            $"{watched.WritesAfterSeal} writer calls reached the output after the shutdown's last drain (the late frame was {(queued ? "accepted" : "refused")})");
        frame.Release();
    }

    private static async Task<WebSocketConnection> SingleConnectionAsync(TestServer server)
    {
        ConnMsgApplication application = server.App.Services.GetRequiredService<ConnMsgApplication>();
        await Eventually.TrueAsync(() => application.Connections.Count() == 1, "the server registered the connection");
        return application.Connections.Single().Transport;
    }

    // Counted closed once its run has completed its pipes: after the shutdown, the session's close and the registry.
    private static bool HasEnded(TestServer server) =>
        server.App.Services.GetRequiredService<TransportMetrics>().ConnectionsOpen == 0
        && !server.App.Services.GetRequiredService<ConnMsgApplication>().Connections.Any();

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }

    /// <summary>The transport's output, counting the writer calls that come after <see cref="Seal"/>.</summary>
    private sealed class WatchedOutput(PipeWriter inner) : PipeWriter
    {
        private volatile bool _sealed;
        private int _writesAfterSeal;
        private volatile bool _completed;

        public int WritesAfterSeal => Volatile.Read(ref _writesAfterSeal);

        public bool Completed => _completed;

        public void Seal() => _sealed = true;

        public override void Advance(int bytes)
        {
            Watch();
            inner.Advance(bytes);
        }

        public override Memory<byte> GetMemory(int sizeHint = 0)
        {
            Watch();
            return inner.GetMemory(sizeHint);
        }

        public override Span<byte> GetSpan(int sizeHint = 0)
        {
            Watch();
            return inner.GetSpan(sizeHint);
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            Watch();
            return inner.FlushAsync(cancellationToken);
        }

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null)
        {
            _completed = true;
            inner.Complete(exception);
        }

        public override ValueTask CompleteAsync(Exception? exception = null)
        {
            _completed = true;
            return inner.CompleteAsync(exception);
        }

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        private void Watch()
        {
            if (_sealed)
            {
                Interlocked.Increment(ref _writesAfterSeal);
            }
        }
    }

    /// <summary>
    /// Starts a producer that enqueues a ping on <paramref name="connection"/> and holds it just past the admission check
    /// until <paramref name="proceed"/> is set; returns once it is held there. The frame carries an extra reference, the
    /// test's, so that it cannot go back to the pool and be reused under the test.
    /// </summary>
    private static (Task<bool> Producer, OutboundFrame Frame) HoldAProducerPastAdmission(WebSocketConnection connection, ManualResetEventSlim proceed)
    {
        using var inWindow = new ManualResetEventSlim();
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
        frame.AddRef();
        Task<bool> producer = Task.Factory.StartNew(() => connection.Enqueue(frame), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.True(inWindow.Wait(TimeSpan.FromSeconds(10)), "the producer never reached the queue");
        return (producer, frame);
    }
}
#endif
