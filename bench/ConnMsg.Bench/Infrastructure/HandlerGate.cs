using System.Threading.Tasks.Sources;
using ConnMsg.Messaging;

namespace ConnMsg.Bench.Infrastructure;

/// <summary>
/// What an asynchronous handler waits for, allocating nothing itself: <see cref="Hold"/> (a handler) parks the request
/// behind a reusable <see cref="IValueTaskSource"/>, <see cref="WaitAsync"/> is the same wait for a handler written as
/// an <c>async</c> method, and <see cref="Release"/> confirms the held request, if any, and completes the wait on the
/// caller's thread. Whatever an asynchronous request then allocates is ConnMsg's own doing (or the async method's).
/// </summary>
/// <remarks>One request at a time; not thread-safe.</remarks>
internal sealed class HandlerGate : IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core;
    private ConnMsgRequest? _held;

    /// <summary>The handler: keeps the request and returns a pending task.</summary>
    public ValueTask Hold(ConnMsgRequest request)
    {
        if (_held is not null)
        {
            throw new InvalidOperationException("the gate already holds a request");
        }

        _held = request;
        return new ValueTask(this, _core.Version);
    }

    /// <summary>A wait that <see cref="Release"/> ends.</summary>
    public ValueTask WaitAsync() => new(this, _core.Version);

    /// <summary>Confirms the held request (if one is held) with its own data and ends the wait.</summary>
    public void Release()
    {
        if (_held is { } request)
        {
            _held = null;
            request.Confirm(request.Data.Span);
        }

        _core.SetResult(true);
    }

    void IValueTaskSource.GetResult(short token)
    {
        _core.GetResult(token);
        _core.Reset();
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
