namespace ConnMsg.Client.Internal;

/// <summary>What became of a message offered to a <see cref="Transport"/>.</summary>
internal enum SendOutcome
{
    /// <summary>Queued: the transport owns the message now.</summary>
    Queued,

    /// <summary>No room under <see cref="ConnMsgClientOptions.MaxPendingSendBytes"/> right now; the caller keeps the message.</summary>
    Full,

    /// <summary>The transport is closing; the caller keeps the message.</summary>
    Closed,

    /// <summary>The caller's token fired while it waited for room; nothing was queued and the caller keeps the message.</summary>
    Cancelled,
}

/// <summary>
/// The bound on a transport's unsent bytes (<see cref="ConnMsgClientOptions.MaxPendingSendBytes"/>): counts the
/// payload bytes queued and not yet written, and parks senders that do not fit in a FIFO queue until the transport
/// has written enough. A waiter is never overtaken: while one waits, every later sender waits behind it.
/// </summary>
/// <remarks>
/// Not thread-safe: every member runs under the owning transport's send lock. Invariant after each call: the queue
/// is empty, or its head is a live waiter that does not fit (so the owner must call <see cref="TryAdmitNext"/>
/// whenever bytes are released or a waiter leaves).
/// </remarks>
internal sealed class SendBound
{
    private readonly Queue<SendWaiter> _waiters = new();
    private readonly long _limit;

    public SendBound(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        _limit = limit;
    }

    /// <summary>Payload bytes queued and not yet written (including the write in progress).</summary>
    public long PendingBytes { get; private set; }

    /// <summary>Senders waiting for room.</summary>
    public int WaiterCount { get; private set; }

    /// <summary>Reserves room for a message if nobody waits and it fits. A message larger than the limit fits an empty queue.</summary>
    public bool TryReserve(int length)
    {
        if (_waiters.Count == 0 && Fits(length))
        {
            PendingBytes += length;
            return true;
        }

        return false;
    }

    /// <summary>Counts a message that is queued regardless of the bound (answers to the server's requests).</summary>
    public void ReserveUnbounded(int length) => PendingBytes += length;

    /// <summary>Bytes have been written.</summary>
    public void Release(long length) => PendingBytes -= length;

    /// <summary>Parks a sender behind the others; the owner checked <see cref="TryReserve"/> under the same lock.</summary>
    public SendWaiter Park(Transport owner, OutboundMessage message)
    {
        var waiter = new SendWaiter(owner, message);
        _waiters.Enqueue(waiter);
        WaiterCount++;
        return waiter;
    }

    /// <summary>
    /// Takes the head waiter if its message fits now, reserving its room; the owner queues the message and then
    /// calls <see cref="Complete"/> with <see cref="SendOutcome.Queued"/>. Cancelled waiters are dropped on the way.
    /// </summary>
    public bool TryAdmitNext(out SendWaiter? waiter)
    {
        while (_waiters.TryPeek(out waiter))
        {
            if (waiter.IsDone)
            {
                _waiters.Dequeue();
                continue;
            }

            if (!Fits(waiter.Message.Length))
            {
                break;
            }

            _waiters.Dequeue();
            PendingBytes += waiter.Message.Length;
            return true;
        }

        waiter = null;
        return false;
    }

    /// <summary>Settles a waiter once; false if it was settled already (admitted, closed or cancelled first).</summary>
    public bool Complete(SendWaiter waiter, SendOutcome outcome)
    {
        if (waiter.IsDone)
        {
            return false;
        }

        WaiterCount--;
        waiter.SetDone(outcome);
        return true;
    }

    /// <summary>The transport is closing: every waiter gets <see cref="SendOutcome.Closed"/> and keeps its message.</summary>
    public void CloseAll()
    {
        while (_waiters.TryDequeue(out var waiter))
        {
            Complete(waiter, SendOutcome.Closed);
        }
    }

    private bool Fits(int length) => PendingBytes == 0 || PendingBytes + length <= _limit;
}

/// <summary>A sender parked by <see cref="SendBound"/>, holding its message until it is admitted, cancelled or refused.</summary>
/// <remarks>Continuations run asynchronously: waiters are settled under the transport's send lock.</remarks>
internal sealed class SendWaiter : TaskCompletionSource<SendOutcome>
{
    private readonly Transport _owner;

    public SendWaiter(Transport owner, OutboundMessage message)
        : base(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        _owner = owner;
        Message = message;
    }

    public OutboundMessage Message { get; }

    /// <summary>Read and written under the owner's send lock.</summary>
    public bool IsDone { get; private set; }

    public void SetDone(SendOutcome outcome)
    {
        IsDone = true;
        TrySetResult(outcome);
    }

    /// <summary>Waits to be settled; the token withdraws the waiter unless it was admitted first.</summary>
    public async ValueTask<SendOutcome> WaitAsync(CancellationToken cancellationToken)
    {
        using (cancellationToken.UnsafeRegister(static s =>
        {
            var waiter = (SendWaiter)s!;
            waiter._owner.CancelWaiter(waiter);
        }, this))
        {
            return await Task.ConfigureAwait(false);
        }
    }
}
