namespace ConnMsg.Internal;

/// <summary>
/// A small lock-free object pool: a fixed array of slots claimed with <see cref="Interlocked"/> operations, probed
/// from a per-thread start, so renting and returning never lock and never allocate once warm. A miss allocates.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal sealed class SlotPool<T> where T : class
{
    private const int Probes = 8;
    private readonly T?[] _slots;
    private readonly Func<T> _create;

    public SlotPool(int size, Func<T> create)
    {
        _slots = new T?[size];
        _create = create;
    }

    public T Rent()
    {
        T?[] slots = _slots;
        int start = Environment.CurrentManagedThreadId * Probes;
        for (int n = 0; n < Probes; n++)
        {
            ref T? slot = ref slots[(int)((uint)(start + n) % (uint)slots.Length)];
            if (slot is not null)
            {
                T? taken = Interlocked.Exchange(ref slot, null);
                if (taken is not null)
                {
                    return taken;
                }
            }
        }

        return _create();
    }

    public void Return(T item)
    {
        T?[] slots = _slots;
        int start = Environment.CurrentManagedThreadId * Probes;
        for (int n = 0; n < Probes; n++)
        {
            ref T? slot = ref slots[(int)((uint)(start + n) % (uint)slots.Length)];
            if (slot is null && Interlocked.CompareExchange(ref slot, item, null) is null)
            {
                return;
            }
        }
        // Full near this thread's slots: let the GC have it.
    }
}
