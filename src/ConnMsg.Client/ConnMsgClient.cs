using System.Collections.Concurrent;
using ConnMsg.Client.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ConnMsg.Client;

/// <summary>
/// A ConnMsg (<c>connmsg.v1</c>) client over one WebSocket connection at a time (its own RFC 6455 client over a
/// socket, or <see cref="System.Net.WebSockets.ClientWebSocket"/>; see <see cref="ConnMsgClientOptions.UseClientWebSocket"/>):
/// requests with correlated answers, topic subscriptions, answers to server requests, and automatic
/// reconnection that re-subscribes every topic without gaps or duplicates on history topics.
/// </summary>
/// <remarks>
/// Thread-safe: requests, subscriptions and handler registrations may be made from any number of threads at
/// once. Request ids come from one <see cref="Interlocked"/> counter and are never reused, so an answer that
/// arrives after its request was cancelled or timed out cannot be mistaken for another request's answer.
/// By default, code awaiting an answer resumes on the connection's receive loop; see
/// <see cref="ConnMsgClientOptions.RunContinuationsAsynchronously"/>.
/// </remarks>
public sealed partial class ConnMsgClient : IAsyncDisposable, IConnectionOwner
{
    /// <summary>The WebSocket subprotocol this client offers.</summary>
    public const string SubProtocol = "connmsg.v1";

    private static readonly byte[] s_null = "null"u8.ToArray();

    private readonly ConnMsgClientOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, TopicState> _topics = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TopicState>.AlternateLookup<ReadOnlySpan<char>> _topicsBySpan;
    private readonly CancellationTokenSource _disposing = new();
    private readonly Lock _stateLock = new();

    /// <summary>How often each connection sweeps its pending requests for expired timeouts.</summary>
    private readonly TimeSpan _sweepPeriod;

    /// <summary>Timeouts at least this long use the sweep (late by at most 1/8); shorter ones get their own timer.</summary>
    private readonly TimeSpan _minSweptTimeout;
    private TaskCompletionSource<Connection> _open = NewOpenSource();
    private Connection? _current;
    private ConnMsgConnectionState _state = ConnMsgConnectionState.Connecting;
    private Task _lifecycle = Task.CompletedTask;

    /// <summary>The first <see cref="ConnectAsync(CancellationToken)"/>, until it returned or threw. Guarded by <see cref="_stateLock"/>.</summary>
    private Task _connecting = Task.CompletedTask;
    private long _lastId;
    private int _generation;
    private bool _connectStarted;
    private int _disposed;

    /// <summary>Creates a client without connecting; call <see cref="ConnectAsync(CancellationToken)"/>. Handy to hook events first.</summary>
    /// <param name="uri">The server's WebSocket endpoint, e.g. <c>ws://host:port/ws</c>.</param>
    /// <param name="options">Settings; null uses <see cref="ConnMsgClientOptions.Default"/>.</param>
    public ConnMsgClient(Uri uri, ConnMsgClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (uri.Scheme is not ("ws" or "wss"))
        {
            throw new ArgumentException("The URI must use ws:// or wss://.", nameof(uri));
        }

        Uri = uri;
        _options = options ?? ConnMsgClientOptions.Default;
        _logger = _options.Logger ?? NullLogger.Instance;
        _topicsBySpan = _topics.GetAlternateLookup<ReadOnlySpan<char>>();
        var requestTimeout = _options.RequestTimeout == Timeout.InfiniteTimeSpan ? TimeSpan.FromSeconds(30) : _options.RequestTimeout;
        _sweepPeriod = TimeSpan.FromTicks(Math.Clamp(requestTimeout.Ticks / 16, TimeSpan.TicksPerMillisecond * 10, TimeSpan.TicksPerSecond));
        _minSweptTimeout = _sweepPeriod * 8;
    }

    /// <summary>Raised on every change of <see cref="State"/>. Handlers run synchronously on the thread that changes the state (usually the client's reconnect task) and must not block.</summary>
    public event EventHandler<ConnMsgStateChangedEventArgs>? StateChanged;

