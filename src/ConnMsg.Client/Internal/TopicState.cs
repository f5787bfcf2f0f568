namespace ConnMsg.Client.Internal;

/// <summary>The client's view of one subscribed topic: its local subscribers and the last <c>seq</c> delivered.</summary>
/// <remarks>
/// <see cref="Gate"/> serialises <c>$subscribe</c>/<c>$unsubscribe</c> of this topic so the server sees them in
/// the order the application meant. <see cref="LastSeq"/> is written only by the current connection's receive
/// loop (Inds and subscribe confirmations are both handled there), so duplicate filtering needs no lock.
/// </remarks>
internal sealed class TopicState(string topic)
{
    private readonly Lock _lock = new();
    private ConnMsgSubscription[] _subscribers = [];
    private long _lastSeq;
    private int _unsettled;
    private volatile bool _hasHistory;

    public string Topic { get; } = topic;

    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>
    /// The connection the server-side subscription is live on; null when none. Not always the client's open one: a
    /// reconnect re-subscribes on its new connection before it publishes it. Guarded by <see cref="Gate"/>.
    /// </summary>
    public Connection? SubscribedOn { get; set; }

    /// <summary>Set once the state left the client's topic table; a subscriber must then use a fresh state.</summary>
    public bool Removed { get; private set; }

    public ConnMsgSubscription[] Subscribers => Volatile.Read(ref _subscribers);

    /// <summary>True once the topic is known to keep history (an Ind or a confirmation carried <c>seq</c>).</summary>
    public bool HasHistory => _hasHistory;

    public long LastSeq => Volatile.Read(ref _lastSeq);

    public bool TryAdd(ConnMsgSubscription subscription)
    {
        lock (_lock)
        {
            if (Removed)
            {
                return false;
            }

            _subscribers = [.. _subscribers, subscription];
            return true;
        }
    }

    /// <summary>Removes a subscriber; returns true when none is left.</summary>
    public bool Remove(ConnMsgSubscription subscription)
    {
        lock (_lock)
        {
            int i = Array.IndexOf(_subscribers, subscription);
            if (i >= 0)
            {
                var next = new ConnMsgSubscription[_subscribers.Length - 1];
                Array.Copy(_subscribers, 0, next, 0, i);
                Array.Copy(_subscribers, i + 1, next, i, next.Length - i);
                _subscribers = next;
            }

            return _subscribers.Length == 0;
        }
    }

    /// <summary>
    /// Counts a <c>$subscribe</c> that was sent but whose caller gave up before its answer: the server may still make it
    /// live. Until <see cref="RemoveUnsettled"/> the state stays in the topic table, so a new subscriber of the topic
    /// shares its <see cref="Gate"/> with the clean-up of that subscribe.
    /// </summary>
    public void AddUnsettled()
    {
        lock (_lock)
        {
            _unsettled++;
        }
    }

    /// <summary>The abandoned <c>$subscribe</c> counted by <see cref="AddUnsettled"/> got its answer or lost its connection.</summary>
    public void RemoveUnsettled()
    {
        lock (_lock)
        {
            _unsettled--;
        }
    }

    /// <summary>Marks the state removed if it still has no subscribers and no unsettled <c>$subscribe</c>.</summary>
    public bool TryMarkRemoved()
    {
        lock (_lock)
        {
            if (_subscribers.Length != 0 || _unsettled != 0)
            {
                return false;
            }

            Removed = true;
            return true;
        }
    }

    /// <summary>Receive loop: accepts an Ind's seq, or returns false for a duplicate (already delivered).</summary>
    public bool TryAdvance(long seq)
    {
        _hasHistory = true;
        if (seq <= _lastSeq)
        {
            return false;
        }

        Volatile.Write(ref _lastSeq, seq);
        return true;
    }

    /// <summary>Receive loop: a plain subscription's cfm tells where the topic stands; live Inds follow it.</summary>
    public void RaiseTo(long seq)
    {
        _hasHistory = true;
        if (seq > _lastSeq)
        {
            Volatile.Write(ref _lastSeq, seq);
        }
    }

    /// <summary>Receive loop: recovery failed, so resume from the server's current seq even if it went backwards (server restart).</summary>
    public void ResetTo(long seq)
    {
        _hasHistory = true;
        Volatile.Write(ref _lastSeq, seq);
    }
}
