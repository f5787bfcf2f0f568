namespace ConnMsg;

/// <summary>
/// Limits, timeouts and policies of a ConnMsg endpoint. Bound from configuration section <c>ConnMsg</c>
/// by <see cref="Hosting.ConnMsgServiceCollectionExtensions.AddConnMsg(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{ConnMsgOptions}?)"/>.
/// </summary>
public sealed class ConnMsgOptions
{
    /// <summary>Request path of the WebSocket endpoint. Default <c>/ws</c>.</summary>
    public string Path { get; set; } = "/ws";

    /// <summary>Largest text message accepted, after reassembly of fragments; larger closes with 1009. Default 64 KiB.</summary>
    public int MaxMessageSize { get; set; } = 64 * 1024;

    /// <summary>Requests in flight per connection before new ones are refused with <c>overloaded</c>. Default 256.</summary>
    public int MaxInFlight { get; set; } = 256;

    /// <summary>Time a handler has before its request is answered with <c>timeout</c>. Default 30 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Idle time after which the server pings; twice this with nothing received closes with 1001. Default 15 s.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Time allowed for the whole HTTP upgrade request to arrive. Default 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Time a client has to finish a message once its first byte arrived: a frame still incomplete, or a fragmented message
    /// still open (whatever control frames come between its fragments), this long after closes with 1008. A client that
    /// trickles a frame in holds a read buffer of up to <see cref="MaxMessageSize"/>, and one that keeps a fragmented
    /// message open holds its reassembly buffer, while the bytes it sends keep the keep-alive satisfied; this bounds both.
    /// Raise it with <see cref="MaxMessageSize"/> for slow links. Default 10 s.
    /// </summary>
    public TimeSpan IncompleteMessageTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time the server waits for the peer's close frame after sending its own. Default 5 s.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Time graceful shutdown lets in-flight requests finish before closing with 1001. Default 10 s.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Bytes queued for one connection beyond which it is closed with 1013 (slow consumer). Default 4 MiB.</summary>
    public long MaxOutboundBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// Bytes queued for one subscriber, behind a write already due, beyond which the publisher that queued them waits
    /// for the queued writes before it is read again (or, for <see cref="Messaging.IIndPublisher"/>, before its publish
    /// completes). Lower trades fan-out throughput for latency under saturation: an Ind can wait behind about this much
    /// per subscriber. Capped at half of <see cref="MaxOutboundBytes"/>. Default 64 KiB.
    /// </summary>
    public long PublisherYieldBytes { get; set; } = 64 * 1024;

    /// <summary>The yield threshold in force: <see cref="PublisherYieldBytes"/>, at most half of <see cref="MaxOutboundBytes"/>.</summary>
    internal long EffectivePublisherYieldBytes => Math.Min(PublisherYieldBytes, MaxOutboundBytes >> 1);

    /// <summary>Longest HTTP request line accepted. Default 8 KiB.</summary>
    public int MaxRequestLineSize { get; set; } = 8 * 1024;

    /// <summary>Largest HTTP request head (request line and headers) accepted. Default 16 KiB.</summary>
    public int MaxRequestHeadSize { get; set; } = 16 * 1024;

    /// <summary>Most HTTP headers accepted in one request. Default 64.</summary>
    public int MaxHeaderCount { get; set; } = 64;

    /// <summary>Origins allowed to open a connection (exact, case-insensitive). Empty allows every origin, and requests without <c>Origin</c> are always allowed.</summary>
    public IList<string> AllowedOrigins { get; set; } = new List<string>();

    /// <summary>
    /// Topic name prefixes whose topics keep history (PROTOCOL.md §5.3); empty, no topic keeps history. Default
    /// <c>history.</c>. A list set in configuration (<c>ConnMsg:HistoryTopicPrefixes:0</c>, …) replaces the default
    /// rather than adding to it, and the list of a later configuration source replaces an earlier one's whole; a single
    /// value (<c>ConnMsg__HistoryTopicPrefixes=chat.</c>) is a list of one. Set to
    /// nothing (JSON <c>"HistoryTopicPrefixes": []</c>, or an empty <c>ConnMsg__HistoryTopicPrefixes=</c>), it turns
    /// history off. Code configures after configuration, so it may add to or replace that list.
    /// </summary>
    public IList<string> HistoryTopicPrefixes { get; set; } = new List<string> { "history." };

    /// <summary>The largest <see cref="HistoryCapacity"/> allowed.</summary>
    internal const int MaxHistoryCapacity = 100_000;

    /// <summary>
    /// Indications kept per history topic, at most 100 000; the oldest are dropped beyond, and a <c>since</c> before the
    /// oldest kept is answered <c>recovered:false</c>. Default 1000.
    /// </summary>
    public int HistoryCapacity { get; set; } = 1000;

