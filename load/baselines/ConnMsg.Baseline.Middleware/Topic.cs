namespace ConnMsg.Baseline.Middleware;

/// <summary>One topic's subscribers and, for <c>history.</c> topics, its last Inds.</summary>
/// <remarks>Thread-safety: all members lock the instance; the subscriber array is copy-on-write so publishing reads it once.</remarks>
internal sealed class Topic
{
    private readonly Queue<(long Seq, byte[] Ind)>? _history;
    private BaselineConnection[] _subscribers = [];
    private long _seq;

    /// <summary>Creates a topic; history is kept when <paramref name="keepsHistory"/> is true.</summary>
    public Topic(string name, bool keepsHistory)
    {
        Name = name;
        _history = keepsHistory ? new Queue<(long, byte[])>() : null;
    }

    /// <summary>The topic name.</summary>
    public string Name { get; }

    /// <summary>True for topics that number their Inds and keep the last ones.</summary>
    public bool KeepsHistory => _history is not null;

    /// <summary>Adds a subscriber; with <paramref name="since"/> replays kept Inds first, under the same lock, so nothing is missed or doubled.</summary>
    /// <returns>Whether the replay was complete, and the current sequence number.</returns>
    public (bool Recovered, long Seq) Subscribe(BaselineConnection connection, long? since)
    {
        lock (this)
        {
            bool recovered = true;
            if (since is long from && _history is not null)
            {
                long oldestKept = _history.Count == 0 ? _seq + 1 : _history.Peek().Seq;
                recovered = from + 1 >= oldestKept || from >= _seq;
                foreach ((long seq, byte[] ind) in _history)
                {
                    if (seq > from)
                    {
                        connection.Send(ind);
                    }
                }
            }

            if (Array.IndexOf(_subscribers, connection) < 0)
            {
                _subscribers = [.. _subscribers, connection];
            }

            return (recovered, _seq);
        }
    }

    /// <summary>Removes a subscriber if present.</summary>
    public void Unsubscribe(BaselineConnection connection)
    {
        lock (this)
        {
            int index = Array.IndexOf(_subscribers, connection);
            if (index >= 0)
            {
                var copy = new BaselineConnection[_subscribers.Length - 1];
                Array.Copy(_subscribers, 0, copy, 0, index);
                Array.Copy(_subscribers, index + 1, copy, index, copy.Length - index);
                _subscribers = copy;
            }
        }
    }

    /// <summary>Encodes the Ind once and queues the same bytes to every subscriber.</summary>
    /// <returns>The number of subscribers it was queued to.</returns>
    public int Publish(Func<long, byte[]> encode)
    {
        lock (this)
        {
            // Under the lock so that every subscriber sees the topic's Inds in publish order.
            long seq = _history is null ? 0 : ++_seq;
            byte[] ind = encode(seq);
            if (_history is not null)
            {
                _history.Enqueue((seq, ind));
                if (_history.Count > BaselineLimits.HistoryLength)
                {
                    _history.Dequeue();
                }
            }

            BaselineConnection[] subscribers = _subscribers;
            foreach (BaselineConnection subscriber in subscribers)
            {
                subscriber.Send(ind);
            }

            return subscribers.Length;
        }
    }
}
