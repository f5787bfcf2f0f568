using System.Buffers.Binary;
using System.Net.WebSockets;

namespace ConnMsg.Client.Internal;

internal sealed partial class SocketTransport
{
    /// <summary>A send buffer grown beyond this by a burst is replaced by a fresh one once flushed.</summary>
    private const int MaxKeptSendBuffer = 1024 * 1024;

    private readonly MaskSource _masks = new();
    private readonly TaskCompletionSource _closeFlushed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[] _sendBuffer = new byte[InitialBufferSize];
    private byte[]? _spareBuffer = new byte[InitialBufferSize];
    private int _sendLength;

    /// <summary>Payload bytes of the text messages in <see cref="_sendBuffer"/> (frame headers and control frames are not counted).</summary>
    private long _bufferedPayload;
    private bool _flushing;
    private int _corks;
    private DeferredFlush? _deferredFlush;
    private bool _sendClosed;
    private bool _closeQueued;

    public override SendOutcome TrySend(OutboundMessage message)
    {
        bool flush;
        lock (SendLock)
        {
            if (_sendClosed)
            {
                return SendOutcome.Closed;
            }

            if (!Bound.TryReserve(message.Length))
            {
                return SendOutcome.Full;
            }

            AppendMessageLocked(message);
            flush = ClaimFlushLocked();
        }

        message.Return();
        StartFlush(flush);
        return SendOutcome.Queued;
    }

    public override ValueTask<SendOutcome> SendAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        bool flush;
        SendWaiter? waiter = null;
        lock (SendLock)
        {
            if (_sendClosed)
            {
                return new ValueTask<SendOutcome>(SendOutcome.Closed);
            }

            if (Bound.TryReserve(message.Length))
            {
                AppendMessageLocked(message);
                flush = ClaimFlushLocked();
            }
            else
            {
                // Full: the flusher appends it once the bytes ahead of it are written (see AdmitWaitersLocked).
                flush = false;
                waiter = Bound.Park(this, message);
            }
        }

        if (waiter is not null)
        {
            return waiter.WaitAsync(cancellationToken);
        }

