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
    private const int MaxOutboundBytes = 1024 * 1024;
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
        await using TestServer server = await TestServer.StartAsync(o =>
        {
            o.MaxOutboundBytes = MaxOutboundBytes; // a drain holding more than 1/16 of it is far behind
            o.CloseTimeout = TimeSpan.FromSeconds(15);
        });
        using RawWsClient stalled = await RawWsClient.ConnectAsync(server.WebSocketUri, receiveBufferSize: 4096);
        await stalled.SendTextAsync("""{"type":"req","id":1,"op":"$subscribe","data":{"topic":"stalled"}}""");
        await Eventually.TrueAsync(() => server.Server.SubscriberCount("stalled") == 1, "the subscription is live");
        IIndPublisher publisher = HistoryTests.Publisher(server);

        // The stalled client reads nothing from here on: once the sockets are full its drain waits in a flush, and what
        // is published queues behind it. Every publish still reaches it until it is cut at MaxOutboundBytes.
        int pendingAt = -1;
        for (int n = 0; n < 10_000 && pendingAt < 0; n++)
        {
            ValueTask<int> publish = typed
                ? publisher.PublishAsync("stalled", new AddResult(n, Pad), MessagingTestJsonContext.Default.AddResult)
                : publisher.PublishAsync("stalled", Encoding.UTF8.GetBytes($$"""{"n":{{n}},"pad":"{{Pad}}"}"""));
            if (!publish.IsCompleted)
            {
                pendingAt = n;
            }

            Assert.True(await publish == 1, $"publish {n} no longer reached the stalled subscriber: it was cut before any publish yielded");
        }

        Assert.True(pendingAt >= 0, "no publish yielded, though the stalled subscriber's queue kept growing");
    }
}
