using System.Text.Json;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;

namespace ConnMsg.Tests.Messaging;

/// <summary>
/// PROTOCOL.md §6 close code 1013 and STYLE rule 7: a subscriber that stops reading is closed once its outbound queue
/// exceeds <c>MaxOutboundBytes</c>; the publisher and the other subscribers carry on unaffected.
/// </summary>
public sealed class SlowConsumerTests
{
    private const string Topic = "flood";

    [Fact]
    public async Task SubscriberThatStopsReadingIsClosedWith1013AndOthersAreUnaffected()
    {
        const int batch = 4; // Inds in flight to the healthy subscriber at once: well under MaxOutboundBytes
        string payload = new('x', 8 * 1024);
        await using TestServer server = await TestServer.StartAsync(o =>
        {
            o.MaxMessageSize = 16 * 1024;
            o.MaxOutboundBytes = 64 * 1024;
            o.CloseTimeout = TimeSpan.FromSeconds(15); // leave the stalled client time to read up to the close frame
        });

        using RawWsClient stalled = await RawWsClient.ConnectAsync(server.WebSocketUri, receiveBufferSize: 4096);
        await stalled.SendTextAsync($$$"""{"type":"req","id":1,"op":"$subscribe","data":{"topic":"{{{Topic}}}"}}""");
        await using WsClient healthy = await WsClient.ConnectAsync(server.WebSocketUri);
        await healthy.SubscribeAsync(Topic);
        await Eventually.TrueAsync(() => server.Server.SubscriberCount(Topic) == 2, "both subscriptions are live");
        await using WsClient publisher = await WsClient.ConnectAsync(server.WebSocketUri);

        // From here on the stalled client reads nothing. Flood, in batches the healthy subscriber keeps up with,
        // until a publish reaches only one subscriber: the stalled one was cut off.
        int published = 0;
        int reached = 2;
        for (int round = 0; reached == 2; round++)
        {
            Assert.True(round < 5000, "the stalled subscriber was never closed");
            for (int i = 0; i < batch; i++)
            {
                await publisher.SendAsync($$"""{"type":"req","id":{{published + i}},"op":"publish","data":{"topic":"{{Topic}}","data":{"n":{{published + i}},"pad":"{{payload}}"} } }""");
            }

            for (int i = 0; i < batch; i++)
            {
                JsonElement cfm = await publisher.ReceiveJsonAsync();
                Assert.Equal((published + i).ToString(), cfm.Raw("id"));
                reached = Math.Min(reached, cfm.GetProperty("data").GetProperty("subscribers").GetInt32());
            }

            foreach (JsonElement ind in await healthy.ReceiveIndsAsync(batch))
            {
                Assert.Equal(published++, ind.GetProperty("data").GetProperty("n").GetInt32());
            }
        }

        Assert.Equal(1, reached);

        // The publisher and the healthy subscriber go on as before.
        Assert.Equal(1, await publisher.PublishAsync(Topic, """{"n":-1}"""));
        Assert.Equal("-1", (await healthy.ReceiveIndsAsync(1))[0].GetProperty("data").GetProperty("n").GetRawText());
        await healthy.AssertNothingElseArrivesAsync();

        // The stalled client, once it reads again, finds what the socket held and then the close frame: 1013.
        Assert.Equal(1013, await stalled.ReadUntilCloseAsync(TimeSpan.FromSeconds(10)));
        (_, string metrics) = await HttpGet.GetAsync(server.HttpBase, "metrics");
        Assert.Contains("connmsg_slow_consumer_closes_total 1\n", metrics);
        await Eventually.TrueAsync(() => server.Server.SubscriberCount(Topic) == 1, "the closed subscriber's subscription is removed");
    }
}