        message.Return();
        StartFlush(flush);
        return new ValueTask<SendOutcome>(SendOutcome.Queued);
    }

    public override bool TrySendUnbounded(OutboundMessage message)
    {
        bool flush;
        lock (SendLock)
        {
            if (_sendClosed)
            {
                return false;
            }

            Bound.ReserveUnbounded(message.Length);
            AppendMessageLocked(message);
            flush = ClaimFlushLocked();
        }

        message.Return();
        StartFlush(flush);
        return true;
    }

    public override void CancelWaiter(SendWaiter waiter)
    {
        bool flush;
        lock (SendLock)
        {
            if (!Bound.Complete(waiter, SendOutcome.Cancelled))
            {
                return;
            }

            // It may have been the head that did not fit: the next one may fit now.
            AdmitWaitersLocked();
            flush = _sendLength > 0 && ClaimFlushLocked();
        }

        if (flush)
        {
            _ = FlushAsync();
        }
    }

    private void StartFlush(bool flush)
    {
        if (flush)
        {
            if (ReleaseBatch.IsReleasing)
            {
                // Let the rest of the batch append first; see ReleaseBatch.
                ThreadPool.UnsafeQueueUserWorkItem(_deferredFlush ??= new DeferredFlush(this), preferLocal: false);
            }
            else
            {
                _ = FlushAsync();
            }
        }
    }

    /// <summary>Appends a text message whose room is reserved in the bound; the caller returns its buffer.</summary>
    private void AppendMessageLocked(OutboundMessage message)
    {
        AppendLocked(WebSocketFrame.Text, message.Memory.Span);
        _bufferedPayload += message.Length;
    }

    /// <summary>Appends, in order, the waiters that fit now; they own nothing any more once admitted.</summary>
    private void AdmitWaitersLocked()
    {
        while (Bound.TryAdmitNext(out var waiter))
        {
            AppendMessageLocked(waiter!.Message);
            waiter.Message.Return();
            Bound.Complete(waiter, SendOutcome.Queued);
        }
    }

    /// <summary>No more sends: waiting senders are refused and keep their messages.</summary>
    private void CloseSendsLocked()
    {
        _sendClosed = true;
        Bound.CloseAll();
    }

    /// <summary>Queues a ping or pong; dropped once closing.</summary>
    private void SendControl(byte opcode, ReadOnlySpan<byte> payload)
    {
        bool flush;
        lock (SendLock)
        {
            if (_sendClosed)
            {
                return;
            }

            AppendLocked(opcode, payload);
            flush = ClaimFlushLocked();
        }

        if (flush)
        {
            _ = FlushAsync();
        }
    }

    /// <summary>Queues our close frame behind everything already queued; nothing may follow it. False if one was queued already.</summary>
    private bool TryQueueClose(int code)
    {
        bool flush;
        lock (SendLock)
        {
            CloseSendsLocked();
            if (_closeQueued || IsAborted)
            {
                return false;
            }

            Span<byte> payload = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)code);
            AppendLocked(WebSocketFrame.Close, payload);
            _closeQueued = true;
            flush = ClaimFlushLocked();
        }

        if (flush)
        {
            _ = FlushAsync();
        }

        return true;
    }

    private void AppendLocked(byte opcode, ReadOnlySpan<byte> payload)
    {
        int needed = WebSocketFrame.MaxClientHeaderSize + payload.Length;
        if (_sendBuffer.Length - _sendLength < needed)
        {
            var bigger = new byte[Math.Max(_sendBuffer.Length * 2, _sendLength + needed)];
            _sendBuffer.AsSpan(0, _sendLength).CopyTo(bigger);
            _sendBuffer = bigger;
        }

        // Masked while copied, so the caller's message stays intact (it is resent on the next connection if this one refuses it).
        _sendLength += WebSocketFrame.WriteMasked(_sendBuffer.AsSpan(_sendLength), opcode, payload, _masks.Next());
    }

    /// <summary>True when the caller must start the flush: none is running and the receive loop is not batching.</summary>
    private bool ClaimFlushLocked()
    {
        if (_flushing || _corks > 0)
        {
            return false;
        }

        _flushing = true;
        return true;
    }

    /// <summary>
    /// Called by the receive loop before it dispatches a batch of frames (and by a batch of released answers): sends
    /// only append until the last <see cref="Uncork"/>.
    /// </summary>
    public override void Cork()
    {
        lock (SendLock)
        {
            _corks++;
        }
    }

    /// <summary>Ends a batch: the last uncork flushes everything the batches queued. Not awaited, so a slow write never stalls reading.</summary>
    public override void Uncork()
    {
        bool flush;
        lock (SendLock)
        {
            _corks--;
            flush = _sendLength > 0 && ClaimFlushLocked();
        }

        if (flush)
        {
            _ = FlushAsync();
        }
    }

    /// <summary>
    /// The single flusher: writes the whole queued buffer at once, swapping in the spare so senders keep appending
    /// meanwhile, until nothing is queued. Completes synchronously when the socket takes the bytes at once (usual).
    /// </summary>
    private async Task FlushAsync()
    {
        try
        {
            while (true)
            {
                byte[] buffer;
                int length;
                long payload;
                lock (SendLock)
                {
                    if (_sendLength == 0 || IsAborted)
                    {
                        _flushing = false;
                        if (_closeQueued)
                        {
                            _closeFlushed.TrySetResult();
                        }

                        return;
                    }

                    buffer = _sendBuffer;
                    length = _sendLength;
                    _sendBuffer = _spareBuffer!;
                    _spareBuffer = null;
                    _sendLength = 0;
                    payload = _bufferedPayload;
                    _bufferedPayload = 0;
                }

                await _stream.WriteAsync(buffer.AsMemory(0, length)).ConfigureAwait(false);
                lock (SendLock)
                {
                    _spareBuffer = buffer.Length > MaxKeptSendBuffer ? new byte[InitialBufferSize] : buffer;

                    // Written: its room goes to the senders waiting for it, whose messages this loop writes next.
                    Bound.Release(payload);
                    AdmitWaitersLocked();
                }
            }
        }
        catch (Exception e)
        {
            lock (SendLock)
            {
                CloseSendsLocked();
            }

            _closeFlushed.TrySetResult();
            Report(e is WebSocketException ? e : new WebSocketException(WebSocketError.ConnectionClosedPrematurely, e.Message, e));
        }
    }

    private void OnKeepAlive()
    {
        if (IsAborted)
        {
            return;
        }

        long now = Environment.TickCount64;
        long sent = Volatile.Read(ref _pingSentAt);
        if (sent != 0)
        {
            if (Volatile.Read(ref _lastReceived) >= sent)
            {
                Volatile.Write(ref _pingSentAt, 0);
            }
            else
            {
                // Granularity is the interval: the check runs on the timer's ticks.
                if (_keepAliveTimeout != Timeout.InfiniteTimeSpan && now - sent >= (long)_keepAliveTimeout.TotalMilliseconds)
                {
                    Report(new WebSocketException(WebSocketError.Faulted, $"No answer to a keep-alive ping within {_keepAliveTimeout}."));
                }

                return;
            }
        }

        Volatile.Write(ref _pingSentAt, now);
        SendControl(WebSocketFrame.Ping, default);
    }

    /// <summary>Runs the flush claimed by a sender of a <see cref="ReleaseBatch"/>; one instance suffices, as only one flush is claimed at a time.</summary>
    private sealed class DeferredFlush(SocketTransport transport) : IThreadPoolWorkItem
    {
        public void Execute() => _ = transport.FlushAsync();
    }
}
