using System.Threading.Tasks.Sources;

namespace ConnMsg.Client.Internal;

/// <summary>A pending request whose <c>cfm</c> data is converted to <typeparamref name="T"/> on arrival.</summary>
/// <remarks>
/// The conversion runs on the receive loop while the data still lies in the receive buffer, which saves a copy.
/// The request is its own awaitable (<see cref="IValueTaskSource{TResult}"/>, awaited exactly once by the client),
/// so waiting for an answer allocates no TaskCompletionSource and no second Task.
/// Where the awaiting code resumes is the <see cref="ContinuationMode"/>: inline on the receive loop (no thread hop;
/// the requests that code sends next join the receive loop's batched write), batched (the receive loop stages the
/// outcome and one thread-pool work item per read releases them all), or one thread-pool item per request.
/// </remarks>
internal abstract class PendingRequest<T> : PendingRequest, IValueTaskSource<T>
{
    private ManualResetValueTaskSourceCore<T> _core;
    private int _completed;
    private T? _staged;
    private Exception? _stagedError;

    protected PendingRequest(long id, ContinuationMode mode)
        : base(id, mode == ContinuationMode.Batched)
    {
        _core.RunContinuationsAsynchronously = mode == ContinuationMode.ThreadPool;
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

    public sealed override void Release()
    {
        if (_stagedError is { } error)
        {
            Fail(error);
        }
        else if (Interlocked.Exchange(ref _completed, 1) == 0)
        {
            _core.SetResult(_staged!);
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
