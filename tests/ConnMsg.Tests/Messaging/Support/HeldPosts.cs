namespace ConnMsg.Tests.Messaging.Support;

/// <summary>
/// A <see cref="SynchronizationContext"/> that keeps what is posted to it until the test runs it: code that yields
/// (<c>await Task.Yield()</c>) while it is current cannot complete before the test looks at it, whichever thread would
/// otherwise have been free to run the continuation at once.
/// </summary>
/// <remarks>Not thread-safe: one test thread calls <see cref="Call{T}"/> and <see cref="RunPosted"/>.</remarks>
public sealed class HeldPosts : SynchronizationContext
{
    private readonly Queue<(SendOrPostCallback Callback, object? State)> _posted = new();

    /// <summary>Whether something posted waits to be run.</summary>
    public bool HasPosted => _posted.Count != 0;

    public override void Post(SendOrPostCallback d, object? state) => _posted.Enqueue((d, state));

    /// <summary>Calls <paramref name="call"/> with this context current; what it posts waits for <see cref="RunPosted"/>.</summary>
    public T Call<T>(Func<T> call)
    {
        SynchronizationContext? previous = Current;
        SetSynchronizationContext(this);
        try
        {
            return call();
        }
        finally
        {
            SetSynchronizationContext(previous);
        }
    }

    /// <summary>Runs what was posted, in order, on the calling thread.</summary>
    public void RunPosted()
    {
        while (_posted.TryDequeue(out (SendOrPostCallback Callback, object? State) posted))
        {
            posted.Callback(posted.State);
        }
    }
}
