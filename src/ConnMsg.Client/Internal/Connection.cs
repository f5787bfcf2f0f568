using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace ConnMsg.Client.Internal;

/// <summary>
/// One WebSocket connection: a single send loop fed by a channel (ClientWebSocket allows one send at a time),
/// a receive loop that reassembles messages and hands them to the owner, and the table of requests awaiting answers.
/// A connection is never reused: reconnecting creates a new one with the next <see cref="Generation"/>.
/// </summary>
/// <remarks>Thread-safe: any thread may register requests and enqueue messages.</remarks>
internal sealed class Connection
{
    private const int InitialReceiveBufferSize = 16 * 1024;

    private readonly ClientWebSocket _socket;
    private readonly IConnectionOwner _owner;
    private readonly int _maxIncoming;
    private readonly Channel<OutboundMessage> _outbound = Channel.CreateUnbounded<OutboundMessage>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly ConcurrentDictionary<long, PendingRequest> _pending = new();
    private readonly CancellationTokenSource _aborted = new();
    private readonly TaskCompletionSource<ConnMsgSession> _session = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _slots;
    private int _slotLimit;
    private Task _receiveLoop = Task.CompletedTask;
    private Task _sendLoop = Task.CompletedTask;
    private int _closed;
    private int _maxMessageSize;
    private ConnMsgSession? _sessionInfo;
    private Exception? _closeReason;
    private volatile Exception? _pendingFailure;

    public Connection(ClientWebSocket socket, int generation, int defaultMaxMessage, int defaultMaxInFlight, int maxIncoming, IConnectionOwner owner)
    {
        _slotLimit = defaultMaxInFlight;
        _slots = new SemaphoreSlim(defaultMaxInFlight);
        _socket = socket;
        Generation = generation;
        _owner = owner;
        _maxIncoming = maxIncoming;
        MaxMessageSize = defaultMaxMessage;
    }

    public int Generation { get; }

    /// <summary>The outbound limit: the option's default until <c>$session</c> arrives, then the server's.</summary>
    public int MaxMessageSize
    {
        get => Volatile.Read(ref _maxMessageSize);
        private set => Volatile.Write(ref _maxMessageSize, value);
    }

    /// <summary>Written by the receive loop, read by requesting threads.</summary>
    public ConnMsgSession? Session
    {
        get => Volatile.Read(ref _sessionInfo);
        private set => Volatile.Write(ref _sessionInfo, value);
    }

    public Task<ConnMsgSession> SessionReceived => _session.Task;

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>Cancelled when the connection dies; handlers of server requests observe it.</summary>
    public CancellationToken Aborted => _aborted.Token;

    /// <summary>Why the connection died (null after a clean close we asked for).</summary>
    public Exception? CloseReason => Volatile.Read(ref _closeReason);

    /// <summary>Completes once both loops have exited, so nothing of this connection touches client state any more.</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    public void Start()
    {
        _receiveLoop = Task.Run(ReceiveLoopAsync);
        _sendLoop = Task.Run(SendLoopAsync);
        Completion = Task.WhenAll(_receiveLoop, _sendLoop);
    }

    /// <summary>The server's in-flight limit: the option's default until <c>$session</c> arrives, then the server's.</summary>
    public int MaxInFlight => Volatile.Read(ref _slotLimit);

    public void SetSession(ConnMsgSession session)
    {
        Session = session;
        MaxMessageSize = session.MaxMessage;
        int change = session.MaxInFlight - Interlocked.Exchange(ref _slotLimit, session.MaxInFlight);
        if (change > 0)
        {
            _slots.Release(change);
        }
        else
        {
            // Fewer slots: absorb the surplus as requests in flight finish.
            for (int i = change; i < 0; i++)
            {
                _ = _slots.WaitAsync();
            }
        }

        _session.TrySetResult(session);
    }