    /// <summary>
    /// Raised after a reconnect when a topic's missed Inds could not all be replayed (<c>"recovered":false</c>)
    /// or its re-subscription was refused for good, confirmed with a <c>cfm</c> the client could not read (taken back with
    /// <c>$unsubscribe</c> first), not answered within <see cref="ConnMsgClientOptions.RequestTimeout"/>
    /// (<see cref="ConnMsgClientOptions.ConnectTimeout"/> when that is infinite; a late <c>cfm</c> is taken back with <c>$unsubscribe</c>), or failed otherwise while the connection stayed open (a
    /// <c>rej</c> the client could not read, a <c>$subscribe</c> over the new connection's <c>maxMessage</c>). Only that
    /// topic fails: the connection opens with the others.
    /// The application must then resynchronise that topic by its own means.
    /// A refusal that says "not now" is not reported: <c>overloaded</c> is sent again on the same connection after a
    /// growing backoff (reported once <see cref="ConnMsgClientOptions.ResubscribeMaxRetries"/> retries were refused too),
    /// <c>shutting_down</c> is left to the next connection.
    /// </summary>
    public event EventHandler<ConnMsgRecoveryFailedEventArgs>? RecoveryFailed;

    /// <summary>The server endpoint.</summary>
    public Uri Uri { get; }

    /// <summary>The current connection state.</summary>
    public ConnMsgConnectionState State
    {
        get
        {
            lock (_stateLock)
            {
                return _state;
            }
        }
    }

    /// <summary>The current connection's <c>$session</c> (limits); null while disconnected or before it arrived.</summary>
    public ConnMsgSession? Session => Volatile.Read(ref _current)?.Session;

    ILogger IConnectionOwner.Logger => _logger;

    /// <summary>The open connection's payload bytes queued and not yet written; 0 while disconnected. For tests.</summary>
    internal long PendingSendBytes => Volatile.Read(ref _current)?.Transport.PendingSendBytes ?? 0;

    /// <summary>Requests of the open connection waiting for room in its send queue; 0 while disconnected. For tests.</summary>
    internal int SendWaiterCount => Volatile.Read(ref _current)?.Transport.SendWaiterCount ?? 0;

    /// <summary>The open connection; null while disconnected. For tests.</summary>
    internal Connection? CurrentConnection => Volatile.Read(ref _current);

    /// <summary>The open connection's transport type; null while disconnected. For tests.</summary>
    internal Type? TransportType => Volatile.Read(ref _current)?.Transport.GetType();

