using System.Collections.Concurrent;
using System.Text;
using ConnMsg.Diagnostics;

namespace ConnMsg.Messaging.Topics;

/// <summary>All topics of the server, by name. Topics without history exist while they have subscribers.</summary>
/// <remarks>Thread-safe.</remarks>
internal sealed class TopicRegistry
{
    private readonly ConcurrentDictionary<string, Topic> _topics = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Topic>.AlternateLookup<ReadOnlySpan<char>> _byChars;
    private readonly ConnMsgOptions _options;
    private readonly MessagingMetrics _metrics;

    public TopicRegistry(ConnMsgOptions options, MessagingMetrics metrics)
    {
        _options = options;
        _metrics = metrics;
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

    /// <summary>Publishes raw JSON <paramref name="data"/> on <paramref name="topic"/>; returns the subscribers reached.</summary>
    public int Publish(ReadOnlySpan<char> topic, ReadOnlySpan<byte> data, bool validateData)
    {
        if (!_byChars.TryGetValue(topic, out Topic? t))
        {
            if (!KeepsHistory(topic))
            {
                _metrics.IndPublished(0, 0);
                return 0; // nobody listens, and nothing is kept
            }

            string name = topic.ToString();
            t = _topics.GetOrAdd(name, n => new Topic(n, _options.HistoryCapacity));
        }

        return t.Publish(data, validateData, _metrics);
    }

    /// <summary>Publishes on a topic named by its UTF-8 bytes (as read from a request).</summary>
    public int Publish(ReadOnlySpan<byte> topicUtf8, ReadOnlySpan<byte> data, bool validateData)
    {
        Span<char> chars = stackalloc char[topicUtf8.Length];
        int n = Encoding.UTF8.GetChars(topicUtf8, chars);
        return Publish(chars[..n], data, validateData);
    }

    public void Subscribe(ConnMsgConnection connection, string topic, long? since, ReadOnlySpan<byte> rawId)
    {
        while (true)
        {
            Topic t = _topics.GetOrAdd(topic, n => new Topic(n, KeepsHistory(n) ? _options.HistoryCapacity : 0));
            if (t.TrySubscribe(connection, since, rawId))
            {
                return;
            }

            // The topic was retired between lookup and subscribe: take out the stale entry and try with a fresh one.
            _topics.TryRemove(new KeyValuePair<string, Topic>(topic, t));
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
            _topics.TryRemove(new KeyValuePair<string, Topic>(topic.Name, topic));
        }
    }

    /// <summary>Subscriber count of a topic, 0 when it does not exist.</summary>
    public int SubscriberCount(string topic) => _topics.TryGetValue(topic, out Topic? t) ? t.SubscriberCount : 0;
}
