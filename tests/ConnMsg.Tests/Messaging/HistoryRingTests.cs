using ConnMsg.Messaging.Topics;

namespace ConnMsg.Tests.Messaging;

/// <summary>What a history topic's ring costs before anything is published to it.</summary>
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
}
