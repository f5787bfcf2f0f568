using System.IO.Pipelines;
using System.Net.Sockets;
using ConnMsg.Transport;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace ConnMsg.Tests.SocketTransport;

// How a connection ends: errors that must reach the application, and what the peer sees of an abort and of a graceful end.
public sealed partial class SocketTransportTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AResetAfterACanceledReadFailsTheNextReadWithConnectionReset(bool canceledByToken)
    {
        // The canceled read leaves its wait on the socket, and the reset completes that wait with no read to hand it
        // to. The kernel reports a reset once: a wait that took it and dropped it would leave the next read a clean end
        // of stream. (On Linux the zero-byte wait completes as mere readiness and leaves the error to the receive.)
        // The case that matters is the wait completing before the next read starts: rounds until it was seen a few times.
        int waitCompletedFirst = 0;
        for (int round = 0; round < 200 && waitCompletedFirst < 5; round++)
        {
            if (round > 0)
            {
                await ReconnectAsync(new ConnMsgTransportOptions());
            }

            using var cts = new CancellationTokenSource();
            ValueTask<ReadResult> waiting = Input.ReadAsync(cts.Token);
            Assert.False(waiting.IsCompleted);
            if (canceledByToken)
            {
                cts.Cancel();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.AsTask().WaitAsync(Patience));
            }
            else
            {
                Input.CancelPendingRead();
                ReadResult canceled = await waiting.AsTask().WaitAsync(Patience);
                Assert.True(canceled.IsCanceled);
                Input.AdvanceTo(canceled.Buffer.Start, canceled.Buffer.End);
            }

            _client.LingerState = new LingerOption(true, 0);
            _client.Close();
            await Task.Yield();

            waitCompletedFirst += _connection.Input.WaitInFlight ? 0 : 1;
            ValueTask<ReadResult> next = Input.ReadAsync();
            await Assert.ThrowsAsync<ConnectionResetException>(async () =>
            {
                ReadResult result = await next.AsTask().WaitAsync(Patience);
                Input.AdvanceTo(result.Buffer.End);
            });
        }

        Assert.True(waitCompletedFirst > 0, "no round had the canceled read's wait complete before the next read");
    }

    [Fact]
    public async Task CompletingTheOutputWithAnErrorWhileAFlushIsPendingAbortsWithThatError()
    {
        ValueTask<FlushResult> flushing = StartAFlushThePeerHoldsUp(out _);
        var failure = new InvalidOperationException("the application failed mid-response");
        Output.Complete(failure);

        Task<(int Received, bool Reset)> draining = DrainClientAsync();
        await flushing.AsTask().WaitAsync(Patience);

        ConnectionAbortedException? reason = _connection.AbortReason;
        Assert.NotNull(reason);
        Assert.Same(failure, reason.InnerException);
        await draining;
    }

    [Fact]
    public async Task AbortResetsThePeerInsteadOfDeliveringWhatTheKernelStillHolds()
    {
        ValueTask<FlushResult> flushing = StartAFlushThePeerHoldsUp(out int sent);

        _connection.Abort(new ConnectionAbortedException("test abort"));
        Assert.True((await flushing.AsTask().WaitAsync(Patience)).IsCompleted);

        // After a FIN the peer would read everything queued and then a clean end, and take a truncated stream for a whole one.
        (int received, bool reset) = await DrainClientAsync();
        Assert.True(reset, $"the peer saw a clean end after {received} of {sent} bytes instead of a reset");
        Assert.True(received < sent);
    }

    [Fact]
    public async Task AGracefulEndDeliversEverythingTheKernelHoldsThenFin()
    {
        ValueTask<FlushResult> flushing = StartAFlushThePeerHoldsUp(out int sent);
        Output.Complete();
        Task<(int Received, bool Reset)> draining = DrainClientAsync();
        Assert.False((await flushing.AsTask().WaitAsync(Patience)).IsCompleted);
        await _connection.DisposeAsync();

        (int received, bool reset) = await draining.WaitAsync(Patience);
        Assert.False(reset, "a graceful end must not reset the connection");
        Assert.Equal(sent, received);
    }

    // Writes more than the kernel's buffers hold while the client reads nothing: the flush stays pending, and what the
    // kernel took is still queued on the server's side.
    private ValueTask<FlushResult> StartAFlushThePeerHoldsUp(out int sent)
    {
        _client.ReceiveBufferSize = 64 * 1024;
        _connection.Features.Get<IConnectionSocketFeature>()!.Socket.SendBufferSize = 64 * 1024;
        sent = 2 * 1024 * 1024;
        Pattern(sent).CopyTo(Output.GetSpan(sent));
        Output.Advance(sent);
        ValueTask<FlushResult> flushing = Output.FlushAsync();
        Assert.False(flushing.IsCompleted, "2 MiB cannot fit in the kernel's buffers while the peer reads nothing");
        return flushing;
    }

    private async Task<(int Received, bool Reset)> DrainClientAsync()
    {
        var buffer = new byte[64 * 1024];
        int total = 0;
        try
        {
            int n;
            while ((n = await _client.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Patience)) > 0)
            {
                total += n;
            }

            return (total, false);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return (total, true);
        }
    }
}
