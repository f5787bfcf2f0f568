namespace ConnMsg.Client.Internal;

/// <summary>A request waiting for one of its connection's in-flight slots (see <see cref="Connection.WaitForSlotAsync"/>).</summary>
/// <remarks>
/// Granted (by the connection, under its lock) or cancelled (by the token), whichever comes first: a waiter whose token
/// fired is never handed a slot, so no slot is lost to it. A cancelled waiter stays in the connection's queue until a
/// grant skips it. Continuations run asynchronously: grants happen on the receive loop.
/// </remarks>
internal sealed class SlotWaiter : TaskCompletionSource
{
    private const int Waiting = 0;
    private const int Granted = 1;
    private const int Cancelled = 2;

    private const int NotRegistered = 0;
    private const int Registered = 1;
    private const int Unhooked = 2;

    private int _state;
    private CancellationTokenRegistration _registration;
    private int _registrationState;

    private readonly Connection _connection;

    public SlotWaiter(Connection connection)
        : base(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        _connection = connection;
    }

    /// <summary>Neither granted nor cancelled yet.</summary>
    public bool IsWaiting => Volatile.Read(ref _state) == Waiting;

    /// <summary>Takes the slot for this waiter unless its token fired first; the caller then calls <see cref="Grant"/>.</summary>
    public bool TryClaim() => Interlocked.CompareExchange(ref _state, Granted, Waiting) == Waiting;

    /// <summary>Completes a claimed waiter.</summary>
    public void Grant()
    {
        if (Interlocked.Exchange(ref _registrationState, Unhooked) == Registered)
        {
            _registration.Unregister();
        }

        TrySetResult();
    }

    /// <summary>Withdraws the waiter when <paramref name="cancellationToken"/> fires before it is granted. Call once, after queueing it.</summary>
    public void CancelOn(CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled)
        {
            return;
        }

        var registration = cancellationToken.UnsafeRegister(static (s, token) =>
        {
            var waiter = (SlotWaiter)s!;
            if (Interlocked.CompareExchange(ref waiter._state, Cancelled, Waiting) == Waiting)
            {
                waiter.TrySetCanceled(token);
                waiter._connection.OnSlotWaiterCancelled();
            }
        }, this);

        _registration = registration;
        if (Interlocked.CompareExchange(ref _registrationState, Registered, NotRegistered) != NotRegistered)
        {
            // Granted meanwhile: nothing left to cancel.
            registration.Unregister();
        }
    }
}
