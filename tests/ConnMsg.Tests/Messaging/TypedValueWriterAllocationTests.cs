using System.Text.Json;
using ConnMsg.Messaging;

namespace ConnMsg.Tests.Messaging;

/// <summary>What writing a typed Cfm or Ind costs once a thread has written one: nothing.</summary>
/// <remarks>
/// The frames come from a process-wide pool: a test of another class renting and returning frames at the same time
/// can leave this thread's rent to find the pool empty and make a frame, which is the pool's cost, not the writer's.
/// So this class runs alone, and a round that allocated is tried again.
/// </remarks>
[Collection(nameof(ProcessWideFramePool))]
public sealed class TypedValueWriterAllocationTests
{
    [Fact]
    public void ATypedCfmOrIndAllocatesNothingOnceThisThreadHasItsWriter()
    {
        // Confirm<T> and SendIndAsync<T> are answers' and notifications' hot path: the options' encoder costs no
        // writer per call, also when a thread alternates between the default options and an application's own.
        var relaxed = new MessagingTestJsonContext(new JsonSerializerOptions
        {
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        });
        var value = new AddResult(42, "café");
        WriteBoth();

        // As bench --verify-zero-alloc does: a writer made per call shows in every round; a one-off (a buffer the
        // array pool dropped at a gen 2 collection of a busy test run and makes again) in one round only.
        var rounds = new List<string>(3);
        for (int round = 0; round < 3; round++)
        {
            int gen2 = GC.CollectionCount(2);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++)
            {
                WriteBoth();
            }

            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (allocated == 0)
            {
                return;
            }

            rounds.Add($"{allocated} B ({GC.CollectionCount(2) - gen2} gen 2 collections)");
        }

        Assert.Fail($"every round of 1000 typed Cfms and Inds allocated: {string.Join(", ", rounds)}");

        void WriteBoth()
        {
            MessageWriter.Cfm("7"u8, value, relaxed.AddResult).Release();
            MessageWriter.Ind("typed.note", value, relaxed.AddResult).Release();
            MessageWriter.Cfm("8"u8, value, MessagingTestJsonContext.Default.AddResult).Release();
        }
    }
}

[CollectionDefinition(nameof(ProcessWideFramePool), DisableParallelization = true)]
public sealed class ProcessWideFramePool
{
}
