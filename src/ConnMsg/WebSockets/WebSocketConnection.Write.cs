using ConnMsg.Diagnostics;
using System.Buffers.Binary;
using System.IO.Pipelines;

namespace ConnMsg.WebSockets;

internal sealed partial class WebSocketConnection : IThreadPoolWorkItem
{
    // Many producers (answers, fan-out, pings) enqueue; one drainer at a time, chosen by _drainState, writes them out.
    private readonly OutboundQueue _queue = new();
    private int _drainState;          // 0 idle, 1 someone is draining; 1 for good once the shutdown took it
    private int _inReadBatch;         // 1 while the read loop processes a batch: it drains at the end, so producers need not schedule
    private int _closeState;          // 1 once a close frame is queued: nothing more may be queued after it
    private volatile bool _stopping;  // the connection is ending; the closer owns the output
    private TaskCompletionSource? _drainIdle;
    private int _slowConsumer;
    private bool _closeWritten;       // the drainer wrote a close frame: what follows is dropped

    private bool _closeSent => Volatile.Read(ref _closeState) != 0;

#if DEBUG
    /// <summary>
    /// Test seam (Debug builds only, so a connection pays nothing for it in Release): runs in <see cref="Enqueue"/>
    /// after the admission check, so a test can hold a producer there while the connection shuts down.
    /// </summary>
    internal Action? AfterAdmissionCheck;

    /// <summary>
    /// Test seam (Debug builds only): runs in <see cref="ShutdownOutputAsync"/> once its last drain has written what it
    /// will write and before the output is handed back to be completed, so a test can let a held producer go there.
    /// </summary>
    internal Action? AfterShutdownDrain;
#endif

    /// <summary>
    /// Queues a frame, taking over one reference to it. Never blocks: a connection whose queue would exceed
    /// <see cref="ConnMsgOptions.MaxOutboundBytes"/> is closed with 1013 and the frame dropped. Returns whether it was queued.
    /// </summary>
    public bool Enqueue(OutboundFrame frame)
    {
        if (_closeSent || _stopping)
        {
            frame.Release();
            return false;
        }

#if DEBUG
        AfterAdmissionCheck?.Invoke();
#endif

        // The read-batch flag and the drain state are read inside the queue's lock, and whoever clears either checks
        // the queue under that lock afterwards (DrainInlineAsync, DrainOwnedAsync): one of the two always sees the
        // other, so a frame queued behind a pending drain costs no fence or compare-exchange of its own.
        if (!_queue.TryEnqueue(frame, _options.MaxOutboundBytes, ref _inReadBatch, ref _drainState, out bool drainCovered))
        {
            frame.Release();
            if (!_queue.IsClosed)
            {
                OnSlowConsumer();
            }

            return false;
        }

        if (!drainCovered)
        {
            ScheduleDrain();
        }
        else if (_queue.QueuedBytes > _options.EffectivePublisherYieldBytes)
        {
            // A drain is due but has fallen well behind: tell the read batch that queued this (a publisher's), so that it
            // lets the drains run before it reads more.
            DeferredDrains.NoteBacklog();
        }

        return true;
    }

