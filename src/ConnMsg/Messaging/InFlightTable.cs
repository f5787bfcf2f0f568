namespace ConnMsg.Messaging;

/// <summary>
/// The requests of one connection whose handlers completed asynchronously and are still running, keyed by the raw
/// bytes of their id so that <c>duplicate_id</c> is found without a string per message.
/// </summary>
/// <remarks>
/// Thread-safe through one lock, taken only for requests that go asynchronous: a request whose handler completes
/// synchronously never enters the table, and <see cref="Count"/> lets the read loop skip the lock while it is empty.
/// </remarks>
internal sealed class InFlightTable
{
    // Created by the first asynchronous request: most connections never have one, and every held connection pays for
    // what this table allocates up front. Guarded by locking this (private to its connection, never exposed).
    private HashSet<ConnMsgRequest>? _set;
    private HashSet<ConnMsgRequest>.AlternateLookup<ReadOnlySpan<byte>> _byId;
    private volatile int _count;

    public int Count => _count;

    public bool Contains(ReadOnlySpan<byte> rawId)
    {
        if (_count == 0)
        {
            return false;
        }

        lock (this)
        {
            return _set is not null && _byId.Contains(rawId);
        }
    }

    public void Add(ConnMsgRequest request)
    {
        lock (this)
        {
            if (_set is null)
            {
                _set = new HashSet<ConnMsgRequest>(IdComparer.Instance);
                _byId = _set.GetAlternateLookup<ReadOnlySpan<byte>>();
            }

            _set.Add(request);
            _count = _set.Count;
        }
    }

    /// <summary>Removes <paramref name="request"/> if it is still the entry for its id.</summary>
    public bool Remove(ConnMsgRequest request)
    {
        lock (this)
        {
            if (_set is not null && _set.TryGetValue(request, out ConnMsgRequest? actual) && ReferenceEquals(actual, request))
            {
                _set.Remove(request);
                _count = _set.Count;
                return true;
            }

            return false;
        }
    }

    /// <summary>Removes and returns the requests started before <paramref name="deadlineTickMs"/>.</summary>
    public List<ConnMsgRequest>? RemoveExpired(long deadlineTickMs)
    {
        if (_count == 0)
        {
            return null;
        }

        List<ConnMsgRequest>? expired = null;
        lock (this)
        {
            foreach (ConnMsgRequest r in _set!)
            {
                if (r.StartTickMs <= deadlineTickMs)
                {
                    (expired ??= new()).Add(r);
                }
            }

            if (expired is not null)
            {
                foreach (ConnMsgRequest r in expired)
                {
                    _set!.Remove(r);
                }

                _count = _set!.Count;
            }
        }

        return expired;
    }

    /// <summary>Removes and returns every request (the connection is gone).</summary>
    public ConnMsgRequest[] RemoveAll()
    {
        lock (this)
        {
            if (_set is null)
            {
                return [];
            }

            ConnMsgRequest[] all = _set.ToArray();
            _set.Clear();
            _count = 0;
            return all;
        }
    }

    private sealed class IdComparer : IEqualityComparer<ConnMsgRequest>, IAlternateEqualityComparer<ReadOnlySpan<byte>, ConnMsgRequest>
    {
        public static readonly IdComparer Instance = new();

        public bool Equals(ConnMsgRequest? x, ConnMsgRequest? y) => x!.RawId.SequenceEqual(y!.RawId);

        public int GetHashCode(ConnMsgRequest obj) => Hash(obj.RawId);

        public bool Equals(ReadOnlySpan<byte> alternate, ConnMsgRequest other) => alternate.SequenceEqual(other.RawId);

        public int GetHashCode(ReadOnlySpan<byte> alternate) => Hash(alternate);

        public ConnMsgRequest Create(ReadOnlySpan<byte> alternate) => throw new NotSupportedException();

        private static int Hash(ReadOnlySpan<byte> id)
        {
            var h = new HashCode();
            h.AddBytes(id);
            return h.ToHashCode();
        }
    }
}
