using ConnMsg.WebSockets;

namespace ConnMsg.Messaging.Topics;

/// <summary>
/// The newest Ind frames of a history topic with their <c>seq</c> (PROTOCOL.md §5.3): at most a number of them and at
/// most a number of bytes as sent, the oldest dropped first. A <c>since</c> before the oldest kept is not recovered,
/// whichever bound dropped it.
/// </summary>
/// <remarks>
/// Not thread-safe: used under its topic's lock. Its slots grow with what it keeps (doubling, up to the capacity), so a
/// topic that gets few Inds, or none, costs no array of its whole capacity; a steady publish allocates nothing.
/// </remarks>
internal sealed class HistoryRing
{
    /// <summary>Slots a ring takes for its first Ind.</summary>
    private const int InitialSlots = 16;

    private readonly int _capacity;
    private readonly long _capacityBytes;
    private OutboundFrame?[] _frames = [];
    private int _count;
    private long _bytes;
    private long _lastSeq;

    /// <summary>
    /// An empty ring whose first Ind will be <paramref name="origin"/> + 1, keeping at most <paramref name="capacity"/>
    /// Inds and <paramref name="capacityBytes"/> bytes of them.
    /// </summary>
    public HistoryRing(int capacity, long capacityBytes, long origin)
    {
        _capacity = capacity;
        _capacityBytes = capacityBytes;
        _lastSeq = origin;
        Origin = origin;
    }

    /// <summary>The seq before the topic's first Ind.</summary>
    public long Origin { get; }

    public long LastSeq => _lastSeq;

    /// <summary>Oldest seq still kept; <see cref="LastSeq"/> + 1 when empty.</summary>
    public long OldestSeq => _lastSeq - _count + 1;

    /// <summary>
    /// Keeps <paramref name="frame"/> (taking one reference) as seq <see cref="LastSeq"/> + 1, dropping the oldest while
    /// the count or the bytes are over; a frame larger than all the bytes allowed is dropped too, so its seq is issued
    /// but not kept.
    /// </summary>
    public void Append(long seq, OutboundFrame frame)
    {
        if (_count == _capacity)
        {
            DropOldest();
        }
        else if (_count == _frames.Length)
        {
            Grow();
        }

        // Free: the slot's previous seq is at least a ring's length older than this one, older than the oldest kept.
        _frames[Slot(seq)] = frame;
        _lastSeq = seq;
        _count++;
        _bytes += frame.Length;
        while (_bytes > _capacityBytes)
        {
            DropOldest();
        }
    }

    /// <summary>Hands every kept frame with seq greater than <paramref name="since"/>, oldest first, to <paramref name="to"/>.</summary>
    public void Replay(long since, ConnMsgConnection to)
    {
        for (long seq = Math.Max(since + 1, OldestSeq); seq <= _lastSeq; seq++)
        {
            OutboundFrame frame = _frames[Slot(seq)]!;
            frame.AddRef();
            to.Send(frame);
        }
    }

    public void Clear()
    {
        for (int i = 0; i < _frames.Length; i++)
        {
            _frames[i]?.Release();
            _frames[i] = null;
        }

        _count = 0;
        _bytes = 0;
    }

    private int Slot(long seq) => (int)(seq % _frames.Length);

    private void DropOldest()
    {
        int slot = Slot(OldestSeq);
        OutboundFrame frame = _frames[slot]!;
        _frames[slot] = null;
        _count--;
        _bytes -= frame.Length;
        frame.Release();
    }

    /// <summary>Doubles the slots (up to the capacity), placing each kept frame at its seq's slot in the larger ring.</summary>
    private void Grow()
    {
        int length = _frames.Length == 0 ? Math.Min(InitialSlots, _capacity) : (int)Math.Min(2L * _frames.Length, _capacity);
        var grown = new OutboundFrame?[length];
        for (long seq = OldestSeq; seq <= _lastSeq; seq++)
        {
            grown[seq % length] = _frames[Slot(seq)];
        }

        _frames = grown;
    }
}
