namespace ConnMsg.Internal;

/// <summary>
/// Makes a task that application code returned safe to <c>await</c> inside one of ConnMsg's async methods.
/// </summary>
/// <remarks>
/// Awaiting a pending <see cref="ValueTask"/> hands the continuation to its <see cref="System.Threading.Tasks.Sources.IValueTaskSource"/>.
/// If that source throws there, the async method builder rethrows the exception on the thread pool, and the process
/// ends. Converted to a <see cref="Task"/> first, the same source throws here, on the caller's thread, and the
/// exception comes back as a faulted task that the caller's own <c>catch</c> handles. Only a task that is still
/// pending is converted, so a callback that completes synchronously costs nothing.
/// </remarks>
internal static class ApplicationTask
{
    public static ValueTask Guard(ValueTask task)
    {
        try
        {
            return task.IsCompleted ? task : new ValueTask(task.AsTask());
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    public static ValueTask<T> Guard<T>(ValueTask<T> task)
    {
        try
        {
            return task.IsCompleted ? task : new ValueTask<T>(task.AsTask());
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<T>(ex);
        }
    }
}
