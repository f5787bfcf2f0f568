using System.Buffers;
using System.IO.Pipelines;

namespace ConnMsg.Bench.Infrastructure;

/// <summary>Reads what the server wrote to a client's side of an in-memory connection, without allocating.</summary>
internal static class PipeDrain
{
    /// <summary>Consumes whatever is buffered now; returns the bytes consumed (0 when nothing was there).</summary>
    public static long TryDrain(PipeReader reader)
    {
        if (!reader.TryRead(out ReadResult result))
        {
            return 0;
        }

        long length = result.Buffer.Length;
        reader.AdvanceTo(result.Buffer.End);
        return length;
    }

    /// <summary>
    /// Spins until at least <paramref name="expected"/> bytes were consumed. Used where the server hands its drain to the
    /// thread pool, so the bytes arrive a little later on another thread.
    /// </summary>
    public static void DrainAtLeast(PipeReader reader, long expected)
    {
        long got = 0;
        SpinWait spin = default;
        while (true)
        {
            got += TryDrain(reader);
            if (got >= expected)
            {
                return;
            }

            // No Sleep(1): it would add a millisecond to a microsecond operation.
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>Consumes everything that arrives within <paramref name="quiet"/> of silence (setup only).</summary>
    public static long DrainUntilQuiet(PipeReader reader, TimeSpan quiet)
    {
        long total = 0;
        DateTime until = DateTime.UtcNow + quiet;
        while (DateTime.UtcNow < until)
        {
            long n = TryDrain(reader);
            if (n > 0)
            {
                total += n;
                until = DateTime.UtcNow + quiet;
            }
            else
            {
                Thread.Sleep(1);
            }
        }

        return total;
    }
}
