using System.Threading.Tasks.Sources;
using ConnMsg.Messaging;

namespace ConnMsg.Bench.Infrastructure;

/// <summary>
/// An asynchronous handler that allocates nothing itself: <see cref="Hold"/> parks the request behind a reusable
/// <see cref="IValueTaskSource"/>, and <see cref="Release"/> confirms it and completes the handler on the caller's
/// thread. Whatever an asynchronous request then allocates is ConnMsg's own doing.
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

    /// <summary>Confirms the held request with its own data and lets the handler's task complete.</summary>
    public void Release()
    {
        ConnMsgRequest request = _held ?? throw new InvalidOperationException("the gate holds no request");
        _held = null;
        request.Confirm(request.Data.Span);
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
