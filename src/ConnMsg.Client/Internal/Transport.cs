namespace ConnMsg.Client.Internal;

/// <summary>
/// Moves whole text messages between a <see cref="Connection"/> and the server: one implementation over
/// <see cref="System.Net.WebSockets.ClientWebSocket"/>, one over a socket with our own RFC 6455 client codec.
/// </summary>
/// <remarks>Thread-safe: <see cref="TrySend"/> may be called from any thread at any time.</remarks>
internal abstract class Transport
{
    /// <summary>Completes once the transport's loops have exited and it calls its sink no more.</summary>
    public abstract Task Completion { get; }

    /// <summary>Starts reading; every complete text message goes to <see cref="ITransportSink.OnMessage"/>.</summary>
    public abstract void Start(ITransportSink sink);

    /// <summary>Queues one text message. True: the transport owns it now. False: closing; the caller keeps it.</summary>
    public abstract bool TrySend(OutboundMessage message);

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
