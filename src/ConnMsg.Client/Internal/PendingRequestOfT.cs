namespace ConnMsg.Client.Internal;

/// <summary>A pending request whose <c>cfm</c> data is converted to <typeparamref name="T"/> on arrival.</summary>
/// <remarks>
/// The conversion runs on the receive loop while the data still lies in the receive buffer, which saves a copy.
/// With <c>inlineContinuations</c> the awaiting code resumes synchronously on the thread that completes the request
/// (the receive loop for answers): no thread-pool hop per request, and the request that code sends next joins the
/// receive loop's batched write. Without it, continuations are queued to the thread pool (the receive loop is never
/// held up by the caller's code). The client's own awaits (subscribe, re-subscribe) always use the latter.
/// </remarks>
internal abstract class PendingRequest<T> : PendingRequest
{
    private readonly TaskCompletionSource<T> _completion;

    protected PendingRequest(long id, bool inlineContinuations)
        : base(id)
    {
        _completion = new(inlineContinuations ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public Task<T> Task => _completion.Task;

    public sealed override void Complete(ReadOnlySpan<byte> data)
    {
        T value;
        try
        {
            value = Read(data.IsEmpty ? "null"u8 : data);
        }
        catch (Exception e)
        {
            _completion.TrySetException(new ConnMsgException("The answer's data could not be read: " + e.Message, e));
            return;
        }

        _completion.TrySetResult(value);
    }

    public sealed override void Fail(Exception error) => _completion.TrySetException(error);

    protected abstract T Read(ReadOnlySpan<byte> data);
}
