using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace ConnMsg.Client;

/// <summary>Settings of a <see cref="ConnMsgClient"/>. Immutable: derive variants with <c>with</c>.</summary>
public sealed record ConnMsgClientOptions
{
    /// <summary>The defaults.</summary>
    public static ConnMsgClientOptions Default { get; } = new();

    /// <summary>
    /// How long a request may wait for its answer (including waiting for a reconnect) unless the call overrides it.
    /// Default 30 s. Also bounds each re-subscription after a reconnect, which holds up the reconnect.
    /// <para><see cref="Timeout.InfiniteTimeSpan"/> lets requests wait for ever, but not those re-subscriptions: they are
    /// the client's own, and a server that never answered one would keep the connection from opening, and every
    /// request waiting for it waiting, for ever. They are bounded by <see cref="ConnectTimeout"/> instead (unbounded
    /// only when that is infinite too); one unanswered within it fails that topic alone through
    /// <see cref="ConnMsgClient.RecoveryFailed"/>.</para>
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long the WebSocket handshake may take. Default 10 s. When <see cref="RequestTimeout"/> is infinite it also
    /// bounds each re-subscription after a reconnect, which is part of opening that connection.
    /// </summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long opening a connection waits for the server's <c>$session</c> Ind to learn its limits before
    /// carrying on with <see cref="MaxMessageSize"/>. Default 2 s; zero does not wait.
    /// </summary>
    public TimeSpan SessionWaitTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The outbound message limit assumed until the server's <c>$session</c> tells the real one. Default 64 KiB (the protocol default).</summary>
    public int MaxMessageSize { get; init; } = 64 * 1024;

    /// <summary>
    /// Requests in flight per connection assumed until the server's <c>$session</c> tells its <c>maxInFlight</c>;
    /// further requests wait for a free slot instead of being rejected <c>overloaded</c>. Default 256 (the protocol default).
    /// </summary>
    public int MaxInFlight { get; init; } = 256;

