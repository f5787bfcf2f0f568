namespace ConnMsg.Client.Internal;

/// <summary>
/// Moves whole text messages between a <see cref="Connection"/> and the server: one implementation over
/// <see cref="System.Net.WebSockets.ClientWebSocket"/>, one over a socket with our own RFC 6455 client codec.
/// </summary>
/// <remarks>Thread-safe: <see cref="TrySend"/> may be called from any thread at any time.</remarks>
internal abstract class Transport
{
    protected Transport(int maxPendingSend) => Bound = new SendBound(maxPendingSend);

    /// <summary>Guards the send queue and <see cref="Bound"/>.</summary>
    protected Lock SendLock { get; } = new();

    /// <summary>The bound on unsent bytes and its waiters; used under <see cref="SendLock"/>.</summary>
    protected SendBound Bound { get; }

    /// <summary>Completes once the transport's loops have exited and it calls its sink no more.</summary>
    public abstract Task Completion { get; }

    /// <summary>Starts reading; every complete text message goes to <see cref="ITransportSink.OnMessage"/>.</summary>
    public abstract void Start(ITransportSink sink);

    /// <summary>
    /// Queues one text message if there is room under <see cref="ConnMsgClientOptions.MaxPendingSendBytes"/> and no
    /// sender waits for room. <see cref="SendOutcome.Queued"/>: the transport owns it now; otherwise
    /// (<see cref="SendOutcome.Full"/>, <see cref="SendOutcome.Closed"/>) the caller keeps it. Never waits, never allocates.
    /// </summary>
    public abstract SendOutcome TrySend(OutboundMessage message);

    /// <summary>
    /// Like <see cref="TrySend"/>, but when full waits (FIFO, behind earlier waiters) until the flusher has written
    /// enough. <see cref="SendOutcome.Cancelled"/> when the token fires first; <see cref="SendOutcome.Closed"/> when
    /// the transport closes meanwhile. Only <see cref="SendOutcome.Queued"/> transfers ownership.
    /// </summary>
    public abstract ValueTask<SendOutcome> SendAsync(OutboundMessage message, CancellationToken cancellationToken);

    /// <summary>
    /// Queues one text message regardless of the bound (it still counts): answers to the server's requests, which
    /// the receive loop sends and must never wait for. True: the transport owns it; false: closing.
    /// </summary>
    public abstract bool TrySendUnbounded(OutboundMessage message);

    /// <summary>Payload bytes queued and not yet written to the socket (diagnostics and tests).</summary>
    public long PendingSendBytes
    {
        get
        {
            lock (SendLock)
            {
                return Bound.PendingBytes;
            }
        }
    }

    /// <summary>Senders waiting for room (diagnostics and tests).</summary>
    public int SendWaiterCount
    {
        get
        {
            lock (SendLock)
            {
                return Bound.WaiterCount;
            }
        }
    }

    /// <summary>Withdraws a waiter whose token fired, unless it was admitted or refused first.</summary>
    public abstract void CancelWaiter(SendWaiter waiter);

    /// <summary>Sends what is queued, then a close frame (1000), and waits for the server's close (bounded by the token).</summary>
    public abstract Task CloseAsync(CancellationToken cancellationToken);

    /// <summary>Drops the connection now; idempotent. Pending reads and writes fail.</summary>
    public abstract void Abort();

    /// <summary>Until the matching <see cref="Uncork"/>, sends only queue; the last uncork writes them at once. Nests.</summary>
    public virtual void Cork()
    {
    }

    /// <summary>Ends a <see cref="Cork"/>.</summary>
    public virtual void Uncork()
    {
    }

    /// <summary>Releases what is left after <see cref="Completion"/>.</summary>
    public abstract void Dispose();
}