    /// <summary>
    /// Bytes of Inds (as sent) kept per history topic, whatever <see cref="HistoryCapacity"/> allows: the oldest are
    /// dropped beyond, as for the count, and an Ind larger than this is not kept at all. At least
    /// <see cref="MaxMessageSize"/>. The pooled buffers holding the Inds round up (to a power of two, and a small Ind
    /// may sit in one of up to 1 KiB), so a full topic holds up to about twice this in memory, or
    /// <see cref="HistoryCapacity"/> KiB for small Inds; all history together, <see cref="MaxHistoryTopics"/> times that.
    /// Default 1 MiB.
    /// </summary>
    public long HistoryCapacityBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// History topics that may exist at once; publishing to or subscribing to a new one beyond is refused with
    /// <c>overloaded</c> (thrown as <see cref="Messaging.ConnMsgRejectException"/> by <see cref="Messaging.IIndPublisher"/> and
    /// <see cref="Messaging.ConnMsgConnection.Subscribe"/>), since each keeps up to <see cref="HistoryCapacity"/> Inds and
    /// <see cref="HistoryCapacityBytes"/> bytes. Default 10 000.
    /// </summary>
    public int MaxHistoryTopics { get; set; } = 10_000;

    /// <summary>
    /// Whether a new history topic counts seq from the clock (the default) rather than from 0. From the clock, a topic
    /// name never issues a seq twice, across its retirement and across server restarts, so a client's <c>since</c>
    /// from before is answered <c>recovered:false</c> instead of being "recovered" with other Inds under the numbers
    /// it had seen. The first Ind of a fresh topic then has a large seq (about 2^51), and <c>$subscribe</c> reports
    /// that origin, not 0, until it is published to. False counts from 1 as PROTOCOL §5.3's example does, for clients
    /// that assume it; recovery is then unsafe across restarts and retirements.
    /// </summary>
    public bool HistorySeqFromClock { get; set; } = true;

    /// <summary>Time a history topic with no subscribers and no publish keeps its history before it is dropped. Default 1 h.</summary>
    public TimeSpan HistoryRetention { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Topics one connection may be subscribed to at once; a <c>$subscribe</c> beyond is refused with <c>overloaded</c>, and
    /// <see cref="Messaging.ConnMsgConnection.Subscribe"/> throws <see cref="Messaging.ConnMsgRejectException"/> with that code. Default 1024.
    /// </summary>
    public int MaxSubscriptionsPerConnection { get; set; } = 1024;

    internal void Validate()
    {
        if (string.IsNullOrEmpty(Path) || Path[0] != '/') throw new InvalidOperationException("ConnMsgOptions.Path must start with '/'.");
        if (MaxMessageSize is < 256 or > 64 * 1024 * 1024) throw new InvalidOperationException("ConnMsgOptions.MaxMessageSize must be between 256 B and 64 MiB.");
        if (MaxInFlight < 1) throw new InvalidOperationException("ConnMsgOptions.MaxInFlight must be positive.");
        if (KeepAliveInterval <= TimeSpan.Zero) throw new InvalidOperationException("ConnMsgOptions.KeepAliveInterval must be positive.");
        if (HistoryCapacity is < 1 or > MaxHistoryCapacity) throw new InvalidOperationException($"ConnMsgOptions.HistoryCapacity must be between 1 and {MaxHistoryCapacity}.");
        if (HistoryCapacityBytes < MaxMessageSize) throw new InvalidOperationException("ConnMsgOptions.HistoryCapacityBytes must hold at least one message (MaxMessageSize).");
        if (MaxHistoryTopics < 1) throw new InvalidOperationException("ConnMsgOptions.MaxHistoryTopics must be positive.");
        if (HistoryRetention <= TimeSpan.Zero) throw new InvalidOperationException("ConnMsgOptions.HistoryRetention must be positive.");
        if (MaxSubscriptionsPerConnection < 1) throw new InvalidOperationException("ConnMsgOptions.MaxSubscriptionsPerConnection must be positive.");
        if (MaxOutboundBytes < MaxMessageSize) throw new InvalidOperationException("ConnMsgOptions.MaxOutboundBytes must hold at least one message.");
        if (PublisherYieldBytes < 1) throw new InvalidOperationException("ConnMsgOptions.PublisherYieldBytes must be positive.");
        RequirePositive(RequestTimeout, nameof(RequestTimeout));
        RequirePositive(HandshakeTimeout, nameof(HandshakeTimeout));
        RequirePositive(CloseTimeout, nameof(CloseTimeout));
        RequirePositive(DrainTimeout, nameof(DrainTimeout));
        RequirePositive(IncompleteMessageTimeout, nameof(IncompleteMessageTimeout));
        if (MaxRequestLineSize < 16) throw new InvalidOperationException("ConnMsgOptions.MaxRequestLineSize must be at least 16 bytes.");
        if (MaxRequestHeadSize < MaxRequestLineSize) throw new InvalidOperationException("ConnMsgOptions.MaxRequestHeadSize must be at least MaxRequestLineSize.");
        // Host, Upgrade, Connection, Sec-WebSocket-Key and Sec-WebSocket-Version: a smaller limit refuses every upgrade.
        if (MaxHeaderCount < 5) throw new InvalidOperationException("ConnMsgOptions.MaxHeaderCount must be at least 5.");
    }

    // Each is a timer's due time, so it must also fit one (24.8 days); a bad value used to fail every connection instead.
    private static void RequirePositive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero || value.TotalMilliseconds > int.MaxValue)
        {
            throw new InvalidOperationException($"ConnMsgOptions.{name} must be positive and at most {TimeSpan.FromMilliseconds(int.MaxValue)}.");
        }
    }
}
