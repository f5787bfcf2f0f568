namespace ConnMsg.WebSockets;

/// <summary>
/// A connection's outbound frames: any thread appends, one drainer at a time takes everything queued in one step.
/// </summary>
/// <remarks>
/// Producers append under a lock held for a few instructions; the drainer swaps the whole batch out under the same
/// lock and writes it without holding it, so the drainer pays one lock per batch rather than an atomic per frame.
/// The two arrays grow to the connection's high-water mark and are then reused, so steady state allocates nothing,
/// and a connection that has never queued anything holds no array at all: a <see cref="System.Collections.Concurrent.ConcurrentQueue{T}"/>
/// allocates a 32-slot segment (~770 B) up front, which is most of what an idle connection costs.
/// The lock is this object's own monitor (the queue is private to its connection and never exposed), which costs no
/// extra object per connection. Thread-safety: <see cref="Enqueue"/>, <see cref="IsEmpty"/> and <see cref="DropAll"/> from any thread;
/// <see cref="TakeAll"/> only by the connection's current drainer.
/// </remarks>
internal sealed class OutboundQueue
{
    private const int InitialCapacity = 4;

    private OutboundFrame?[] _pending = [];
    private OutboundFrame?[] _taken = [];
    private int _count;

    /// <summary>Whether nothing is queued (a snapshot).</summary>
    public bool IsEmpty => Volatile.Read(ref _count) == 0;

    /// <summary>Appends <paramref name="frame"/>; the queue holds the caller's reference until it is taken or dropped.</summary>
    public void Enqueue(OutboundFrame frame)
    {
        lock (this)
        {
            if (_count == _pending.Length)
            {
                Array.Resize(ref _pending, Math.Max(InitialCapacity, _pending.Length * 2));
            }

            _pending[_count] = frame;
            Volatile.Write(ref _count, _count + 1);
        }
    }

    /// <summary>
    /// Takes every queued frame, oldest first, into <paramref name="batch"/>[0..count). The drainer owns those references
    /// and must clear each slot it consumes before calling again: the array comes back as the next pending buffer.
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
            Volatile.Write(ref _count, 0);
            return count;
        }
    }

    /// <summary>Releases every queued frame; returns their total length in bytes.</summary>
    public long DropAll()
    {
        long bytes = 0;
        lock (this)
        {
            for (int i = 0; i < _count; i++)
            {
                OutboundFrame frame = _pending[i]!;
                _pending[i] = null;
                bytes += frame.Length;
                frame.Release();
            }

            Volatile.Write(ref _count, 0);
        }

        return bytes;
    }
}
