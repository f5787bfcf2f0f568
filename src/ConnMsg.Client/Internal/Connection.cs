using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ConnMsg.Client.Internal;

/// <summary>
/// One connection: a <see cref="Transport"/> that moves whole messages, and the table of requests awaiting answers.
/// A connection is never reused: reconnecting creates a new one with the next <see cref="Generation"/>.
/// </summary>
/// <remarks>Thread-safe: any thread may register requests and enqueue messages.</remarks>
internal sealed class Connection : ITransportSink
{
    private readonly Transport _transport;
    private readonly IConnectionOwner _owner;
    private readonly ConcurrentDictionary<long, PendingRequest> _pending = new();
    private readonly CancellationTokenSource _aborted = new();
    private readonly TaskCompletionSource<ConnMsgSession> _session = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _slots;
    private int _slotLimit;
    private int _closed;
    private int _maxMessageSize;
    private ConnMsgSession? _sessionInfo;
    private Exception? _closeReason;
    private volatile Exception? _pendingFailure;

    public Connection(Transport transport, int generation, int defaultMaxMessage, int defaultMaxInFlight, IConnectionOwner owner)
    {
        _slotLimit = defaultMaxInFlight;
        _slots = new SemaphoreSlim(defaultMaxInFlight);
        _transport = transport;
        Generation = generation;
        _owner = owner;
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
    public Task Completion => _transport.Completion;

    public void Start() => _transport.Start(this);

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
    public bool TrySend(OutboundMessage message) => _transport.TrySend(message);

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
        try
        {
            _aborted.Cancel();
        }
        catch (AggregateException e)
        {
            ConnMsgClientLog.CallbackFailed(_owner.Logger, e);
        }

        _transport.Abort();
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
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _transport.CloseAsync(cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or System.Net.WebSockets.WebSocketException or IOException
            or System.Net.Sockets.SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Best effort: a server that does not answer the close handshake in time is simply cut off.
        }

        Abort(null, pendingFailure);
        await Completion.ConfigureAwait(false);
        _transport.Dispose();
    }

    void ITransportSink.OnMessage(ReadOnlySpan<byte> message)
    {
        try
        {
            _owner.OnMessage(this, message);
        }
        catch (Exception e)
        {
            // A bug in dispatch must not kill the connection or the other requests on it.
            ConnMsgClientLog.DispatchFailed(_owner.Logger, e);
        }
    }

    void ITransportSink.OnTransportClosed(Exception reason) => Abort(reason);
}
