namespace ConnMsg.Client.Internal;

/// <summary>A request awaiting its answer, keyed by its integer id in the connection's pending table.</summary>
/// <remarks>
/// Whoever removes the entry from the table (the receive loop or the connection-lost sweep) completes it; a
/// cancel or timeout abandons it in place. Completions are <c>TrySet…</c> so a lost race is harmless.
/// </remarks>
internal abstract class PendingRequest
{
    private int _abandoned;

    protected PendingRequest(long id) => Id = id;

    public long Id { get; }

    /// <summary>Set when the caller stopped waiting (cancelled, timed out); the entry stays until its late answer.</summary>
    public bool IsAbandoned => Volatile.Read(ref _abandoned) != 0;

    /// <summary>Runs on the receive loop: must be quick and must not throw.</summary>
    public abstract void Complete(ReadOnlySpan<byte> data);

    public abstract void Fail(Exception error);

    /// <summary>
    /// Fails the caller's task but leaves the entry in the pending table: the server still has the request in
    /// flight, so its slot is held until the late answer arrives and is discarded.
    /// </summary>
    public void Abandon(Exception error)
    {
        Volatile.Write(ref _abandoned, 1);
        Fail(error);
    }
}
