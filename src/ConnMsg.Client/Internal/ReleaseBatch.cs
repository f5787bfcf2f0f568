namespace ConnMsg.Client.Internal;

/// <summary>
/// The answers of one read in batched mode (<see cref="ContinuationMode.Batched"/>): filled by the receive loop,
/// then run as one thread-pool work item that resumes their callers one after another. The transport is not corked
/// meanwhile (a caller that blocks would hold its own request back); instead the first of them to send schedules the
/// flush as a separate work item (<see cref="IsReleasing"/>), which normally runs once the batch is done, so their
/// requests still leave together, and runs on another thread if a caller blocks.
/// </summary>
/// <remarks>Filled by the receive loop only, then owned by the work item; never shared between the two.</remarks>
internal sealed class ReleaseBatch : IThreadPoolWorkItem
{
    [ThreadStatic] private static bool t_releasing;

    private readonly List<PendingRequest> _requests = [];

    /// <summary>True on a thread that is resuming a batch's callers: a send there defers its flush.</summary>
    public static bool IsReleasing => t_releasing;

    public int Count => _requests.Count;

    public void Add(PendingRequest request) => _requests.Add(request);

    public void Execute()
    {
        t_releasing = true;
        try
        {
            foreach (var request in _requests)
            {
                // A caller's exception stays in its own task; Release itself does not throw.
                request.Release();
            }
        }
        finally
        {
            _requests.Clear();
            t_releasing = false;
        }
    }
}
