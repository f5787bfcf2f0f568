using ConnMsg.WebSockets;

namespace ConnMsg.Messaging.Topics;

/// <summary>The last N Ind frames of a history topic with their <c>seq</c> (PROTOCOL.md §5.3).</summary>
/// <remarks>Not thread-safe: used under its topic's lock.</remarks>
internal sealed class HistoryRing
{
    private readonly OutboundFrame?[] _frames;
    private int _count;
    private long _lastSeq;

    /// <summary>An empty ring whose first Ind will be <paramref name="origin"/> + 1.</summary>
    public HistoryRing(int capacity, long origin)
    {
        _frames = new OutboundFrame?[capacity];
        _lastSeq = origin;
        Origin = origin;
    }

    /// <summary>The seq before the topic's first Ind.</summary>
    public long Origin { get; }

    public long LastSeq => _lastSeq;

    /// <summary>Oldest seq still kept; <see cref="LastSeq"/> + 1 when empty.</summary>
    public long OldestSeq => _lastSeq - _count + 1;

    /// <summary>Keeps <paramref name="frame"/> (taking one reference) as seq <see cref="LastSeq"/> + 1, dropping the oldest when full.</summary>
    public void Append(long seq, OutboundFrame frame)
    {
        int slot = Slot(seq);
        _frames[slot]?.Release();
        _frames[slot] = frame;
        _lastSeq = seq;
        if (_count < _frames.Length)
        {
            _count++;
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

    private int Slot(long seq) => (int)(seq % _frames.Length);

    public void Clear()
    {
        for (int i = 0; i < _frames.Length; i++)
        {
            _frames[i]?.Release();
            _frames[i] = null;
        }

        _count = 0;
    }
}