    private void ScheduleDrain()
    {
        if (Interlocked.CompareExchange(ref _drainState, 1, 0) == 0 && !DeferredDrains.TryDefer(this))
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    void IThreadPoolWorkItem.Execute() => RunOwnedDrain();

    /// <summary>Runs a drain whose ownership (_drainState) the caller took; failures end the connection.</summary>
    internal void RunOwnedDrain()
    {
        ValueTask drain = DrainOwnedAsync();
        if (!drain.IsCompletedSuccessfully)
        {
            _ = ObserveAsync(drain);
        }
    }

    private async Task ObserveAsync(ValueTask drain)
    {
        try
        {
            await drain.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The transport failed under the writer: the read loop sees the same failure and ends the connection.
            Abort();
        }
    }

    /// <summary>Drains on the calling thread when nobody else is draining; the read loop calls this after each batch.</summary>
    private ValueTask DrainInlineAsync()
    {
        if (_queue.IsEmptyAfter() || Interlocked.CompareExchange(ref _drainState, 1, 0) != 0)
        {
            return default;
        }

        return DrainOwnedAsync();
    }

    /// <summary>Writes every queued frame into the pipe and flushes once per batch. The caller owns _drainState.</summary>
    /// <param name="keepOwnership">
    /// The shutdown's drain: return once the (closed) queue is empty and keep _drainState, even on a failure, so that no
    /// drain can start after it.
    /// </param>
    private async ValueTask DrainOwnedAsync(bool keepOwnership = false)
    {
        try
        {
            while (true)
            {
                int frames = 0;
                long bytes = 0;
                long unflushed = 0;
                bool transportDone = false;
                while (!transportDone && _queue.TakeAll(out OutboundFrame?[] batch) is int count and > 0)
                {
                    try
                    {
                        for (int i = 0; i < count; i++)
                        {
                            OutboundFrame frame = batch[i]!;
                            int length = frame.Length;
                            if (!_closeWritten)
                            {
                                frame.Span.CopyTo(_output.GetSpan(length));
                                _output.Advance(length);
                                _closeWritten = frame.IsClose;
                                frames++;
                                bytes += length;
                                unflushed += length;
                            }

                            // The slot is cleared only now: a write that throws leaves the frame to ReleaseUnwritten.
                            frame.Release();
                            batch[i] = null;
                            if (unflushed >= 64 * 1024)
                            {
                                // Bound what sits in the pipe unflushed; the flush also applies the transport's backpressure.
                                unflushed = 0;
                                FlushResult partial = await _output.FlushAsync().ConfigureAwait(false);
                                if (partial.IsCompleted || partial.IsCanceled)
                                {
                                    transportDone = true;
                                    break;
                                }
                            }
                        }
                    }
                    finally
                    {
                        // Frames of the batch left unwritten (the transport ended, or a flush threw) are dropped here:
                        // the batch array is about to become the queue's pending buffer again.
                        ReleaseUnwritten(batch, count);
                    }
                }

                if (unflushed > 0)
                {
                    await _output.FlushAsync().ConfigureAwait(false);
                }

                _metrics.FramesOut(frames, bytes);
                if (keepOwnership)
                {
                    return;
                }

                // Producers read _drainState inside the queue's lock, so the emptiness check after clearing it is
                // taken under that lock too: a producer that saw the drain as busy queued before this check and is seen.
                Interlocked.Exchange(ref _drainState, 0);
                Interlocked.Exchange(ref _drainIdle, null)?.TrySetResult();
                if (_queue.IsEmptyAfter() || Interlocked.CompareExchange(ref _drainState, 1, 0) != 0)
                {
                    return;
                }
            }
        }
        catch when (!keepOwnership)
        {
            Interlocked.Exchange(ref _drainState, 0);
            Interlocked.Exchange(ref _drainIdle, null)?.TrySetResult();
            throw;
        }
    }

    /// <summary>
    /// Starts the close handshake: queues a close frame with <paramref name="code"/>, then waits (up to
    /// <see cref="ConnMsgOptions.CloseTimeout"/>) for the peer's close frame. Safe to call more than once.
    /// </summary>
    public void Close(ushort code, ReadOnlySpan<byte> reason)
    {
        if (_stopping || Interlocked.Exchange(ref _closeState, 1) != 0)
        {
            return;
        }

        Span<byte> payload = stackalloc byte[125];
        int length = 0;
        if (code != CloseCode.NoStatus)
        {
            BinaryPrimitives.WriteUInt16BigEndian(payload, code);
            int reasonLength = Math.Min(reason.Length, 123);
            reason[..reasonLength].CopyTo(payload[2..]);
            length = 2 + reasonLength;
        }

        OutboundFrame frame = OutboundFrame.Control(WebSocketOpcode.Close, payload[..length]);
        if (!_queue.TryEnqueue(frame, long.MaxValue, ref _inReadBatch, ref _drainState, out bool drainCovered))
        {
            frame.Release(); // the connection ended meanwhile: its output is gone
            return;
        }

        _metrics.CloseSent(code);
        Volatile.Write(ref _closeDeadlineMs, Environment.TickCount64 + (long)_options.CloseTimeout.TotalMilliseconds);
        if (!drainCovered)
        {
            ScheduleDrain();
        }
    }

    /// <summary>Fails the connection (RFC 6455 §7.1.7): sends a close frame with <paramref name="code"/> and stops reading.</summary>
    private void Fail(ushort code)
    {
        Close(code, default);
        _input.CancelPendingRead();
    }

    private void OnSlowConsumer()
    {
        if (Interlocked.Exchange(ref _slowConsumer, 1) != 0)
        {
            return;
        }

        _metrics.SlowConsumer();
        TransportLog.SlowConsumer(_logger, Id, _options.MaxOutboundBytes);

        // What is queued will not drain in time; drop it so the close frame goes out next.
        _queue.DropAll();

        Close(CloseCode.TryAgainLater, "slow consumer"u8);
        _input.CancelPendingRead();
    }

    /// <summary>
    /// Takes the output from any drainer for good, writes what is left (the close frame), and drops the rest: once this
    /// returns, nothing but RunAsync's completion touches the output.
    /// </summary>
    /// <remarks>
    /// A producer that passed the admission checks before <see cref="_stopping"/> may still reach the queue. Were the
    /// queue open after the last drain and _drainState released, such a producer would start a drain of its own that
    /// writes while RunAsync completes the output (on ConnMsg's transport, into a buffer already back in the pool). So
    /// the queue is closed first (such a frame is refused, and the last drain takes all there will ever be) and the
    /// ownership taken here is never released (a drain scheduled by a producer that queued earlier finds it taken).
    /// </remarks>
    private async Task ShutdownOutputAsync()
    {
        _stopping = true;
        _queue.Close();
        try
        {
            while (Interlocked.CompareExchange(ref _drainState, 1, 0) != 0)
            {
                var idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref _drainIdle, idle);
                if (Volatile.Read(ref _drainState) == 0)
                {
                    continue;
                }

                // A drainer is blocked in a flush: the close deadline (ticker) aborts the connection if the peer never reads.
                if (Volatile.Read(ref _closeDeadlineMs) == long.MaxValue)
                {
                    Volatile.Write(ref _closeDeadlineMs, Environment.TickCount64 + (long)_options.CloseTimeout.TotalMilliseconds);
                }

                await idle.Task.ConfigureAwait(false);
            }

            await DrainOwnedAsync(keepOwnership: true).ConfigureAwait(false);
#if DEBUG
            AfterShutdownDrain?.Invoke();
#endif
        }
        catch (Exception)
        {
            // The transport is already gone.
        }
        finally
        {
            _queue.CloseAndDropAll();
        }
    }

    private void ReleaseUnwritten(OutboundFrame?[] batch, int count)
    {
        for (int i = 0; i < count; i++)
        {
            if (batch[i] is OutboundFrame frame)
            {
                batch[i] = null;
                frame.Release();
            }
        }
    }
}
