using System.Collections.Concurrent;
using System.Collections.Frozen;
using ConnMsg.Diagnostics;
using ConnMsg.Hosting;
using ConnMsg.Internal;
using ConnMsg.Messaging.Topics;
using ConnMsg.WebSockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ConnMsg.Messaging;

/// <summary>
/// The messaging layer over the transport: opens a <see cref="ConnMsgConnection"/> per WebSocket, dispatches requests
/// to the registered handlers, owns the topics, and drains on shutdown.
/// </summary>
/// <remarks>Thread-safe singleton.</remarks>
internal sealed class ConnMsgApplication : IWebSocketApplication
{
    private readonly ConnMsgEndpointSettings _settings;
    private readonly FrozenDictionary<string, OpHandler> _handlers;
    private readonly FrozenDictionary<string, OpHandler>.AlternateLookup<ReadOnlySpan<char>> _handlersByChars;
    private readonly SlotPool<ConnMsgRequest> _requests = new(1024, static () => new ConnMsgRequest());
    private readonly ConcurrentDictionary<string, ConnMsgConnection> _connections = new();
    private volatile bool _draining;
    private TaskCompletionSource? _drained;
    private TaskCompletionSource? _allClosed;

    public ConnMsgApplication(IOptions<ConnMsgOptions> options, ConnMsgEndpointSettings settings, MessagingMetrics metrics, ILogger<ConnMsgApplication> logger, IServiceProvider services)
    {
        Services = services;
        Options = options.Value;
        _settings = settings;
        Metrics = metrics;
        Logger = logger;
        Topics = new TopicRegistry(Options, metrics);
        _handlers = settings.Handlers.ToFrozenDictionary(p => p.Key, p => new OpHandler(p.Key, p.Value), StringComparer.Ordinal);
        _handlersByChars = _handlers.GetAlternateLookup<ReadOnlySpan<char>>();
        metrics.SetPerOpSource(() => _handlers.Values.Select(h => (h.Name, Interlocked.Read(ref h.Confirmed), Interlocked.Read(ref h.Rejected))));
    }

    public IServiceProvider Services { get; }
    public ConnMsgOptions Options { get; }
    public MessagingMetrics Metrics { get; }
    public ILogger Logger { get; }
    public TopicRegistry Topics { get; }
    public bool IsDraining => _draining;
    public IEnumerable<ConnMsgConnection> Connections => _connections.Values;

    /// <summary>
    /// Gives every open connection its tick (keep-alive, close and message deadlines, request timeouts). This table is
    /// the only one of live connections: a second, kept by the transport for the ticker, cost every connection a node.
    /// A connection is in it from <see cref="OpenAsync"/> until <see cref="OnDisconnectedAsync"/>, which comes after its
    /// close handshake, so the close deadline is ticked too.
    /// </summary>
    public void TickConnections(long nowMs)
    {
        // The dictionary's own enumerator, not Values: that copies every entry under every lock on each tick.
        foreach (KeyValuePair<string, ConnMsgConnection> pair in _connections)
        {
            pair.Value.Transport.OnTick(nowMs);
        }
    }

    public OpHandler? FindHandler(ReadOnlySpan<byte> op)
    {
        // Ops are ASCII (checked by the envelope reader), so widening byte to char is exact and needs no decoder.
        Span<char> chars = stackalloc char[op.Length];
        for (int i = 0; i < op.Length; i++)
        {
            chars[i] = (char)op[i];
        }

        return _handlersByChars.TryGetValue(chars, out OpHandler? handler) ? handler : null;
    }

    public ConnMsgRequest RentRequest() => _requests.Rent();

    public void ReturnRequest(ConnMsgRequest request) => _requests.Return(request);

