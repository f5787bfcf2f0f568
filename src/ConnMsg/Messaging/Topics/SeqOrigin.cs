namespace ConnMsg.Messaging.Topics;

/// <summary>
/// Chooses the seq a new history topic counts from, so that a topic name never issues the same seq twice: not after
/// it was retired and created again, not after the server restarted. A client's <c>since</c> from an earlier
/// incarnation then lies below the new topic's history and is answered <c>recovered:false</c>, where a topic counting
/// from 1 again would replay other Inds under the numbers the client had seen and call that recovered (PROTOCOL §5.3).
/// </summary>
/// <remarks>
/// Across restarts the origin comes from the clock, in microseconds since 1970 (about 2^51 today, so seq stays a
/// JSON-safe integer until about 2255): an earlier incarnation could only have caught up by publishing more than
/// a million Inds a second on one topic for its whole life. Within the process it also stays above every seq a
/// retired topic reached and above the last origin given, whatever the clock does. Thread-safe.
/// </remarks>
internal sealed class SeqOrigin(bool fromClock, TimeProvider clock)
{
    private long _last;
    private long _retiredHighWater;

    /// <summary>The origin of a topic created now: its first Ind gets the next seq, and it reports this one until then.</summary>
    public long Next()
    {
        if (!fromClock)
        {
            return 0;
        }

        long candidate = clock.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
        while (true)
        {
            long last = Volatile.Read(ref _last);
            long next = Math.Max(candidate, Math.Max(last, Volatile.Read(ref _retiredHighWater)) + 1);
            if (Interlocked.CompareExchange(ref _last, next, last) == last)
            {
                return next;
            }
        }
    }

    /// <summary>A history topic was retired having reached <paramref name="lastSeq"/>: no later origin may be below it.</summary>
    public void NoteRetired(long lastSeq)
    {
        long seen = Volatile.Read(ref _retiredHighWater);
        while (lastSeq > seen)
        {
            long previous = Interlocked.CompareExchange(ref _retiredHighWater, lastSeq, seen);
            if (previous == seen)
            {
                return;
            }

            seen = previous;
        }
    }
}
