using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ConnMsg.Client.Tests.Infrastructure;

/// <summary>Records the client's log events so tests can wait for one (e.g. "late answer discarded") instead of sleeping.</summary>
internal sealed class TestLogger : ILogger
{
    private readonly ConcurrentQueue<(int EventId, string Message)> _events = new();
    private readonly List<(int EventId, Func<string, bool> Match, TaskCompletionSource<string> Signal)> _waiters = [];
    private readonly Lock _lock = new();

    public IReadOnlyCollection<(int EventId, string Message)> Events => _events;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        string message = formatter(state, exception);
        _events.Enqueue((eventId.Id, message));
        lock (_lock)
        {
            foreach (var waiter in _waiters.Where(w => w.EventId == eventId.Id && w.Match(message)).ToList())
            {
                waiter.Signal.TrySetResult(message);
                _waiters.Remove(waiter);
            }
        }
    }

    /// <summary>Completes when (or if already) an event with <paramref name="eventId"/> whose message matches was logged.</summary>
    public Task<string> WaitForAsync(int eventId, Func<string, bool>? match = null)
    {
        match ??= _ => true;
        var signal = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            foreach (var (id, message) in _events)
            {
                if (id == eventId && match(message))
                {
                    signal.TrySetResult(message);
                    return signal.Task;
                }
            }

            _waiters.Add((eventId, match, signal));
        }

        return signal.Task;
    }
}
