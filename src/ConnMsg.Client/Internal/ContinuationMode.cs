namespace ConnMsg.Client.Internal;

/// <summary>Where the code awaiting a <see cref="PendingRequest{T}"/> resumes once its answer arrives.</summary>
internal enum ContinuationMode
{
    /// <summary>Synchronously on the receive loop that read the answer (<c>RunContinuationsAsynchronously = false</c>).</summary>
    Inline,

    /// <summary>
    /// On the thread pool, one work item per batch of answers read together: the callers of that batch resume one
    /// after another, off the receive loop, with the transport corked so the requests they send leave in one write
    /// (<c>RunContinuationsAsynchronously = true</c>).
    /// </summary>
    Batched,

    /// <summary>One thread-pool work item per request (the client's own subscribe requests).</summary>
    ThreadPool,
}
