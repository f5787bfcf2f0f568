using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;

namespace ConnMsg.Client.Internal;

/// <summary>
/// The transport over <see cref="ClientWebSocket"/>: a single send loop fed by a channel (ClientWebSocket allows one
/// send at a time, and each send is one write) and a receive loop that reassembles messages. Used when the
/// application configures the <see cref="ClientWebSocketOptions"/> (proxy, credentials, headers, certificates) or
/// asks for it with <see cref="ConnMsgClientOptions.UseClientWebSocket"/>.
/// </summary>
/// <remarks>Thread-safe: any thread may enqueue messages.</remarks>
internal sealed class ClientWebSocketTransport : Transport
{
    private const int InitialReceiveBufferSize = 16 * 1024;

    private readonly ClientWebSocket _socket;
    private readonly int _maxIncoming;
    private readonly CancellationTokenSource _aborted = new();
    private readonly Channel<OutboundMessage> _outbound = Channel.CreateUnbounded<OutboundMessage>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });

    /// <summary>Set under <see cref="Transport.SendLock"/> once closing; messages enter the channel under that lock, so in admission order.</summary>
    private bool _sendClosed;
    private ITransportSink _sink = null!;
    private Task _receiveLoop = Task.CompletedTask;
    private Task _sendLoop = Task.CompletedTask;
    private Task _completion = Task.CompletedTask;

    public ClientWebSocketTransport(ClientWebSocket socket, int maxIncoming, int maxPendingSend)
        : base(maxPendingSend)
    {
        _socket = socket;
        _maxIncoming = maxIncoming;
    }

    public override Task Completion => _completion;

    public override void Start(ITransportSink sink)
    {
        _sink = sink;
        _receiveLoop = Task.Run(ReceiveLoopAsync);
        _sendLoop = Task.Run(SendLoopAsync);
        _completion = Task.WhenAll(_receiveLoop, _sendLoop);
    }

    public override SendOutcome TrySend(OutboundMessage message)
    {
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

            _outbound.Writer.TryWrite(message);
            return SendOutcome.Queued;
        }
    }

    public override ValueTask<SendOutcome> SendAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        SendWaiter waiter;
        lock (SendLock)
        {
            if (_sendClosed)
            {
                return new ValueTask<SendOutcome>(SendOutcome.Closed);
            }

            if (Bound.TryReserve(message.Length))
            {
                _outbound.Writer.TryWrite(message);
                return new ValueTask<SendOutcome>(SendOutcome.Queued);
            }

            // Full: the send loop queues it once the bytes ahead of it are sent (see AdmitWaitersLocked).
            waiter = Bound.Park(this, message);
        }

        return waiter.WaitAsync(cancellationToken);
    }

    public override bool TrySendUnbounded(OutboundMessage message)
    {
        lock (SendLock)
        {
            if (_sendClosed)
            {
                return false;
            }

            Bound.ReserveUnbounded(message.Length);
            _outbound.Writer.TryWrite(message);
            return true;
        }
    }

    public override void CancelWaiter(SendWaiter waiter)
    {
        lock (SendLock)
        {
            if (Bound.Complete(waiter, SendOutcome.Cancelled))
            {
                // It may have been the head that did not fit: the next one may fit now.
                AdmitWaitersLocked();
            }
        }
    }

    /// <summary>Queues, in order, the waiters that fit now; the send loop owns their messages once admitted.</summary>
    private void AdmitWaitersLocked()
    {
        while (Bound.TryAdmitNext(out var waiter))
        {
            _outbound.Writer.TryWrite(waiter!.Message);
            Bound.Complete(waiter, SendOutcome.Queued);
        }
    }

    /// <summary>No more sends: the channel completes and waiting senders are refused (they keep their messages).</summary>
    private void CloseSends()
    {
        lock (SendLock)
        {
            _sendClosed = true;
            Bound.CloseAll();
            _outbound.Writer.TryComplete();
        }
    }

    public override async Task CloseAsync(CancellationToken cancellationToken)
    {
        CloseSends();
        await _sendLoop.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_socket.State == WebSocketState.Open)
        {
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken).ConfigureAwait(false);
            await _receiveLoop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public override void Abort()
    {
        CloseSends();
        try
        {
            _aborted.Cancel();
        }
        catch (AggregateException)
        {
            // No callbacks of ours are registered on this token; nothing to report.
        }

        _socket.Abort();
    }

    public override void Dispose() => _socket.Dispose();

    private async Task SendLoopAsync()
    {
        var reader = _outbound.Reader;
        var token = _aborted.Token;
        try
        {
            while (await reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var message))
                {
                    try
                    {
                        await _socket.SendAsync(message.Memory, WebSocketMessageType.Text, endOfMessage: true, token).ConfigureAwait(false);
                    }
                    finally
                    {
                        message.Return();
                    }

                    lock (SendLock)
                    {
                        // Sent: its room goes to the senders waiting for it.
                        Bound.Release(message.Length);
                        AdmitWaitersLocked();
                    }
                }
            }
        }
        catch (Exception e)
        {
            CloseSends();
            _sink.OnTransportClosed(e);
        }
        finally
        {
            // Messages queued behind a failure were never sent; their requests fail through the pending sweep.
            while (reader.TryRead(out var message))
            {
                message.Return();
            }
        }
    }

    private async Task ReceiveLoopAsync()
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(InitialReceiveBufferSize);
        int count = 0;
        var token = _aborted.Token;
        try
        {
            while (true)
            {
                if (count >= Math.Min(buffer.Length, _maxIncoming))
                {
                    if (count >= _maxIncoming)
                    {
                        await FailAsync(WebSocketCloseStatus.MessageTooBig, $"An inbound message exceeded {_maxIncoming} bytes.").ConfigureAwait(false);
                        return;
                    }

                    byte[] bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, _maxIncoming));
                    buffer.AsSpan(0, count).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                int room = Math.Min(buffer.Length, _maxIncoming) - count;
                var result = await _socket.ReceiveAsync(buffer.AsMemory(count, room), token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    var status = _socket.CloseStatus;
                    var description = _socket.CloseStatusDescription;
                    await TryCloseOutputAsync(WebSocketCloseStatus.NormalClosure).ConfigureAwait(false);
                    _sink.OnTransportClosed(new ConnMsgConnectionLostException($"The server closed the connection ({(int?)status} {status}: {description})."));
                    return;
                }

                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    // Binary messages are not part of v1 (PROTOCOL §2): the peer speaks something else.
                    await FailAsync(WebSocketCloseStatus.InvalidMessageType, "Binary messages are not part of connmsg.v1.").ConfigureAwait(false);
                    return;
                }

                count += result.Count;
                if (result.EndOfMessage)
                {
                    _sink.OnMessage(buffer.AsSpan(0, count));
                    _sink.OnReceiveBatchEnd();
                    count = 0;
                }
            }
        }
        catch (Exception e)
        {
            _sink.OnTransportClosed(e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task FailAsync(WebSocketCloseStatus status, string message)
    {
        await TryCloseOutputAsync(status).ConfigureAwait(false);
        _sink.OnTransportClosed(new ConnMsgConnectionLostException(message));
    }

    private async Task TryCloseOutputAsync(WebSocketCloseStatus status)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await _socket.CloseOutputAsync(status, null, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            // The send loop may be mid-send, or the socket already gone: the abort that follows settles it.
        }
    }
}
