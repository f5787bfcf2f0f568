namespace ConnMsg.Client.Internal;

/// <summary>A pending request whose <c>cfm</c> data is converted to <typeparamref name="T"/> on arrival.</summary>
/// <remarks>
/// The conversion runs on the receive loop while the data still lies in the receive buffer, which saves
/// a copy; continuations run asynchronously so the caller's code never runs on (or stalls) the receive loop.
/// </remarks>
internal abstract class PendingRequest<T> : PendingRequest
{
    private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected PendingRequest(long id) : base(id) { }

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
