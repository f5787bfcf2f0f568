using ConnMsg.Internal;

namespace ConnMsg.WebSockets;

/// <summary>
/// Collects the drains that code inside a read batch asks for on this thread, and starts them when the batch ends.
/// </summary>
/// <remarks>
/// A publish fans one frame out to every subscriber. Scheduled one by one, each subscriber costs a thread-pool hop
/// and a write per frame; deferred to the end of the publisher's read batch, each subscriber gets every frame of the
/// batch in one write, and the hops are one per <see cref="ChunkSize"/> subscribers. Small batches drain inline
/// (no hop at all); large ones go to the pool in chunks so that other cores can share the writes.
/// Thread-static and used only between <see cref="Enter"/> and <see cref="Exit"/> on one thread, so it takes no lock.
/// </remarks>
internal sealed class DeferredDrains
{
    /// <summary>Drains run on the batch's own thread up to this many; beyond, in pool work items of this many each.</summary>
    internal const int ChunkSize = 64;

    private static readonly SlotPool<Chunk> s_chunks = new(256, static () => new Chunk());

    [ThreadStatic]
    private static DeferredDrains? t_current;

    private WebSocketConnection[] _pending = new WebSocketConnection[ChunkSize];
    private int _count;
    private int _depth;
    private int _largestFanOut;
    private bool _backlogged;

    /// <summary>Opens a batch on this thread; pair with <see cref="Exit"/> on the same thread.</summary>
    public static DeferredDrains Enter()
    {
        DeferredDrains current = t_current ??= new DeferredDrains();
        current._depth++;
        return current;
    }

    /// <summary>
    /// Takes over a drain that <paramref name="connection"/> owns (its drain state is set) when a batch is open on this
    /// thread; returns false when none is, and the caller schedules the drain itself.
    /// </summary>
    public static bool TryDefer(WebSocketConnection connection)
    {
        DeferredDrains? current = t_current;
        if (current is null || current._depth == 0)
        {
            return false;
        }

        if (current._count == current._pending.Length)
        {
            Array.Resize(ref current._pending, current._pending.Length * 2);
        }

        current._pending[current._count++] = connection;
        return true;
    }

    /// <summary>
    /// Records that the open batch (if any) fanned one frame out to <paramref name="subscribers"/> connections, whether
    /// or not their drains were already scheduled.
    /// </summary>
    public static void NoteFanOut(int subscribers)
    {
        if (t_current is { _depth: > 0 } current && subscribers > current._largestFanOut)
        {
            current._largestFanOut = subscribers;
        }
    }

    /// <summary>
    /// Records that the open batch (if any) queued a frame behind a drain that has fallen far behind
    /// (more than <see cref="ConnMsgOptions.PublisherYieldBytes"/> still queued).
    /// </summary>
    public static void NoteBacklog()
    {
        if (t_current is { _depth: > 0 } current)
        {
            current._backlogged = true;
        }
    }

    /// <summary>
    /// Closes the batch; the outermost close starts every deferred drain. Returns true when the batch queued frames
    /// behind a backlogged drain (<see cref="NoteBacklog"/>): the reader should then yield to the drains before it reads
    /// again. Without that, a publisher on a saturated core is read as fast as it sends while the drains get what is
    /// left, its subscribers' queues grow until they are closed as slow consumers, and the growing queues (and the
    /// collections they cause) slow the drains further.
    /// </summary>
    public bool Exit()
    {
        if (--_depth != 0)
        {
            return false;
        }

        bool backlogged = _backlogged;
        _backlogged = false;
        if (_count == 0)
        {
            _largestFanOut = 0;
            return backlogged;
        }

        int count = _count;
        _count = 0;
        int fanOut = _largestFanOut;
        _largestFanOut = 0;
        // A big topic goes to the pool even when only a few of its subscribers needed a new drain (the rest still had
        // one pending): writing those few here would hold up this connection's reads for a handful of frames each,
        // and under load that keeps every later batch small too.
        if (count <= ChunkSize && fanOut <= ChunkSize)
        {
            for (int i = 0; i < count; i++)
            {
                WebSocketConnection connection = _pending[i];
                _pending[i] = null!;
                connection.RunOwnedDrain();
            }

            return backlogged;
        }

        for (int start = 0; start < count; start += ChunkSize)
        {
            Chunk chunk = s_chunks.Rent();
            chunk.Count = Math.Min(ChunkSize, count - start);
            Array.Copy(_pending, start, chunk.Connections, 0, chunk.Count);
            ThreadPool.UnsafeQueueUserWorkItem(chunk, preferLocal: false);
        }

        Array.Clear(_pending, 0, count);
        return backlogged;
    }

    private sealed class Chunk : IThreadPoolWorkItem
    {
        public readonly WebSocketConnection[] Connections = new WebSocketConnection[ChunkSize];
        public int Count;

        public void Execute()
        {
            int last = Count - 1;
            for (int i = 0; i < last; i++)
            {
                WebSocketConnection connection = Connections[i];
                Connections[i] = null!;
                connection.RunOwnedDrain();
            }

            // Back to the pool before the last drain, not after it: a publisher that has seen every delivery (the
            // fan-out benchmark waits for exactly that) would otherwise rent while this chunk was still out, and the
            // pool would grow by one chunk each time it lost that race.
            WebSocketConnection lastConnection = Connections[last];
            Connections[last] = null!;
            s_chunks.Return(this);
            lastConnection.RunOwnedDrain();
        }
    }
}
