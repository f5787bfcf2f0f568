namespace ConnMsg.Client.Internal;

/// <summary>The server's <c>maxInFlight</c> slots of one connection.</summary>
internal sealed partial class Connection
{
    /// <summary>
    /// Slots free under the server's <c>maxInFlight</c>; below zero while a lowered limit absorbs answers. Guarded by
    /// <see cref="_pendingLock"/> together with the table, so taking a slot and registering is one lock, as is
    /// removing an entry and giving its slot back. Never above zero while a live waiter is queued.
    /// </summary>
    private int _freeSlots;
    private readonly Queue<SlotWaiter> _slotWaiters = new();

    /// <summary>Waiters in <see cref="_slotWaiters"/> whose token fired (about: a grant may skip one before it is counted).</summary>
    private int _cancelledWaiters;

    /// <summary>
    /// Waits for one of the server's <c>maxInFlight</c> slots, so a burst waits here instead of being rejected
    /// <c>overloaded</c>. The slot belongs to the request's entry in the pending table and is given back when the
    /// entry leaves it (answer, or connection lost); a cancelled request keeps its entry until its late answer,
    /// because the server still counts it.
    /// </summary>
    public Task WaitForSlotAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        SlotWaiter waiter;
        lock (_pendingLock)
        {
            if (_freeSlots > 0)
            {
                _freeSlots--;
                return Task.CompletedTask;
            }

            waiter = new SlotWaiter(this);
            _slotWaiters.Enqueue(waiter);
        }

        waiter.CancelOn(cancellationToken);
        return waiter.Task;
    }

    /// <summary>
    /// A waiter's token fired before it was granted. It stays queued until a grant skips it, so when the server stops
    /// answering while callers keep timing out, the queue would grow by one per attempt: once most of it is cancelled
    /// waiters, they are swept out, which keeps the queue within about twice the waiters still waiting.
    /// </summary>
    internal void OnSlotWaiterCancelled()
    {
        lock (_pendingLock)
        {
            _cancelledWaiters++;
            if (_cancelledWaiters <= 64 || _cancelledWaiters * 2 <= _slotWaiters.Count)
            {
                return;
            }

            for (int i = _slotWaiters.Count; i > 0; i--)
            {
                SlotWaiter waiter = _slotWaiters.Dequeue();
                if (waiter.IsWaiting)
                {
                    _slotWaiters.Enqueue(waiter);
                }
            }

            _cancelledWaiters = 0;
        }
    }

    /// <summary>Waiters queued for a slot, cancelled ones not yet swept out included (for tests).</summary>
    internal int QueuedSlotWaiters
    {
        get
        {
            lock (_pendingLock)
            {
                return _slotWaiters.Count;
            }
        }
    }

    /// <summary>Slots free right now (tests check that a request gives its slot back).</summary>
    public int FreeSlots
    {
        get
        {
            lock (_pendingLock)
            {
                return Math.Max(_freeSlots, 0);
            }
        }
    }

    /// <summary>
    /// The fast path's <see cref="WaitForSlotAsync"/> and <see cref="TryRegister"/> in one: takes a free slot and adds
    /// the request, or does neither (no slot free now, or the connection died) and returns false.
    /// </summary>
    public bool TryTakeSlotAndRegister(PendingRequest request)
    {
        lock (_pendingLock)
        {
            if (_freeSlots <= 0 || Volatile.Read(ref _closed) != 0)
            {
                return false;
            }

            if (!_pending.TryAdd(request.Id, request))
            {
                throw new InvalidOperationException("Request ids must be unique.");
            }

            _freeSlots--;
            return true;
        }
    }

    /// <summary>Gives back <paramref name="count"/> slots (takes them away when negative) and hands them to waiters in order.</summary>
    private void ReleaseSlots(int count)
    {
        // Rare (a refused registration, a new limit, a dead connection): a list per call is fine.
        List<SlotWaiter>? granted = null;
        lock (_pendingLock)
        {
            _freeSlots += count;
            while (TryGrantLocked() is { } waiter)
            {
                (granted ??= []).Add(waiter);
            }
        }

        if (granted is not null)
        {
            foreach (var waiter in granted)
            {
                waiter.Grant();
            }
        }
    }

    /// <summary>Claims a free slot for the first waiter still waiting, if any; the caller grants it outside the lock.</summary>
    private SlotWaiter? TryGrantLocked()
    {
        while (_freeSlots > 0 && _slotWaiters.TryDequeue(out var waiter))
        {
            if (waiter.TryClaim())
            {
                _freeSlots--;
                return waiter;
            }

            _cancelledWaiters = Math.Max(0, _cancelledWaiters - 1);
        }

        return null;
    }
}
