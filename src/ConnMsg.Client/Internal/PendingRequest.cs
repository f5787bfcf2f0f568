namespace ConnMsg.Client.Internal;

/// <summary>A request awaiting its answer, keyed by its integer id in the connection's pending table.</summary>
/// <remarks>
/// Whoever removes the entry from the table (the receive loop or the connection-lost sweep) completes it; a
/// cancel or timeout abandons it in place. Completion is first-wins, so a lost race is harmless.
/// </remarks>
internal abstract class PendingRequest
{
    private int _abandoned;

    protected PendingRequest(long id, bool deferCompletion)
    {
        Id = id;
        DeferCompletion = deferCompletion;
    }

    /// <summary>
    /// Batched mode: the receive loop <see cref="Stage"/>s the outcome and the connection <see cref="Release"/>s it
    /// later from a thread-pool work item together with the rest of its batch.
    /// </summary>
    public bool DeferCompletion { get; }

    /// <summary>Set once, before the request is registered.</summary>
    public long Id { get; set; }

    /// <summary>
    /// When the connection's timeout sweep abandons it (a <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> value); 0 when the request
    /// enforces its own timeout with a timer instead.
    /// </summary>
    public long Deadline { get; set; }

    /// <summary>The timeout the <see cref="Deadline"/> came from, for the error message.</summary>
    public TimeSpan Timeout { get; set; }

    /// <summary>The caller's token, for the <see cref="OperationCanceledException"/> of a cancel.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>Set when the caller stopped waiting (cancelled, timed out); the entry stays until its late answer.</summary>
    public bool IsAbandoned => Volatile.Read(ref _abandoned) != 0;

    /// <summary>Runs on the receive loop: must be quick and must not throw.</summary>
    public abstract void Complete(ReadOnlySpan<byte> data);

    /// <summary>
    /// Called once by whoever takes the request out of the pending table: the receive loop with its answer
    /// (<paramref name="confirmed"/> for a <c>cfm</c>) or the connection-lost sweep (false). Also called after the
    /// caller gave up waiting, which is the point: the server acted on the request all the same. Not called for a
    /// request taken back unsent. Must be quick and must not throw.
    /// </summary>
    public virtual void OnSettled(bool confirmed)
    {
    }

    public abstract void Fail(Exception error);

    /// <summary>Reads the answer's data (it lies in the receive buffer only now) and holds the outcome for <see cref="Release"/>.</summary>
    public abstract void Stage(ReadOnlySpan<byte> data);

    /// <summary>Holds a failure (a <c>rej</c>) for <see cref="Release"/>.</summary>
    public abstract void StageFailure(Exception error);

    /// <summary>Completes with the staged outcome, unless a cancel or timeout got there first.</summary>
    public abstract void Release();

    /// <summary>
    /// Fails the caller's task but leaves the entry in the pending table: the server still has the request in
    /// flight, so its slot is held until the late answer arrives and is discarded.
    /// </summary>
    public void Abandon(Exception error)
    {
        Volatile.Write(ref _abandoned, 1);
        Fail(error);
    }

    /// <summary>Like <see cref="Abandon"/>, with the failure delivered from the thread pool, so the caller's code never runs on the sweeping timer.</summary>
    public void AbandonFromThreadPool(Exception error)
    {
        Volatile.Write(ref _abandoned, 1);
        ThreadPool.UnsafeQueueUserWorkItem(static s => s.Request.Fail(s.Error), (Request: this, Error: error), preferLocal: false);
    }
}
