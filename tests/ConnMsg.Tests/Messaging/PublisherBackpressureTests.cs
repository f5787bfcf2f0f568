using System.Text;
using ConnMsg.Messaging;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;

namespace ConnMsg.Tests.Messaging;

/// <summary>
/// <see cref="IIndPublisher"/> from application code: a publish completes at once while its subscribers keep up, and
/// only after the drains had a turn once one has fallen far behind, so a publisher that awaits each publish cannot
/// outrun its subscribers' writes; it never waits for a peer to read.
/// </summary>
public sealed class PublisherBackpressureTests
{
    private const int MaxOutboundBytes = 4 * 1024 * 1024;
    private static readonly string Pad = new('x', 8 * 1024);

    [Fact]
    public async Task APublishToSubscribersThatKeepUpCompletesSynchronously()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient subscriber = await WsClient.ConnectAsync(server.WebSocketUri);
        await subscriber.SubscribeAsync("prompt");
        IIndPublisher publisher = HistoryTests.Publisher(server);

        for (int n = 0; n < 20; n++)
        {
            ValueTask<int> publish = publisher.PublishAsync("prompt", Encoding.UTF8.GetBytes($$"""{"n":{{n}}}"""));
            Assert.True(publish.IsCompletedSuccessfully, $"publish {n} did not complete synchronously");
            Assert.Equal(1, await publish);
            Assert.Equal(n.ToString(), (await subscriber.ReceiveIndsAsync(1))[0].GetProperty("data").GetProperty("n").GetRawText());
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task APublishQueuedBehindASubscriberFarBehindCompletesOnlyAfterYieldingAndBeforeThatSubscriberIsCut(bool typed)
    {
        int pendingAt = await PublishUntilPendingAsync(typed, yieldBytes: 64 * 1024);
        Assert.True(pendingAt >= 0, "no publish yielded, though the stalled subscriber's queue kept growing");
    }

    [Fact]
    public async Task APublisherYieldsOnlyOnceTheSubscribersQueueHoldsMoreThanPublisherYieldBytes()
    {
        // The same stalled subscriber, yielding at 64 KiB and at 1 MiB: the later threshold lets about 118 more 8 KiB
        // publishes queue first. What the sockets absorb before the queue grows is the same in both, so it cancels out.
        int early = await PublishUntilPendingAsync(typed: false, yieldBytes: 64 * 1024);
        int late = await PublishUntilPendingAsync(typed: false, yieldBytes: 1024 * 1024);
        Assert.True(early >= 0 && late >= 0, $"a publisher never yielded (64 KiB: {early}, 1 MiB: {late})");
        Assert.True(late - early >= 60, $"yielding at 1 MiB let only {late - early} more publishes queue than at 64 KiB (expected about 118)");
    }

    /// <summary>
    /// Publishes ~8 KiB Inds to a subscriber that reads nothing until a publish does not complete at once; returns its
    /// number, or -1 when none yielded. Every publish must reach the subscriber: it is cut only at MaxOutboundBytes.
    /// </summary>
    private static async Task<int> PublishUntilPendingAsync(bool typed, long yieldBytes)
    {
        await using TestServer server = await TestServer.StartAsync(o =>
        {
            o.MaxOutboundBytes = MaxOutboundBytes;
            o.PublisherYieldBytes = yieldBytes;
            o.CloseTimeout = TimeSpan.FromSeconds(15);
        });
        using RawWsClient stalled = await RawWsClient.ConnectAsync(server.WebSocketUri, receiveBufferSize: 4096);
        await stalled.SendTextAsync("""{"type":"req","id":1,"op":"$subscribe","data":{"topic":"stalled"}}""");
        await Eventually.TrueAsync(() => server.Server.SubscriberCount("stalled") == 1, "the subscription is live");
        IIndPublisher publisher = HistoryTests.Publisher(server);

        // Once the sockets are full the stalled subscriber's drain waits in a flush, and what is published queues behind it.
        for (int n = 0; n < 10_000; n++)
        {
            ValueTask<int> publish = typed
                ? publisher.PublishAsync("stalled", new AddResult(n, Pad), MessagingTestJsonContext.Default.AddResult)
                : publisher.PublishAsync("stalled", Encoding.UTF8.GetBytes($$"""{"n":{{n}},"pad":"{{Pad}}"}"""));
            bool pending = !publish.IsCompleted;
            Assert.True(await publish == 1, $"publish {n} no longer reached the stalled subscriber: it was cut before any publish yielded");
            if (pending)
            {
                return n;
            }
        }

        return -1;
    }
}
