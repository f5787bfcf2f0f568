namespace ConnMsg.WebSockets;

/// <summary>
/// A connection's outbound frames: any thread appends, one drainer at a time takes everything queued in one step.
/// </summary>
/// <remarks>
/// Producers append under a lock held for a few instructions; the drainer swaps the whole batch out under the same
/// lock and writes it without holding it, so the drainer pays one lock per batch rather than an atomic per frame,
/// and the byte count that bounds a slow consumer is a plain field under the same lock.
/// The two arrays grow to the connection's high-water mark and are then reused, so steady state allocates nothing,
/// and a connection that has never queued anything holds no array at all: a <see cref="System.Collections.Concurrent.ConcurrentQueue{T}"/>
/// allocates a 32-slot segment (~770 B) up front, which is most of what an idle connection costs.
/// The lock is this object's own monitor (the queue is private to its connection and never exposed), which costs no
/// extra object per connection. Thread-safety: <see cref="TryEnqueue"/>,
/// <see cref="IsEmptyAfter"/>, <see cref="Close"/> and <see cref="DropAll"/> from any thread; <see cref="TakeAll"/> only by the connection's current drainer.
/// </remarks>
internal sealed class OutboundQueue
{
    // One: most connections hold one frame at a time (an answer, an Ind), and an idle one keeps what it grew to.
    private const int InitialCapacity = 1;

    private OutboundFrame?[] _pending = [];
    private OutboundFrame?[] _taken = [];
    private int _count;
    private long _bytes;
    private volatile bool _closed;

    /// <summary>
    /// Appends <paramref name="frame"/> unless that would put more than <paramref name="limit"/> bytes in the queue
    /// (a close frame always fits) or the queue was closed (<see cref="IsClosed"/>); the queue then holds the caller's
    /// reference until it is taken or dropped. Refused, the caller keeps its reference.
    /// <paramref name="drainCovered"/> says whether <paramref name="readBatch"/> or <paramref name="drainState"/> was
    /// set, as read inside the lock: a drain is then due that will take this frame, because whoever clears either flag
    /// checks <see cref="IsEmptyAfter"/> afterwards and cannot miss it. Reading both here, rather than a fence or a
    /// compare-exchange per frame, is what keeps the fan-out path to one lock per subscriber.
    /// </summary>
    public bool TryEnqueue(OutboundFrame frame, long limit, ref int readBatch, ref int drainState, out bool drainCovered)
    {
        lock (this)
        {
            if (_closed || (_bytes + frame.Length > limit && !frame.IsClose))
            {
                drainCovered = false;
                return false;
            }

            if (_count == _pending.Length)
            {
                Array.Resize(ref _pending, Math.Max(InitialCapacity, _pending.Length * 2));
            }

            _pending[_count] = frame;
            _bytes += frame.Length;
            Volatile.Write(ref _count, _count + 1);
            drainCovered = Volatile.Read(ref readBatch) != 0 || Volatile.Read(ref drainState) != 0;
            return true;
        }
    }

    /// <summary>Bytes queued and not yet taken by a drain; read without the lock, so only an estimate.</summary>
    public long QueuedBytes => Volatile.Read(ref _bytes);

    /// <summary>Whether nothing is queued, checked under the lock: pairs with the flag reads of <see cref="TryEnqueue"/>.</summary>
    public bool IsEmptyAfter()
    {
        lock (this)
        {
            return _count == 0;
        }
    }

    /// <summary>
    /// Takes every queued frame, oldest first, into <paramref name="batch"/>[0..count). The drainer owns those references
    /// and must clear each slot it consumes before calling again: the array comes back as the next pending buffer.
    /// Taken frames no longer count against the limit.
    /// </summary>
    public int TakeAll(out OutboundFrame?[] batch)
    {
        lock (this)
        {
            int count = _count;
            if (count == 0)
            {
                batch = [];
                return 0;
            }

            batch = _pending;
            _pending = _taken;
            _taken = batch;
            _bytes = 0;
            Volatile.Write(ref _count, 0);
            return count;
        }
    }

    /// <summary>True once <see cref="Close"/> or <see cref="CloseAndDropAll"/> ran: the queue takes nothing more.</summary>
    public bool IsClosed => _closed;

    /// <summary>
    /// Refuses every later frame and keeps those queued for the drainer to take: once this returns, what a drain takes
    /// is all the queue will ever hold.
    /// </summary>
    public void Close()
    {
        lock (this)
        {
            _closed = true;
        }
    }

    /// <summary>
    /// Releases every queued frame and refuses any later one. The connection's own checks before queueing cannot
    /// close the gap alone: a producer that passed them may reach the lock only after the connection ended, and a
    /// frame queued then would sit in a queue nobody drains or drops, its pooled buffer never returned.
    /// </summary>
    public void CloseAndDropAll()
    {
        lock (this)
        {
            _closed = true;
            DropAll();
        }
    }

    /// <summary>Releases every queued frame.</summary>
    public void DropAll()
    {
        lock (this)
        {
            for (int i = 0; i < _count; i++)
            {
                OutboundFrame frame = _pending[i]!;
                _pending[i] = null;
                frame.Release();
            }

            _bytes = 0;
            Volatile.Write(ref _count, 0);
        }
    }
}
