namespace ConnMsg.Client.Internal;

/// <summary>A request awaiting its answer, keyed by its integer id in the connection's pending table.</summary>
/// <remarks>
/// Whoever removes the entry from the table (the receive loop, the timeout/cancel callback or the
/// connection-lost sweep) completes it; completions are <c>TrySet…</c> so a lost race is harmless.
/// </remarks>
internal abstract class PendingRequest
{
    protected PendingRequest(long id) => Id = id;

    public long Id { get; }

    /// <summary>Runs on the receive loop: must be quick and must not throw.</summary>
    public abstract void Complete(ReadOnlySpan<byte> data);

    public abstract void Fail(Exception error);
}
