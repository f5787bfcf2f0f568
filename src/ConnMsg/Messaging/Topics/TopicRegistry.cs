using System.Collections.Concurrent;
using System.Text;
using ConnMsg.Diagnostics;

namespace ConnMsg.Messaging.Topics;

/// <summary>
/// All topics of the server, by name. Topics without history exist while they have subscribers; history topics until
/// they have had neither subscribers nor publishes for <see cref="ConnMsgOptions.HistoryRetention"/>, and at most
/// <see cref="ConnMsgOptions.MaxHistoryTopics"/> of them at once.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal sealed class TopicRegistry
{
    private readonly ConcurrentDictionary<string, Topic> _topics = new(StringComparer.Ordinal);
    private int _historyTopics;
    private long _nextSweepMs;
    private readonly ConcurrentDictionary<string, Topic>.AlternateLookup<ReadOnlySpan<char>> _byChars;
    private readonly ConnMsgOptions _options;
    private readonly MessagingMetrics _metrics;
    private readonly SeqOrigin _seqOrigin;

    public TopicRegistry(ConnMsgOptions options, MessagingMetrics metrics)
    {
        _options = options;
        _metrics = metrics;
        _seqOrigin = new SeqOrigin(options.HistorySeqFromClock, TimeProvider.System);
        _byChars = _topics.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public bool KeepsHistory(ReadOnlySpan<char> topic)
    {
        foreach (string prefix in _options.HistoryTopicPrefixes)
        {
            if (topic.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>History topics that exist now.</summary>
    public int HistoryTopicCount => Volatile.Read(ref _historyTopics);

    /// <summary>Whether a topic of that name exists now (for tests and diagnostics).</summary>
    public bool Exists(string topic) => _topics.ContainsKey(topic);

    /// <summary>
    /// Publishes raw JSON <paramref name="data"/> on <paramref name="topic"/>; returns the subscribers reached.
    /// Throws <see cref="ConnMsgRejectException"/> (<c>overloaded</c>) when it would create a history topic beyond the limit.
    /// </summary>
    public int Publish(ReadOnlySpan<char> topic, ReadOnlySpan<byte> data, bool validateData)
    {
        while (true)
        {
            if (!_byChars.TryGetValue(topic, out Topic? t))
            {
                if (!KeepsHistory(topic))
                {
                    _metrics.IndPublished(0, 0);
                    return 0; // nobody listens, and nothing is kept
                }

                if (!TryGetOrCreate(topic.ToString(), history: true, out t))
                {
                    throw new ConnMsgRejectException(RejectCodes.Overloaded, TooManyHistoryTopicsReason);
                }
            }

            int reached = t.Publish(data, validateData, _metrics);
            if (reached >= 0)
            {
                return reached;
            }

            // Retired between lookup and publish: take out the stale entry and publish on a fresh topic.
            Remove(t);
        }
    }

    /// <summary>Publishes on a topic named by its UTF-8 bytes (as read from a request).</summary>
    public int Publish(ReadOnlySpan<byte> topicUtf8, ReadOnlySpan<byte> data, bool validateData)
    {
        Span<char> chars = stackalloc char[topicUtf8.Length];
        int n = Encoding.UTF8.GetChars(topicUtf8, chars);
        return Publish(chars[..n], data, validateData);
    }

    /// <summary>Subscribes (and confirms); false when that would create a history topic beyond the limit.</summary>
    public bool Subscribe(ConnMsgConnection connection, string topic, long? since, ReadOnlySpan<byte> rawId)
    {
        while (true)
        {
            if (!TryGetOrCreate(topic, KeepsHistory(topic), out Topic? t))
            {
                return false;
            }

            switch (t.TrySubscribe(connection, since, rawId))
            {
                case SubscribeOutcome.Subscribed:
                case SubscribeOutcome.ConnectionClosed: // nothing is left to do
                    return true;
                case SubscribeOutcome.ConnectionClosedTopicRetired:
                    Remove(t); // left empty by a connection that had closed
                    return true;
                default:
                    // The topic was retired between lookup and subscribe: take out the stale entry and try with a fresh one.
                    Remove(t);
                    break;
            }
        }
    }

    public void Unsubscribe(ConnMsgConnection connection, string topic)
    {
        if (_topics.TryGetValue(topic, out Topic? t))
        {
            connection.RemoveSubscription(t);
            RemoveSubscriber(t, connection);
        }
    }

    public void RemoveSubscriber(Topic topic, ConnMsgConnection connection)
    {
        if (topic.RemoveSubscriber(connection))
        {
            Remove(topic);
        }
    }

    /// <summary>
    /// Retires history topics idle for <see cref="ConnMsgOptions.HistoryRetention"/>; called by the server's ticker,
    /// it walks the topics at most every quarter of the retention (and at least every 10 s).
    /// </summary>
    public void Sweep(long nowMs)
    {
        if (nowMs < Volatile.Read(ref _nextSweepMs) || Volatile.Read(ref _historyTopics) == 0)
        {
            return;
        }

        long retentionMs = (long)_options.HistoryRetention.TotalMilliseconds;
        Volatile.Write(ref _nextSweepMs, nowMs + Math.Clamp(retentionMs / 4, 1, 10_000));
        foreach (KeyValuePair<string, Topic> pair in _topics)
        {
            if (pair.Value.KeepsHistory && pair.Value.TryRetireIdle(nowMs, retentionMs))
            {
                Remove(pair.Value);
            }
        }
    }

    private bool TryGetOrCreate(string name, bool history, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Topic? topic)
    {
        if (_topics.TryGetValue(name, out topic))
        {
            return true;
        }

        // Count first, so that racing creators cannot pass the limit together.
        if (history && Interlocked.Increment(ref _historyTopics) > _options.MaxHistoryTopics)
        {
            Interlocked.Decrement(ref _historyTopics);
            topic = null;
            return false;
        }

        var created = history
            ? new Topic(name, _options.HistoryCapacity, _options.HistoryCapacityBytes, _seqOrigin.Next())
            : new Topic(name, 0, 0, 0);
        topic = _topics.GetOrAdd(name, created);
        if (history && !ReferenceEquals(topic, created))
        {
            Interlocked.Decrement(ref _historyTopics);
        }

        return true;
    }

    private void Remove(Topic topic)
    {
        if (_topics.TryRemove(new KeyValuePair<string, Topic>(topic.Name, topic)) && topic.KeepsHistory)
        {
            _seqOrigin.NoteRetired(topic.LastSeq);
            Interlocked.Decrement(ref _historyTopics);
        }
    }

    /// <summary>The reason of the <c>overloaded</c> refusal of a new history topic beyond the limit.</summary>
    public string TooManyHistoryTopicsReason => $"too many history topics (limit {_options.MaxHistoryTopics})";

    /// <summary>Subscriber count of a topic, 0 when it does not exist.</summary>
    public int SubscriberCount(string topic) => _topics.TryGetValue(topic, out Topic? t) ? t.SubscriberCount : 0;
}
