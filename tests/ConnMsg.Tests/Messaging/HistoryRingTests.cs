using ConnMsg.Messaging;
using ConnMsg.Messaging.Topics;
using ConnMsg.WebSockets;

namespace ConnMsg.Tests.Messaging;

/// <summary>What a history topic's ring costs: nothing for slots it does not use yet, nothing per Ind once it is full.</summary>
public sealed class HistoryRingTests
{
    [Fact]
    public void ARingTakesMemoryForItsIndsAsTheyComeNotForItsWholeCapacityUpFront()
    {
        // A topic is created by a subscribe as much as by a publish: most never fill their capacity, many never get an Ind.
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ring = new HistoryRing(ConnMsgOptions.MaxHistoryCapacity, long.MaxValue, 0);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, ring.LastSeq);
        Assert.True(allocated < 1024, $"an empty ring of the largest capacity allowed allocated {allocated} bytes");
    }

    [Theory]
    [InlineData(64, long.MaxValue)] // dropping by count
    [InlineData(100_000, 4096)]     // dropping by bytes
    public void AFullRingKeepsEachNewIndWithoutAllocating(int capacity, long capacityBytes)
    {
        // Publishing on a history topic is fan-out's hot path too: once the ring has grown, keeping an Ind allocates nothing.
        var ring = new HistoryRing(capacity, capacityBytes, 0);
        OutboundFrame[] frames = Enumerable.Range(1, 2 * Math.Min(capacity, 1000)).Select(seq => MessageWriter.Ind("history.ring", seq, "{\"n\":1}"u8, validateData: false)).ToArray();
        foreach (OutboundFrame frame in frames)
        {
            frame.AddRef(); // the test's own, so that a dropped frame stays out of the pools, whose costs are not the ring's
        }

        int half = frames.Length / 2;
        for (int i = 0; i < half; i++)
        {
            ring.Append(i + 1, frames[i]);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = half; i < frames.Length; i++)
        {
            ring.Append(i + 1, frames[i]);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(frames.Length, ring.LastSeq);
        Assert.True(ring.OldestSeq > half, $"the oldest kept is {ring.OldestSeq}: the ring did not drop as it filled");
        Assert.True(allocated == 0, $"keeping {frames.Length - half} Inds in a full ring allocated {allocated} bytes");
        ring.Clear();
        foreach (OutboundFrame frame in frames)
        {
            frame.Release();
        }
    }
}