    /// <summary>Connects and returns an open client.</summary>
    /// <param name="uri">The server's WebSocket endpoint, e.g. <c>ws://host:port/ws</c>.</param>
    /// <param name="options">Settings; null uses <see cref="ConnMsgClientOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels connecting.</param>
    /// <exception cref="System.Net.WebSockets.WebSocketException">The handshake failed.</exception>
    /// <exception cref="TimeoutException">The handshake took longer than <see cref="ConnMsgClientOptions.ConnectTimeout"/>.</exception>
    public static async Task<ConnMsgClient> ConnectAsync(Uri uri, ConnMsgClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        var client = new ConnMsgClient(uri, options);
        try
        {
            await client.ConnectAsync(cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Opens the first connection. A failure here is thrown, not retried; later drops are retried.</summary>
    /// <param name="cancellationToken">Cancels connecting.</param>
    /// <exception cref="ObjectDisposedException">The client was disposed before or while connecting.</exception>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        var connecting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_stateLock)
        {
            // DisposeAsync marks the client disposed before it takes this lock: either it finds this connect and
            // waits for it, or this finds the client disposed.
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            if (_connectStarted)
            {
                throw new InvalidOperationException("ConnectAsync may be called once.");
            }

            _connectStarted = true;
            _connecting = connecting.Task;
        }

        try
        {
            await ConnectFirstAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            connecting.SetResult();
        }
    }

    private async Task ConnectFirstAsync(CancellationToken cancellationToken)
    {
        // Disposal cancels connecting, so DisposeAsync does not wait out a handshake or the $session wait.
        using var connectOrDispose = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        Connection connection;
        try
        {
            connection = await OpenConnectionAsync(connectOrDispose.Token).ConfigureAwait(false);
        }
        catch (Exception) when (IsDisposed)
        {
            throw DisposedWhileConnecting();
        }
        catch (Exception e)
        {
            // The first connection is not retried: requests made before ConnectAsync must not wait for it until their timeout.
            lock (_stateLock)
            {
                FailOpenLocked(new ConnMsgConnectionLostException("The first connection could not be opened; it is not retried.", e));
            }

            SetState(ConnMsgConnectionState.Closed, e);
            throw;
        }

        if (!TryMakeCurrent(connection))
        {
            // Disposed meanwhile, or dead already: either way nobody else will ever close it.
            connection.Abort(null);
            if (IsDisposed)
            {
                throw DisposedWhileConnecting();
            }

            var error = new ConnMsgConnectionLostException("The connection closed right after it was opened.", connection.CloseReason);
            lock (_stateLock)
            {
                FailOpenLocked(error);
            }

            SetState(ConnMsgConnectionState.Closed, error);
            throw error;
        }

        SetState(ConnMsgConnectionState.Open, null);
        _lifecycle = Task.Run(() => RunAsync(connection));
    }

    /// <summary>
    /// Closes the connection (close code 1000) and stops reconnecting. Requests still in flight, and those waiting
    /// for a connection (while reconnecting), fail with <see cref="ObjectDisposedException"/>; subscription streams end.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        var disposed = new ObjectDisposedException(nameof(ConnMsgClient), "The client was disposed.");
        await _disposing.CancelAsync().ConfigureAwait(false);
        Connection? connection;
        Task connecting;
        lock (_stateLock)
        {
            connection = _current;
            _current = null;
            FailOpenLocked(disposed);
            connecting = _connecting;
        }

        if (connection is not null)
        {
            await connection.CloseAsync(disposed, TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }

        // A first connect under way ends promptly (disposal cancels it) and leaves no connection behind; only then
        // is its reconnect loop, if it started one, known.
        await connecting.ConfigureAwait(false);
        await _lifecycle.ConfigureAwait(false);
        SetState(ConnMsgConnectionState.Closed, null);
        CompleteAllSubscriptions();
    }

    private ObjectDisposedException DisposedWhileConnecting() => new(GetType().FullName, "The client was disposed while it was connecting.");

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    private bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    private void SetState(ConnMsgConnectionState next, Exception? error)
    {
        ConnMsgConnectionState previous;
        lock (_stateLock)
        {
            previous = _state;
            if (previous == next || previous == ConnMsgConnectionState.Closed)
            {
                return;
            }

            _state = next;
        }

        var handler = StateChanged;
        if (handler is null)
        {
            return;
        }

        try
        {
            handler(this, new ConnMsgStateChangedEventArgs(previous, next, error));
        }
        catch (Exception e)
        {
            ConnMsgClientLog.CallbackFailed(_logger, e);
        }
    }

    private void RaiseRecoveryFailed(ConnMsgRecoveryFailedEventArgs args)
    {
        switch (args.Error)
        {
            case null:
                ConnMsgClientLog.RecoveryFailed(_logger, args.Topic, args.LastSeenSeq, args.CurrentSeq);
                break;
            case ConnMsgRejectedException refused:
                ConnMsgClientLog.ResubscribeRefused(_logger, args.Topic, refused.Code, refused);
                break;
            default:
                ConnMsgClientLog.ResubscribeFailed(_logger, args.Topic, args.Error.Message, args.Error);
                break;
        }

        try
        {
            RecoveryFailed?.Invoke(this, args);
        }
        catch (Exception e)
        {
            ConnMsgClientLog.CallbackFailed(_logger, e);
        }
    }

    private void CompleteAllSubscriptions()
    {
        foreach (var state in _topics.Values)
        {
            foreach (var subscription in state.Subscribers)
            {
                subscription.Complete();
            }
        }
    }

    private static TaskCompletionSource<Connection> NewOpenSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// No connection will open any more: fails the requests waiting for one (on the pending source, which is the one
    /// they await) and every later one. The caller holds <see cref="_stateLock"/>.
    /// </summary>
    private void FailOpenLocked(Exception error)
    {
        if (!_open.TrySetException(error))
        {
            // It holds the connection that was open (or an earlier failure); later requests must see this one.
            _open = NewOpenSource();
            _open.SetException(error);
        }

        // Nobody may be waiting; reading Exception marks it observed so it never reaches UnobservedTaskException.
        _ = _open.Task.Exception;
    }
}
