using System.Diagnostics;
using System.IO.Pipelines;

namespace ConnMsg.Internal;

/// <summary>
/// A reusable time limit on the reads of one <see cref="PipeReader"/>: when it passes, the pending read is cancelled
/// (it completes with <see cref="ReadResult.IsCanceled"/>), so a slow peer costs no exception.
/// </summary>
/// <remarks>
/// It stands in for a <see cref="CancellationTokenSource"/> with a timer per handshake, which is a source, a timer and a
/// registration of garbage for each of thousands of connections a second. A pooled source cannot replace it: its timer
/// may fire just as the source is reset, and the late cancel would land on the next connection. Here a tick of an
/// earlier use finds its deadline moved on, or no reader, and does nothing; and <see cref="Stop"/> waits for a tick that
/// is cancelling, so a cancel never reaches a reader after it. Thread-safe.
/// </remarks>
internal sealed class ReadDeadline
{
    private readonly Lock _lock = new();
    private readonly Timer _timer;
    private PipeReader? _reader;
    private long _due;
    private bool _fired;

    public ReadDeadline()
    {
        // The timer outlives the connection that first used it: it must not capture that connection's execution
        // context (its log scope, among others).
        using (ExecutionContext.SuppressFlow())
        {
            _timer = new Timer(static s => ((ReadDeadline)s!).OnTick(), this, Timeout.Infinite, Timeout.Infinite);
        }
    }

    /// <summary>Starts limiting <paramref name="reader"/>'s reads to <paramref name="timeout"/> from now.</summary>
    public void Start(PipeReader reader, TimeSpan timeout)
    {
        lock (_lock)
        {
            _reader = reader;
            _fired = false;
            _due = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        }

        _timer.Change(timeout, Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// Ends the limit; true when it had passed (a cancel may be pending on the reader). No cancel reaches the reader after
    /// this returns.
    /// </summary>
    public bool Stop()
    {
        bool fired;
        lock (_lock)
        {
            _reader = null;
            fired = _fired;
        }

        _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        return fired;
    }

    /// <summary>The timer's callback; internal so that tests can deliver a tick at a moment of their choosing.</summary>
    internal void OnTick()
    {
        TimeSpan early = TimeSpan.Zero;
        lock (_lock)
        {
            if (_reader is null || _fired)
            {
                return;
            }

            long now = Stopwatch.GetTimestamp();
            if (now < _due)
            {
                // A tick of an earlier use, or the timer's coarse clock firing a little early: wait out the rest.
                early = Stopwatch.GetElapsedTime(now, _due);
            }
            else
            {
                _fired = true;

                // Under the lock, so that Stop waits for it (the lock is re-entrant, should the reader's continuation
                // run inline and stop the deadline itself).
                _reader.CancelPendingRead();
                return;
            }
        }

        _timer.Change(early + TimeSpan.FromMilliseconds(1), Timeout.InfiniteTimeSpan);
    }
}
