using System.Runtime.CompilerServices;

namespace ConnMsg.Client.Internal;

/// <summary>A pending request whose <c>cfm</c> data is converted to <typeparamref name="T"/> on arrival.</summary>
/// <remarks>
/// The conversion runs on the receive loop while the data still lies in the receive buffer, which saves a copy.
/// <see cref="Task"/> is the very task the caller gets back, completed here through an
/// <see cref="AsyncTaskMethodBuilder{TResult}"/>: no async method stands between the answer and the caller, so an
/// answer costs no state machine box, no execution-context hop and no second task. The builder is used rather than a
/// <see cref="TaskCompletionSource{TResult}"/> because it completes the task exactly as an async method would (an
/// <see cref="OperationCanceledException"/> cancels it and is rethrown as is), which is what callers saw before.
/// Where the awaiting code resumes is the <see cref="ContinuationMode"/>: inline on the receive loop (no thread hop;
/// the requests that code sends next join the receive loop's batched write), batched (the receive loop stages the
/// outcome and one thread-pool work item per read releases them all), or one thread-pool item per request.
/// </remarks>
internal abstract class PendingRequest<T> : PendingRequest, IThreadPoolWorkItem
{
    private const int NotRegistered = 0;
    private const int Registered = 1;
    private const int Unhooked = 2;

    private readonly bool _runAsynchronously;
    private AsyncTaskMethodBuilder<T> _builder;
    private int _completed;
    private T? _staged;
    private Exception? _stagedError;
    private CancellationTokenRegistration _registration;
    private int _registrationState;

    protected PendingRequest(long id, ContinuationMode mode)
        : base(id, mode == ContinuationMode.Batched)
    {
        _runAsynchronously = mode == ContinuationMode.ThreadPool;
        _builder = AsyncTaskMethodBuilder<T>.Create();

        // Created now, on the caller's thread: the receive loop may complete it before the caller reads it.
        _ = _builder.Task;
    }

    /// <summary>The answer; completed once.</summary>
    public Task<T> Task => _builder.Task;

    /// <summary>
    /// Abandons the request when <see cref="PendingRequest.CancellationToken"/> fires; the registration goes as soon as
    /// the outcome is known. Call at most once, after the request was sent.
    /// </summary>
    public void AbandonOnCancellation()
    {
        var registration = CancellationToken.UnsafeRegister(static s =>
        {
            var pending = (PendingRequest)s!;

            // The entry stays (the server still counts the request) but is marked, so its late answer is discarded.
            pending.Abandon(new OperationCanceledException("The request was cancelled.", null, pending.CancellationToken));
        }, this);

        _registration = registration;
        if (Interlocked.CompareExchange(ref _registrationState, Registered, NotRegistered) != NotRegistered)
        {
            // The outcome got there first (or the token fired at once): nothing left to cancel.
            registration.Unregister();
        }
    }

    public sealed override void Complete(ReadOnlySpan<byte> data)
    {
        T value;
        try
        {
            value = Read(data.IsEmpty ? "null"u8 : data);
        }
        catch (Exception e)
        {
            Fail(new ConnMsgException("The answer's data could not be read: " + e.Message, e));
            return;
        }

        Settle(value, null);
    }

    public sealed override void Stage(ReadOnlySpan<byte> data)
    {
        try
        {
            _staged = Read(data.IsEmpty ? "null"u8 : data);
        }
        catch (Exception e)
        {
            _stagedError = new ConnMsgException("The answer's data could not be read: " + e.Message, e);
        }
    }

    public sealed override void StageFailure(Exception error) => _stagedError = error;

    public sealed override void Release() => Settle(_staged!, _stagedError);

    public sealed override void Fail(Exception error) => Settle(default!, error);

    void IThreadPoolWorkItem.Execute() => Publish(_staged!, _stagedError);

    protected abstract T Read(ReadOnlySpan<byte> data);

    /// <summary>First outcome wins: an answer, a failure, a cancel or a timeout.</summary>
    private void Settle(T value, Exception? error)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return;
        }

        if (Interlocked.Exchange(ref _registrationState, Unhooked) == Registered)
        {
            // Before the caller resumes, so a caller that goes on with the same token does not pile up registrations.
            _registration.Unregister();
        }

        if (_runAsynchronously)
        {
            // Nothing else writes these once the outcome is decided; the work item reads them.
            _staged = value;
            _stagedError = error;
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            return;
        }

        Publish(value, error);
    }

    private void Publish(T value, Exception? error)
    {
        if (error is null)
        {
            _builder.SetResult(value);
        }
        else
        {
            _builder.SetException(error);
        }
    }
}
