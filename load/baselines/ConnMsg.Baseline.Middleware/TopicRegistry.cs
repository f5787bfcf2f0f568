using System.Collections.Concurrent;

namespace ConnMsg.Baseline.Middleware;

/// <summary>All topics of the server, created on first use.</summary>
/// <remarks>Thread-safety: safe for concurrent use.</remarks>
internal sealed class TopicRegistry
{
    private readonly ConcurrentDictionary<string, Topic> _topics = new(StringComparer.Ordinal);

    /// <summary>Returns the topic named <paramref name="name"/>, creating it when needed.</summary>
    public Topic Get(string name) =>
        _topics.GetOrAdd(name, static n => new Topic(n, n.StartsWith("history.", StringComparison.Ordinal)));

    /// <summary>Removes a closed connection from every topic it subscribed to.</summary>
    public void RemoveAll(BaselineConnection connection)
    {
        string[] names;
        lock (connection.Subscriptions)
        {
            names = [.. connection.Subscriptions];
            connection.Subscriptions.Clear();
        }

        foreach (string name in names)
        {
            if (_topics.TryGetValue(name, out Topic? topic))
            {
                topic.Unsubscribe(connection);
            }
        }
    }
}