    /// <summary>
    /// Waits for one of the server's <c>maxInFlight</c> slots, so a burst waits here instead of being rejected
    /// <c>overloaded</c>. The slot belongs to the request's entry in the pending table and is given back when the
    /// entry leaves it (answer, or connection lost); a cancelled request keeps its entry until its late answer,
    /// because the server still counts it.
    /// </summary>
    public Task WaitForSlotAsync(CancellationToken cancellationToken) => _slots.WaitAsync(cancellationToken);

    /// <summary>
    /// Adds a request, holding a slot from <see cref="WaitForSlotAsync"/>, to the pending table. False when the
    /// connection already died and the request was not registered (its slot is given back), so the caller may
    /// safely retry it on the next connection (it was never sent).
    /// </summary>
    public bool TryRegister(PendingRequest request)
    {
        if (!_pending.TryAdd(request.Id, request))
        {
            throw new InvalidOperationException("Request ids must be unique.");
        }

        // Pairs with the fence of Interlocked.Exchange in Abort: either Abort's sweep sees this entry or we see _closed.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _closed) != 0 && _pending.TryRemove(request.Id, out _))
        {
            _slots.Release();
            return false;
        }

        return true;
    }

    /// <summary>Removes a request from the pending table, giving its slot back. Whoever removes it completes it.</summary>
    public bool TryTakePending(long id, out PendingRequest? request)
    {
        if (!_pending.TryRemove(id, out request))
        {
            return false;
        }

        _slots.Release();
        return true;
    }

    /// <summary>Queues a message for the send loop, which takes ownership. False when the connection is closing.</summary>
    public bool TrySend(OutboundMessage message) => _outbound.Writer.TryWrite(message);

    /// <summary>Kills the connection now: fails every pending request with <paramref name="pendingFailure"/> or a connection-lost error.</summary>
    public void Abort(Exception? reason, Exception? pendingFailure = null)
    {
        if (pendingFailure is not null)
        {
            _pendingFailure ??= pendingFailure;
        }

        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        Volatile.Write(ref _closeReason, reason);
        _owner.OnConnectionClosing(this);
        _outbound.Writer.TryComplete();
        try
        {
            _aborted.Cancel();
        }
        catch (AggregateException e)
        {
            ConnMsgClientLog.CallbackFailed(_owner.Logger, e);
        }

        _socket.Abort();
        _session.TrySetCanceled();

        var failure = _pendingFailure ?? new ConnMsgConnectionLostException(
            "The connection was lost while the request was in flight; it may or may not have been executed.", reason);
        foreach (var entry in _pending)
        {
            if (TryTakePending(entry.Key, out var request))
            {
                request!.Fail(failure);
            }
        }
    }

    /// <summary>Sends what is queued, then a close frame (1000), waits briefly for the server's close, then aborts.</summary>
    public async Task CloseAsync(Exception pendingFailure, TimeSpan timeout)
    {
        _pendingFailure = pendingFailure;
        _outbound.Writer.TryComplete();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _sendLoop.WaitAsync(cts.Token).ConfigureAwait(false);
            if (_socket.State == WebSocketState.Open)
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token).ConfigureAwait(false);
                await _receiveLoop.WaitAsync(cts.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Best effort: a server that does not answer the close handshake in time is simply cut off.
        }

        Abort(null, pendingFailure);
        await Completion.ConfigureAwait(false);
        _socket.Dispose();
    }

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
                }
            }
        }
        catch (Exception e)
        {
            Abort(e);
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
                    Abort(new ConnMsgConnectionLostException($"The server closed the connection ({(int?)status} {status}: {description})."));
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
                    try
                    {
                        _owner.OnMessage(this, buffer.AsSpan(0, count));
                    }
                    catch (Exception e)
                    {
                        // A bug in dispatch must not kill the connection or the other requests on it.
                        ConnMsgClientLog.DispatchFailed(_owner.Logger, e);
                    }

                    count = 0;
                }
            }
        }
        catch (Exception e)
        {
            Abort(e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task FailAsync(WebSocketCloseStatus status, string message)
    {
        await TryCloseOutputAsync(status).ConfigureAwait(false);
        Abort(new ConnMsgConnectionLostException(message));
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
