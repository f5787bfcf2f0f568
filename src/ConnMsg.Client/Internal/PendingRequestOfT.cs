using System.Threading.Tasks.Sources;

namespace ConnMsg.Client.Internal;

/// <summary>A pending request whose <c>cfm</c> data is converted to <typeparamref name="T"/> on arrival.</summary>
/// <remarks>
/// The conversion runs on the receive loop while the data still lies in the receive buffer, which saves a copy.
/// The request is its own awaitable (<see cref="IValueTaskSource{TResult}"/>, awaited exactly once by the client),
/// so waiting for an answer allocates no TaskCompletionSource and no second Task.
/// With <c>inlineContinuations</c> the awaiting code resumes synchronously on the thread that completes the request
/// (the receive loop for answers): no thread-pool hop per request, and the request that code sends next joins the
/// receive loop's batched write. Without it, continuations are queued to the thread pool (the receive loop is never
/// held up by the caller's code). The client's own awaits (subscribe, re-subscribe) always use the latter.
/// </remarks>
internal abstract class PendingRequest<T> : PendingRequest, IValueTaskSource<T>
{
    private ManualResetValueTaskSourceCore<T> _core;
    private int _completed;

    protected PendingRequest(long id, bool inlineContinuations)
        : base(id)
    {
        _core.RunContinuationsAsynchronously = !inlineContinuations;
    }

    /// <summary>The answer; await it once.</summary>
    public ValueTask<T> Task => new(this, _core.Version);

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

        if (Interlocked.Exchange(ref _completed, 1) == 0)
        {
            _core.SetResult(value);
        }
    }

    public sealed override void Fail(Exception error)
    {
        if (Interlocked.Exchange(ref _completed, 1) == 0)
        {
            _core.SetException(error);
        }
    }

    T IValueTaskSource<T>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<T>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<T>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);

    protected abstract T Read(ReadOnlySpan<byte> data);
}
