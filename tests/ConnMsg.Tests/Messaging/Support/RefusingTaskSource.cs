using System.Threading.Tasks.Sources;

namespace ConnMsg.Tests.Messaging.Support;

/// <summary>
/// Application code at its most broken: a task that stays pending and throws when asked to call a continuation, so
/// whatever awaits it fails in <c>OnCompleted</c> rather than in <c>GetResult</c>.
/// </summary>
internal sealed class RefusingTaskSource<T> : IValueTaskSource, IValueTaskSource<T>
{
    public static readonly RefusingTaskSource<T> Instance = new();

    public static ValueTask Task => new(Instance, 0);

    public static ValueTask<T> TaskOfT => new(Instance, 0);

    public ValueTaskSourceStatus GetStatus(short token) => ValueTaskSourceStatus.Pending;

    public T GetResult(short token) => throw new InvalidOperationException("never completes");

    void IValueTaskSource.GetResult(short token) => throw new InvalidOperationException("never completes");

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        throw new InvalidOperationException("refuses continuations");
}
