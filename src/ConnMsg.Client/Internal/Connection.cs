using Microsoft.Extensions.Logging;

namespace ConnMsg.Client.Internal;

/// <summary>
/// One connection: a <see cref="Transport"/> that moves whole messages, and the table of requests awaiting answers.
/// A connection is never reused: reconnecting creates a new one with the next <see cref="Generation"/>.
/// </summary>
/// <remarks>Thread-safe: any thread may register requests and enqueue messages.</remarks>
internal sealed partial class Connection : ITransportSink
{
    private readonly Transport _transport;
    private readonly IConnectionOwner _owner;
    private readonly Dictionary<long, PendingRequest> _pending = [];
    private readonly Lock _pendingLock = new();
    private readonly TimeSpan _sweepPeriod;
    private Timer? _sweep;
    private ReleaseBatch? _releaseBatch;
    private readonly CancellationTokenSource _aborted = new();
    private readonly TaskCompletionSource<ConnMsgSession> _session = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _slotLimit;
    private int _closed;
    private int _maxMessageSize;
    private ConnMsgSession? _sessionInfo;
    private Exception? _closeReason;
    private volatile Exception? _pendingFailure;

    public Connection(Transport transport, int generation, int defaultMaxMessage, int defaultMaxInFlight, TimeSpan sweepPeriod, IConnectionOwner owner)
    {
        _sweepPeriod = sweepPeriod;
        _slotLimit = defaultMaxInFlight;
        _freeSlots = defaultMaxInFlight;
        _transport = transport;
        Generation = generation;
        _owner = owner;
        MaxMessageSize = defaultMaxMessage;
    }
    public int Generation { get; }

    /// <summary>The transport in use (tests check which one was chosen).</summary>
    public Transport Transport => _transport;

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

    public void Start()
    {
        _sweep = new Timer(static s => ((Connection)s!).SweepTimeouts(), this, _sweepPeriod, _sweepPeriod);
        _transport.Start(this);
    }

    /// <summary>The server's in-flight limit: the option's default until <c>$session</c> arrives, then the server's.</summary>
    public int MaxInFlight => Volatile.Read(ref _slotLimit);

    public void SetSession(ConnMsgSession session)
    {
        Session = session;
        MaxMessageSize = session.MaxMessage;
        int change = session.MaxInFlight - Interlocked.Exchange(ref _slotLimit, session.MaxInFlight);

        // Fewer slots: the count goes below zero and absorbs the surplus as requests in flight finish.
        ReleaseSlots(change);
        _session.TrySetResult(session);
    }

    /// <summary>
    /// Adds a request, holding a slot from <see cref="WaitForSlotAsync"/>, to the pending table. False when the
    /// connection already died and the request was not registered (its slot is given back), so the caller may
    /// safely retry it on the next connection (it was never sent).
    /// </summary>
    public bool TryRegister(PendingRequest request)
    {
        lock (_pendingLock)
        {
            // Abort marks the connection closed before it empties the table under this lock: a request either
            // lands in the table before that sweep, or sees the mark here.
            if (Volatile.Read(ref _closed) == 0)
            {
                if (!_pending.TryAdd(request.Id, request))
                {
                    throw new InvalidOperationException("Request ids must be unique.");
                }

                return true;
            }
        }

        ReleaseSlots(1);
        return false;
    }

    /// <summary>Removes a request from the pending table, giving its slot back. Whoever removes it completes it.</summary>
    public bool TryTakePending(long id, out PendingRequest? request)
    {
        SlotWaiter? granted = null;
        lock (_pendingLock)
        {
            if (!_pending.Remove(id, out request))
            {
                return false;
            }

            _freeSlots++;
            granted = TryGrantLocked();
        }

        granted?.Grant();
        return true;
    }

    /// <summary>Queues a message if there is room now (see <see cref="Transport.TrySend"/>); only <see cref="SendOutcome.Queued"/> takes ownership.</summary>
    public SendOutcome TrySend(OutboundMessage message) => _transport.TrySend(message);

    /// <summary>Queues a message, waiting in line for room if needed (see <see cref="Transport.SendAsync"/>).</summary>
    public ValueTask<SendOutcome> SendAsync(OutboundMessage message, CancellationToken cancellationToken) => _transport.SendAsync(message, cancellationToken);

    /// <summary>Queues an answer to a server request without waiting for room. False when the connection is closing.</summary>
    public bool TrySendUnbounded(OutboundMessage message) => _transport.TrySendUnbounded(message);

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
        _sweep?.Dispose();
        PendingRequest[] orphans;
        lock (_pendingLock)
        {
            orphans = [.. _pending.Values];
            _pending.Clear();
        }

        ReleaseSlots(orphans.Length);
        foreach (var request in orphans)
        {
            request.OnSettled(false);
            request.Fail(failure);
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

    /// <summary>
    /// Abandons requests past their <see cref="PendingRequest.Deadline"/>: one timer per connection instead of a
    /// timer and a linked token per request. Late by at most one period, which the client keeps small against the
    /// timeouts that use it. The entries stay until their late answers (the server still counts them).
    /// </summary>
    private void SweepTimeouts()
    {
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        List<PendingRequest>? expired = null;
        lock (_pendingLock)
        {
            foreach (var request in _pending.Values)
            {
                if (request.Deadline != 0 && request.Deadline <= now && !request.IsAbandoned)
                {
                    (expired ??= []).Add(request);
                }
            }
        }

        if (expired is null)
        {
            return;
        }

        foreach (var request in expired)
        {
            request.AbandonFromThreadPool(new TimeoutException($"No answer within {request.Timeout}."));
        }
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

    /// <summary>Receive loop only: holds a staged answer until the end of the current read.</summary>
    public void AddToReleaseBatch(PendingRequest request) => (_releaseBatch ??= new ReleaseBatch()).Add(request);

    void ITransportSink.OnReceiveBatchEnd()
    {
        if (_releaseBatch is { Count: > 0 } batch)
        {
            // preferLocal: the receive loop's thread picks it up as soon as its next read is pending, usually
            // without waking another thread. A fresh batch object for the next read: this one is the work item's now.
            _releaseBatch = null;
            ThreadPool.UnsafeQueueUserWorkItem(batch, preferLocal: true);
        }
    }

    void ITransportSink.OnTransportClosed(Exception reason) => Abort(reason);
}
