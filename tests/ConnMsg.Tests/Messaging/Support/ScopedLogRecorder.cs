using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ConnMsg.Tests.Messaging.Support;

/// <summary>
/// A logger provider that records every event with the values of the logging scopes active where it was logged
/// (Kestrel opens one per connection, carrying its <c>ConnectionId</c>), so a test can tell in which context code ran.
/// </summary>
internal sealed class ScopedLogRecorder : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<Entry> _entries = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public sealed record Entry(int EventId, string Message, IReadOnlyDictionary<string, object?> ScopeValues, Exception? Exception = null);

    private readonly ConcurrentDictionary<int, TaskCompletionSource<Entry>> _firsts = new();

    public IReadOnlyCollection<Entry> Entries => _entries;

    /// <summary>The first entry with <paramref name="eventId"/>, whether it was logged already or is logged later.</summary>
    public Task<Entry> FirstAsync(int eventId) => First(eventId).Task;

    private TaskCompletionSource<Entry> First(int eventId) =>
        _firsts.GetOrAdd(eventId, static _ => new TaskCompletionSource<Entry>(TaskCreationOptions.RunContinuationsAsynchronously));

    public ILogger CreateLogger(string categoryName) => new Recorder(this);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Recorder(ScopedLogRecorder owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = new Dictionary<string, object?>();
            owner._scopes.ForEachScope(static (scope, values) =>
            {
                if (scope is IEnumerable<KeyValuePair<string, object?>> pairs)
                {
                    foreach (KeyValuePair<string, object?> pair in pairs)
                    {
                        values[pair.Key] = pair.Value;
                    }
                }
            }, values);
            var entry = new Entry(eventId.Id, formatter(state, exception), values, exception);
            owner._entries.Enqueue(entry);
            owner.First(eventId.Id).TrySetResult(entry);
        }
    }
}
