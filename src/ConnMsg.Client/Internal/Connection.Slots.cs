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

            waiter = new SlotWaiter();
            _slotWaiters.Enqueue(waiter);
        }

        waiter.CancelOn(cancellationToken);
        return waiter.Task;
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
        }

        return null;
    }
}