    /// <summary>
    /// The most bytes of outbound messages a connection holds queued but not yet written to its socket. Default 4 MiB.
    /// <para>When a message would take the queue past it, the request waits (asynchronously, in order: no later
    /// request overtakes it) until the connection has written enough, instead of the queue growing without limit
    /// when the server or the network is slower than the application. The wait counts towards the request's timeout
    /// and honours its token: a request cancelled or timed out while waiting is never sent and fails with
    /// <see cref="OperationCanceledException"/> or <see cref="TimeoutException"/> as usual. If the connection drops
    /// meanwhile it behaves like any unsent request (retried on the next connection, or failed with
    /// <see cref="ConnMsgConnectionLostException"/>). A single message larger than this is sent once the queue is empty.
    /// Answers to the server's own requests and control frames are never held back (they still count).</para>
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to zero or less.</exception>
    public int MaxPendingSendBytes
    {
        get => _maxPendingSendBytes;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _maxPendingSendBytes = value;
        }
    }

    private readonly int _maxPendingSendBytes = 4 * 1024 * 1024;

    /// <summary>The largest inbound message accepted; a larger one drops the connection (1009). Default 16 MiB.</summary>
    public int MaxIncomingMessageSize { get; init; } = 16 * 1024 * 1024;

    /// <summary>WebSocket ping interval sent by the client. Default 15 s.</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long to wait for the pong before the connection is treated as dead. Default 30 s; infinite disables.
    /// The own transport checks it on the ping ticks (every <see cref="KeepAliveInterval"/>), and counts any
    /// frame received after the ping as an answer.
    /// </summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether to reconnect after the connection drops. Default true.</summary>
    public bool Reconnect { get; init; } = true;

    /// <summary>
    /// The first reconnect delay; doubled per attempt up to <see cref="ReconnectMaxDelay"/>, with jitter, and back to
    /// this only once a connection stayed open for <see cref="ReconnectStableAfter"/>. Default 100 ms.
    /// </summary>
    public TimeSpan ReconnectInitialDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// How long a connection must stay open before the reconnect backoff starts over from
    /// <see cref="ReconnectInitialDelay"/>. Default 5 s; zero starts it over on every successful reconnect.
    /// <para>Until then, the attempts that led to the connection keep counting: a server that accepts connections and
    /// drops them at once (refused credentials, a crash loop, a proxy that cannot reach its backend) is reconnected to
    /// ever more slowly, up to <see cref="ReconnectMaxDelay"/>, instead of every <see cref="ReconnectInitialDelay"/>
    /// forever. <see cref="ReconnectMaxAttempts"/> still counts per outage.</para>
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to less than zero.</exception>
    public TimeSpan ReconnectStableAfter
    {
        get => _reconnectStableAfter;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            _reconnectStableAfter = value;
        }
    }

    private readonly TimeSpan _reconnectStableAfter = TimeSpan.FromSeconds(5);

    /// <summary>The cap of the reconnect delay. Default 30 s.</summary>
    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Attempts per outage before giving up and going to <see cref="ConnMsgConnectionState.Closed"/>; null retries forever (the default).
    /// Requests waiting for the connection then fail with <see cref="ConnMsgConnectionLostException"/>.
    /// </summary>
    public int? ReconnectMaxAttempts { get; init; }

    /// <summary>
    /// How many times a re-subscription that the server refused <c>overloaded</c> after a reconnect is sent again on
    /// the same connection before the client gives up on the topic and raises <see cref="ConnMsgClient.RecoveryFailed"/>
    /// with that refusal. Default 10: with the default backoff (the reconnect backoff, growing per refusal) that is
    /// about a minute of overload. Zero gives up at the first refusal.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to less than zero.</exception>
    public int ResubscribeMaxRetries
    {
        get => _resubscribeMaxRetries;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _resubscribeMaxRetries = value;
        }
    }

    private readonly int _resubscribeMaxRetries = 10;

    /// <summary>Options of the reflection-based overloads (those without a <c>JsonTypeInfo</c>). Default <see cref="JsonSerializerOptions.Web"/>.</summary>
    public JsonSerializerOptions? JsonSerializerOptions { get; init; }

    /// <summary>Where the client logs; null logs nothing.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>
    /// Called on every new <see cref="ClientWebSocket"/>'s options before connecting: headers, credentials, proxy, certificates.
    /// Setting it makes the client connect through <see cref="ClientWebSocket"/> (see <see cref="UseClientWebSocket"/>).
    /// </summary>
    public Action<ClientWebSocketOptions>? ConfigureWebSocket { get; init; }

    /// <summary>
    /// Connect through <see cref="ClientWebSocket"/> instead of the client's own, faster, socket transport. Default false.
    /// The own transport speaks plain <c>ws://</c> and <c>wss://</c> with the system's default certificate
    /// validation; <see cref="ClientWebSocket"/> is used anyway whenever <see cref="ConfigureWebSocket"/> is set or
    /// the system proxy settings send the server's address through a proxy.
    /// </summary>
    public bool UseClientWebSocket { get; init; }

    /// <summary>
    /// Whether code awaiting a <c>RequestAsync</c> resumes on the thread pool (true) or synchronously on the
    /// connection's receive loop that read the answer (false, the default).
    /// <para>False: no thread hop per request, and the requests that code sends next leave in the same write as the
    /// others of that read; the fastest. The price: until the awaiting code's next <c>await</c>, it holds up the other
    /// answers of its connection, so code that blocks there (<c>.Result</c>, <c>.Wait()</c>, <c>Thread.Sleep</c>, long
    /// CPU work) stalls the connection (a blocking wait for another answer of the same connection lasts until that
    /// request times out).</para>
    /// <para>True: the answers of one read resume their callers from one thread-pool work item, one after another,
    /// off the receive loop; their requests still leave together unless one of them blocks. About two thirds of the
    /// default's throughput in the repository's benchmark; safe for blocking code.</para>
    /// Awaits under a <see cref="SynchronizationContext"/> (UI threads) resume on that context either way.
    /// </summary>
    public bool RunContinuationsAsynchronously { get; init; }

    /// <summary>Test hook: certificate validation of the own transport's TLS (a public setting would go through ClientWebSocketOptions).</summary>
    internal System.Net.Security.RemoteCertificateValidationCallback? RemoteCertificateValidation { get; init; }

    /// <summary>Test hook: the client socket's SO_SNDBUF (either transport), so tests see backpressure without writing megabytes.</summary>
    internal int? SocketSendBufferSize { get; init; }

    /// <summary>Test hook: awaited before every reconnect attempt, after the backoff delay.</summary>
    internal Func<int, CancellationToken, ValueTask>? BeforeReconnectAttempt { get; init; }
}
