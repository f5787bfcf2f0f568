using System.Collections.Concurrent;

namespace ConnMsg.Internal;

/// <summary>
/// A bounded lock-free object pool over a <see cref="ConcurrentQueue{T}"/>, the shape Kestrel uses for its memory
/// pool: any thread may return what another rented (frames are rented by producers and released by the drainer),
/// and a queue that never holds more than its segment reuses that segment, so steady state allocates nothing.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal sealed class SlotPool<T> where T : class
{
    private readonly ConcurrentQueue<T> _items = new();
    private readonly Func<T> _create;
    private readonly int _capacity;
    private int _count;

    public SlotPool(int capacity, Func<T> create)
    {
        _capacity = capacity;
        _create = create;
    }

    public T Rent()
    {
        if (_items.TryDequeue(out T? item))
        {
            Interlocked.Decrement(ref _count);
            return item;
        }

        return _create();
    }

    /// <summary>Keeps <paramref name="item"/> for a later <see cref="Rent"/>; false when the pool is full and did not take it.</summary>
    public bool Return(T item)
    {
        // The count is approximate under races, which only moves the bound by a few items.
        if (Interlocked.Increment(ref _count) <= _capacity)
        {
            _items.Enqueue(item);
            return true;
        }

        Interlocked.Decrement(ref _count);
        return false;
    }
}
