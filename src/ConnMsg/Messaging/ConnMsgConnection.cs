using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ConnMsg.Http;
using ConnMsg.WebSockets;

namespace ConnMsg.Messaging;

/// <summary>
/// The per-connection context: who is connected (the handshake request), the application's state for this
/// connection, its subscriptions, and the means to push Inds, make requests to the client, or close it.
/// </summary>
/// <remarks>Thread-safe: any member may be called from any thread (handlers of one connection run concurrently).</remarks>
public sealed partial class ConnMsgConnection
{
    private readonly ConnMsgApplication _app;
    private readonly WebSocketConnection _transport;
    private readonly List<Topics.Topic> _subscriptions = new();
    private bool _subscriptionsTaken; // guarded by _subscriptions: set when the closing connection takes them back
    private CancellationTokenSource? _closedSource; // created when first asked for: most connections never are
    private object? _state;

    internal ConnMsgConnection(ConnMsgApplication app, WebSocketConnection transport)
    {
        _app = app;
        _transport = transport;
    }

    /// <summary>The connection id, as sent in the <c>$session</c> Ind.</summary>
    public string Id => _transport.Id;

    /// <summary>The HTTP upgrade request: path, query and headers.</summary>
    public HttpRequestHead Request => _transport.Request;

    /// <summary>The application's services (as <c>HttpContext.RequestServices</c> is for HTTP).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>The remote endpoint, when known.</summary>
    public string? RemoteEndPoint => _transport.RemoteEndPoint;

    /// <summary>Cancelled once the connection has closed.</summary>
    public CancellationToken Closed
    {
        get
        {
            if (Volatile.Read(ref _closedFlag) != 0)
            {
                return new CancellationToken(canceled: true);
            }

            CancellationTokenSource source = LazyInitializer.EnsureInitialized(ref _closedSource);
            if (Volatile.Read(ref _closedFlag) != 0)
            {
                // The connection closed while the source was being created, after the closer looked for it.
                source.Cancel();
            }

            return source.Token;
        }
    }

    /// <summary>Per-connection items for the application's own use.</summary>
    public ConcurrentDictionary<string, object?> Items => LazyInitializer.EnsureInitialized(ref _items);

    private ConcurrentDictionary<string, object?>? _items;

    /// <summary>The state object created for this connection by <see cref="Hosting.ConnMsgBuilder.WithState{TState}(Func{ConnMsgConnection, TState})"/>.</summary>
    /// <exception cref="InvalidOperationException">No state of that type was configured.</exception>
    public TState GetState<TState>() where TState : class =>
        _state as TState ?? throw new InvalidOperationException($"No connection state of type {typeof(TState).Name} is configured.");

    internal object? State
    {
        get => _state;
        set => _state = value;
    }

    /// <summary>The topics this connection is subscribed to.</summary>
    public IReadOnlyList<string> Subscriptions
    {
        get
        {
            lock (_subscriptions)
            {
                return _subscriptions.Select(t => t.Name).ToArray();
            }
        }
    }

    /// <summary>Sends an Ind to this connection only. <paramref name="data"/> is one raw JSON value (or empty for none).</summary>
    /// <returns>A completed task: the Ind is queued, never awaited on the network.</returns>
    public ValueTask SendIndAsync(string topic, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ValidateTopic(topic);
        if (!data.IsEmpty && !JsonValue.IsSingleValue(data.Span))
        {
            throw new ArgumentException("data must be exactly one JSON value, in UTF-8.", nameof(data));
        }

        Send(MessageWriter.Ind(topic, 0, data.Span, validateData: false));
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Sends an Ind to this connection only, with data serialised by a source-generated <paramref name="typeInfo"/> and
    /// its options (encoder, naming, depth, ...), but never indented: a message is one line.
    /// </summary>
    public ValueTask SendIndAsync<T>(string topic, T data, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        cancellationToken.ThrowIfCancellationRequested();
        ValidateTopic(topic);
        Send(MessageWriter.Ind(topic, data, typeInfo));
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Subscribes this connection to <paramref name="topic"/> from the server side, under the limits a client's
    /// <c>$subscribe</c> has. A connection that has closed is left unsubscribed, without an error.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="topic"/> is not a valid topic name.</exception>
    /// <exception cref="ConnMsgRejectException">
    /// With code <c>overloaded</c> when the connection already holds <see cref="ConnMsgOptions.MaxSubscriptionsPerConnection"/>
    /// subscriptions, none of them to <paramref name="topic"/>, or when the topic would be a new history topic beyond <see cref="ConnMsgOptions.MaxHistoryTopics"/>;
    /// thrown from a handler, it becomes that handler's <c>rej</c>, as the client's own <c>$subscribe</c> would be answered.
    /// </exception>
    public void Subscribe(string topic)
    {
        ValidateTopic(topic);
        int max = _app.Options.MaxSubscriptionsPerConnection;
        if (!MaySubscribeMore(topic, max))
        {
            throw new ConnMsgRejectException(RejectCodes.Overloaded, $"too many subscriptions (limit {max})");
        }

        if (!_app.Topics.Subscribe(this, topic, since: null, rawId: default))
        {
            throw new ConnMsgRejectException(RejectCodes.Overloaded, _app.Topics.TooManyHistoryTopicsReason);
        }
    }

    /// <summary>Removes this connection's subscription to <paramref name="topic"/>, if any.</summary>
    public void Unsubscribe(string topic) => _app.Topics.Unsubscribe(this, topic);

    /// <summary>Starts a close handshake with <paramref name="code"/> (default 1000).</summary>
    public void Close(ushort code = CloseCode.Normal) => _transport.Close(code, default);

    /// <summary>Drops the connection at once, without a close handshake.</summary>
    public void Abort() => _transport.Abort();

    internal WebSocketConnection Transport => _transport;

    internal ConnMsgApplication App => _app;

    /// <summary>Queues a frame for this connection (takes over one reference). Returns false when it was dropped.</summary>
    internal bool Send(OutboundFrame frame) => _transport.Enqueue(frame);

    /// <summary>
    /// Records a subscription; false once the connection has handed its subscriptions back on closing, when the caller
    /// must not list the connection as a subscriber (nothing would ever take it out again).
    /// </summary>
    internal bool AddSubscription(Topics.Topic topic)
    {
        lock (_subscriptions)
        {
            if (_subscriptionsTaken)
            {
                return false;
            }

            if (!_subscriptions.Contains(topic))
            {
                _subscriptions.Add(topic);
            }

            return true;
        }
    }

    /// <summary>Whether one more subscription fits under <paramref name="max"/>; one already held always does.</summary>
    internal bool MaySubscribeMore(string topic, int max)
    {
        lock (_subscriptions)
        {
            if (_subscriptions.Count < max)
            {
                return true;
            }

            foreach (Topics.Topic held in _subscriptions)
            {
                if (held.Name == topic)
                {
                    return true;
                }
            }

            return false;
        }
    }

    internal bool RemoveSubscription(Topics.Topic topic)
    {
        lock (_subscriptions)
        {
            return _subscriptions.Remove(topic);
        }
    }

    internal Topics.Topic[] TakeSubscriptions()
    {
        lock (_subscriptions)
        {
            _subscriptionsTaken = true;
            Topics.Topic[] all = _subscriptions.ToArray();
            _subscriptions.Clear();
            return all;
        }
    }

    private static void ValidateTopic(string topic)
    {
        if (!Names.IsValid(topic, Names.MaxTopicBytes, allowReserved: true))
        {
            throw new ArgumentException("A topic is 1..256 characters of A-Z a-z 0-9 . _ - : /.", nameof(topic));
        }
    }
}