    public async ValueTask<IWebSocketSession> OpenAsync(WebSocketConnection transport)
    {
        var connection = new ConnMsgConnection(this, transport);
        _connections[connection.Id] = connection;
        if (_draining)
        {
            transport.Close(CloseCode.GoingAway, "server shutting down"u8);
        }

        // PROTOCOL.md §5.1: the first thing a client receives.
        connection.Send(MessageWriter.Ind("$session", connection, static (w, c) =>
        {
            w.WriteStartObject();
            w.WriteString("id"u8, c.Id);
            // Seconds as a JSON number, with the fraction where the interval has one: cast to long, 1.5 s read as 1 and
            // 500 ms as 0. A whole number of seconds is written without one ("15").
            w.WriteNumber("keepAlive"u8, c.App.Options.KeepAliveInterval.TotalSeconds);
            w.WriteNumber("maxMessage"u8, c.App.Options.MaxMessageSize);
            w.WriteNumber("maxInFlight"u8, c.App.Options.MaxInFlight);
            w.WriteEndObject();
        }));

        // Debug, as Kestrel logs a connection's start and end: a gateway at thousands of connections a second would
        // otherwise spend a formatted console line on each. The arguments are evaluated before the logger's own level
        // check: the peer's address costs a getpeername on ConnMsg's transport, an end point kept for the connection's
        // life, and a string, for a line nobody may read.
        if (Logger.IsEnabled(LogLevel.Debug))
        {
            MessagingLog.ConnectionOpened(Logger, connection.Id, connection.RemoteEndPoint, transport.Request.Path);
        }
        try
        {
            if (_settings.StateFactory is not null)
            {
                connection.State = _settings.StateFactory(connection);
            }

            foreach (Func<ConnMsgConnection, CancellationToken, ValueTask> callback in _settings.OnConnected)
            {
                await ApplicationTask.Guard(callback(connection, connection.Closed)).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            MessagingLog.CallbackFailed(Logger, connection.Id, ex);
            transport.Close(CloseCode.InternalError, default);
        }

        return connection;
    }

    public async ValueTask OnDisconnectedAsync(ConnMsgConnection connection)
    {
        _connections.TryRemove(connection.Id, out _);
        foreach (Func<ConnMsgConnection, ValueTask> callback in _settings.OnDisconnected)
        {
            try
            {
                await ApplicationTask.Guard(callback(connection)).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                MessagingLog.CallbackFailed(Logger, connection.Id, ex);
            }
        }

        try
        {
            switch (connection.State)
            {
                case IAsyncDisposable asyncDisposable:
                    await ApplicationTask.Guard(asyncDisposable.DisposeAsync()).ConfigureAwait(false);
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }
        }
        catch (Exception ex)
        {
            MessagingLog.CallbackFailed(Logger, connection.Id, ex);
        }

        MessagingLog.ConnectionClosed(Logger, connection.Id);
        if (_connections.IsEmpty)
        {
            Volatile.Read(ref _allClosed)?.TrySetResult();
        }
    }

    public bool MaySubscribe(ConnMsgConnection connection, string topic) =>
        _settings.AuthorizeSubscribe?.Invoke(connection, topic) ?? true;

    public void OnClientInd(ConnMsgConnection connection, ReadOnlySpan<byte> json, in Envelope envelope)
    {
        if (_settings.OnInd is { } onInd)
        {
            string topic = System.Text.Encoding.UTF8.GetString(envelope.TopicEscaped
                ? EnvelopeReader.Unescape(json[envelope.Topic], stackalloc byte[Names.MaxTopicBytes])
                : json[envelope.Topic]);
            byte[] data = envelope.Data.End.Value == 0 ? "null"u8.ToArray() : json[envelope.Data].ToArray();
            try
            {
                onInd(connection, topic, data);
            }
            catch (Exception ex)
            {
                // An Ind has no answer to fail; the callback's failure is the application's, and the connection goes on.
                MessagingLog.CallbackFailed(Logger, connection.Id, ex);
            }
        }
    }

    public void OnRequestDrained()
    {
        if (_draining && Metrics.InFlight <= 0)
        {
            Volatile.Read(ref _drained)?.TrySetResult();
        }
    }

    /// <summary>
    /// PROTOCOL.md §6 graceful shutdown: refuse new requests with <c>shutting_down</c>, let in-flight ones finish (up to
    /// the drain timeout), then close every connection with 1001 and wait for them to end (up to the close timeout).
    /// </summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        _drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _allClosed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _draining = true;
        // A request that got past the draining check before it was set is being dispatched by a read batch in progress
        // now, and is not yet in the in-flight count: its handler may even run synchronously for a while before it
        // goes asynchronous. The barrier makes every batch that starts from here see the flag, so once each
        // connection has been seen outside a batch, nothing more can join the count, and the count tells the rest.
        // (Process-wide, so that the read loops need no fence of their own on every batch.)
        Interlocked.MemoryBarrierProcessWide();
        MessagingLog.Draining(Logger, _connections.Count, Metrics.InFlight);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Options.DrainTimeout);
        try
        {
            foreach (ConnMsgConnection connection in _connections.Values)
            {
                while (connection.IsDispatching)
                {
#if DEBUG
                    DrainWaitsForDispatch?.Invoke();
#endif
                    // Only a handler that blocks its read loop keeps a batch open for long; polling costs nothing
                    // on the read loops' side, and this runs once, at shutdown.
                    await Task.Delay(1, deadline.Token).ConfigureAwait(false);
                }
            }

            OnRequestDrained();
            await _drained.Task.WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Drain period over: what is still running is cut off by the close below.
        }

        foreach (ConnMsgConnection connection in _connections.Values)
        {
            connection.Close(CloseCode.GoingAway);
        }

        if (_connections.IsEmpty)
        {
            return;
        }

        try
        {
            await _allClosed.Task.WaitAsync(Options.CloseTimeout + TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            foreach (ConnMsgConnection connection in _connections.Values)
            {
                connection.Abort();
            }
        }
    }

#if DEBUG
    /// <summary>Test seam (Debug builds only): runs while the drain waits for a read batch that is dispatching.</summary>
    internal Action? DrainWaitsForDispatch;

#endif
    /// <summary>Aborts every connection at once (tests and operators use it to simulate a network failure).</summary>
    public void AbortAll()
    {
        foreach (ConnMsgConnection connection in _connections.Values)
        {
            connection.Abort();
        }
    }
}
