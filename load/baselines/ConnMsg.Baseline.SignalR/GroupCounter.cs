using System.Collections.Concurrent;

namespace ConnMsg.Baseline.SignalR;

/// <summary>
/// Counts members per group and remembers each connection's groups, which SignalR itself does not expose,
/// so that Publish can answer with a subscriber count and Whoami with the subscriptions as ConnMsg does.
/// </summary>
/// <remarks>Thread-safety: safe for concurrent use.</remarks>
internal sealed class GroupCounter
{
    private readonly ConcurrentDictionary<string, int> _members = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, byte>> _byConnection = new(StringComparer.Ordinal);

    /// <summary>Records that <paramref name="connectionId"/> joined <paramref name="group"/>; false when it already had.</summary>
    public bool Add(string connectionId, string group)
    {
        var groups = _byConnection.GetOrAdd(connectionId, static _ => new ConcurrentDictionary<string, byte>(StringComparer.Ordinal));
        if (!groups.TryAdd(group, 0))
        {
            return false;
        }

        _members.AddOrUpdate(group, 1, static (_, n) => n + 1);
        return true;
    }

    /// <summary>Records that <paramref name="connectionId"/> left <paramref name="group"/>.</summary>
    public void Remove(string connectionId, string group)
    {
        if (_byConnection.TryGetValue(connectionId, out var groups) && groups.TryRemove(group, out _))
        {
            _members.AddOrUpdate(group, 0, static (_, n) => n - 1);
        }
    }

    /// <summary>Forgets a closed connection.</summary>
    public void RemoveConnection(string connectionId)
    {
        if (_byConnection.TryRemove(connectionId, out var groups))
        {
            foreach (string group in groups.Keys)
            {
                _members.AddOrUpdate(group, 0, static (_, n) => n - 1);
            }
        }
    }

    /// <summary>The members of <paramref name="group"/>.</summary>
    public int Count(string group) => _members.TryGetValue(group, out int n) ? n : 0;

    /// <summary>The groups of <paramref name="connectionId"/>.</summary>
    public string[] GroupsOf(string connectionId) =>
        _byConnection.TryGetValue(connectionId, out var groups) ? [.. groups.Keys] : [];
}
