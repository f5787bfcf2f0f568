using System.Text;
using System.Text.Json;
using ConnMsg.Messaging;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;
using Microsoft.Extensions.DependencyInjection;

namespace ConnMsg.Tests.Messaging;

/// <summary>PROTOCOL.md §5.2 fan-out and §8 per-topic ordering, over many real connections.</summary>
public sealed class FanOutTests
{
    [Fact]
    public async Task PublishReachesEverySubscriberOfManyConnectionsExactlyOnceInPublishOrder()
    {
        const int subscribers = 50, publishes = 20;
        await using TestServer server = await TestServer.StartAsync();
        WsClient[] clients = await Task.WhenAll(Enumerable.Range(0, subscribers).Select(_ => WsClient.ConnectAsync(server.WebSocketUri)));
        try
        {
            await Task.WhenAll(clients.Select(c => c.SubscribeAsync("fan.out")));
            Assert.Equal(subscribers, server.Server.SubscriberCount("fan.out"));

            await using WsClient publisher = await WsClient.ConnectAsync(server.WebSocketUri);
            for (int i = 0; i < publishes; i++)
            {
                Assert.Equal(subscribers, await publisher.PublishAsync("fan.out", $$"""{"n":{{i}}}"""));
            }

            List<string>[] received = await Task.WhenAll(clients.Select(async c =>
            {
                var texts = new List<string>();
                for (int i = 0; i < publishes; i++)
                {
                    texts.Add(await c.ReceiveAsync());
                }

                await c.AssertNothingElseArrivesAsync(); // exactly once: nothing beyond the 20
                return texts;
            }));

            foreach (List<string> texts in received)
            {
                int[] order = texts.Select(t => Json.Parse(t)).Select(m => m.GetProperty("data").GetProperty("n").GetInt32()).ToArray();
                Assert.Equal(Enumerable.Range(0, publishes), order);
            }

            // §5.2: encoded once, the same bytes to every subscriber.
            Assert.All(received, texts => Assert.Equal(received[0], texts));
        }
        finally
        {
            foreach (WsClient c in clients)
            {
                await c.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task PublisherThatIsAlsoASubscriberGetsItsOwnInd()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        await client.SubscribeAsync("self");

        await client.SendAsync("""{"type":"req","id":1,"op":"publish","data":{"topic":"self","data":"me"}}""");
        var messages = new[] { await client.ReceiveJsonAsync(), await client.ReceiveJsonAsync() };
        JsonElement cfm = Assert.Single(messages, m => m.Type() == "cfm");
        Assert.Equal(1, cfm.GetProperty("data").GetProperty("subscribers").GetInt32());
        Assert.Equal("\"me\"", Assert.Single(messages, m => m.Type() == "ind").Raw("data"));
    }

    [Theory]
    [InlineData("concurrent.plain")]
    [InlineData("history.concurrent")]
    public async Task ConcurrentPublishersOneOrderSeenByEverySubscriber(string topic)
    {
        const int publishers = 4, perPublisher = 50, subscribers = 3;
        await using TestServer server = await TestServer.StartAsync(o => o.HistorySeqFromClock = false); // seq reads as the number published
        WsClient[] subs = await Task.WhenAll(Enumerable.Range(0, subscribers).Select(_ => WsClient.ConnectAsync(server.WebSocketUri)));
        WsClient[] pubs = await Task.WhenAll(Enumerable.Range(0, publishers).Select(_ => WsClient.ConnectAsync(server.WebSocketUri)));
        try
        {
            await Task.WhenAll(subs.Select(s => s.SubscribeAsync(topic)));

            // Every publisher pipelines its publishes (no waiting for answers), all at once.
            await Task.WhenAll(pubs.Select(async (p, pi) =>
            {
                for (int n = 0; n < perPublisher; n++)
                {
                    await p.SendAsync($$"""{"type":"req","id":{{n}},"op":"publish","data":{"topic":"{{topic}}","data":{"p":{{pi}},"n":{{n}} } } }""");
                }

                for (int n = 0; n < perPublisher; n++)
                {
                    JsonElement cfm = await p.ReceiveJsonAsync();
                    Assert.Equal("cfm", cfm.Type());
                    Assert.Equal(subscribers, cfm.GetProperty("data").GetProperty("subscribers").GetInt32());
                }
            }));

            List<JsonElement>[] seen = await Task.WhenAll(subs.Select(s => s.ReceiveIndsAsync(publishers * perPublisher)));
            string[][] orders = seen.Select(inds => inds.Select(i => i.Raw("data")).ToArray()).ToArray();

            // Every subscriber sees the same single order ...
            Assert.All(orders, o => Assert.Equal(orders[0], o));

            // ... in which each publisher's Inds keep the order it published them in, none lost, none repeated.
            foreach (IGrouping<int, JsonElement> byPublisher in seen[0].GroupBy(i => i.GetProperty("data").GetProperty("p").GetInt32()))
            {
                Assert.Equal(Enumerable.Range(0, perPublisher), byPublisher.Select(i => i.GetProperty("data").GetProperty("n").GetInt32()));
            }

            Assert.Equal(publishers, seen[0].Select(i => i.GetProperty("data").GetProperty("p").GetInt32()).Distinct().Count());
            if (topic.StartsWith("history.", StringComparison.Ordinal))
            {
                Assert.All(seen, inds => Assert.Equal(Enumerable.Range(1, publishers * perPublisher).Select(i => (long)i), inds.Select(i => i.Seq())));
            }

            foreach (WsClient s in subs)
            {
                await s.AssertNothingElseArrivesAsync();
            }
        }
        finally
        {
            foreach (WsClient c in subs.Concat(pubs))
            {
                await c.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task AnIndQueuedWhileTheDrainBeforeItFinishesIsStillDelivered()
    {
        // Published from application code (not a read batch), each first Ind of a round starts a drain on the thread
        // pool, and the second lands while that drain is writing, finishing or gone. Nothing published after it could
        // rescue the second if it were stranded, so the round would wait for it in vain.
        const int rounds = 3000;
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient subscriber = await WsClient.ConnectAsync(server.WebSocketUri);
        await subscriber.SubscribeAsync("drain.race");
        IIndPublisher publisher = server.App.Services.GetRequiredService<IIndPublisher>();
        byte[] first = Encoding.UTF8.GetBytes("1"), second = Encoding.UTF8.GetBytes("2");

        for (int round = 0; round < rounds; round++)
        {
            Assert.Equal(1, await publisher.PublishAsync("drain.race", first));
            Thread.SpinWait(round % 200); // walks the second publish across the first one's drain
            Assert.Equal(1, await publisher.PublishAsync("drain.race", second));

            List<JsonElement> inds = await subscriber.ReceiveIndsAsync(2);
            Assert.Equal(["1", "2"], inds.Select(i => i.Raw("data")));
        }

        await subscriber.AssertNothingElseArrivesAsync();
    }

    [Fact]
    public async Task IndsOfEverySizeQueuedTogetherArriveWholeAndInOrder()
    {
        // One burst from application code: the drain packs many frames into each block the output hands out, frames
        // larger than a block need one of their own, and the burst crosses the drain's partial-flush bound many times.
        const int count = 400;
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient subscriber = await WsClient.ConnectAsync(server.WebSocketUri);
        await subscriber.SubscribeAsync("sizes");
        IIndPublisher publisher = server.App.Services.GetRequiredService<IIndPublisher>();

        static int SizeOf(int n) => (n * 997) % 9000; // 0 to 8999 characters, in no particular order
        for (int n = 0; n < count; n++)
        {
            byte[] data = Encoding.UTF8.GetBytes($"\"{n}:{new string('x', SizeOf(n))}\"");
            Assert.Equal(1, await publisher.PublishAsync("sizes", data));
        }

        List<JsonElement> inds = await subscriber.ReceiveIndsAsync(count);
        for (int n = 0; n < count; n++)
        {
            Assert.Equal($"{n}:{new string('x', SizeOf(n))}", inds[n].GetProperty("data").GetString());
        }

        await subscriber.AssertNothingElseArrivesAsync();
    }

    [Fact]
    public async Task PublishesReadInOneBatchReachExactlyTheConnectionsSubscribedWhenEachWasPublished()
    {
        // One read carries: publish 1, the publisher subscribes, publish 2, it unsubscribes, publish 3. The steady
        // subscriber gets all three in order; the publisher gets only the one published while it was subscribed.
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient steady = await WsClient.ConnectAsync(server.WebSocketUri);
        await steady.SubscribeAsync("batch");
        using RawWsClient publisher = await RawWsClient.ConnectAsync(server.WebSocketUri);

        await publisher.SendTextsAsync(
            PublishRequest(1, "batch", "1"),
            """{"type":"req","id":2,"op":"$subscribe","data":{"topic":"batch"}}""",
            PublishRequest(3, "batch", "2"),
            """{"type":"req","id":4,"op":"$unsubscribe","data":{"topic":"batch"}}""",
            PublishRequest(5, "batch", "3"));
        List<JsonElement> toPublisher = await ReadUntilCfmAsync(publisher, "5");
        // Whatever the batch still held for the publisher was queued before the answer to a later read.
        await publisher.SendTextAsync("""{"type":"req","id":6,"op":"$ping"}""");
        toPublisher.AddRange(await ReadUntilCfmAsync(publisher, "6"));

        Assert.Equal(["1", "2", "3", "4", "5", "6"], toPublisher.Where(m => m.Type() == "cfm").Select(m => m.Raw("id")));
        Assert.Equal(["2"], toPublisher.Where(m => m.Type() == "ind" && m.GetProperty("topic").GetString() == "batch").Select(m => m.Raw("data")));
        Assert.Equal(["1", "2", "3"], (await steady.ReceiveIndsAsync(3)).Select(i => i.Raw("data")));
        await steady.AssertNothingElseArrivesAsync();
    }

    [Fact]
    public async Task ManyPublishesInOneReadArriveWholeInOrderAndAreCountedOncePerSubscriber()
    {
        // Twelve Inds of ~10 KB from one read: 120 KB per subscriber, more than a drain writes before it flushes part-way.
        const int publishes = 12;
        string pad = new('x', 10_000);
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient first = await WsClient.ConnectAsync(server.WebSocketUri);
        await using WsClient second = await WsClient.ConnectAsync(server.WebSocketUri);
        await first.SubscribeAsync("many");
        await second.SubscribeAsync("many");
        using RawWsClient publisher = await RawWsClient.ConnectAsync(server.WebSocketUri, receiveBufferSize: 64 * 1024);
        long deliveredBefore = await CounterAsync(server, "connmsg_inds_delivered_total");

        await publisher.SendTextsAsync(Enumerable.Range(0, publishes)
            .Select(n => PublishRequest(n, "many", $$"""{"n":{{n}},"pad":"{{pad}}"}""")).ToArray());
        List<JsonElement> cfms = (await ReadUntilCfmAsync(publisher, (publishes - 1).ToString())).Where(m => m.Type() == "cfm").ToList();

        Assert.Equal(Enumerable.Range(0, publishes).Select(n => n.ToString()), cfms.Select(c => c.Raw("id")));
        Assert.All(cfms, c => Assert.Equal(2, c.GetProperty("data").GetProperty("subscribers").GetInt32()));
        foreach (WsClient subscriber in new[] { first, second })
        {
            List<JsonElement> inds = await subscriber.ReceiveIndsAsync(publishes);
            Assert.Equal(Enumerable.Range(0, publishes), inds.Select(i => i.GetProperty("data").GetProperty("n").GetInt32()));
            Assert.All(inds, i => Assert.Equal(pad, i.GetProperty("data").GetProperty("pad").GetString()));
            await subscriber.AssertNothingElseArrivesAsync();
        }

        Assert.Equal(2 * publishes, await CounterAsync(server, "connmsg_inds_delivered_total") - deliveredBefore);
    }

    private static string PublishRequest(int id, string topic, string dataJson) =>
        $$$"""{"type":"req","id":{{{id}}},"op":"publish","data":{"topic":"{{{topic}}}","data":{{{dataJson}}}}}""";

    /// <summary>Every message up to and including the <c>cfm</c> with <paramref name="rawId"/>.</summary>
    private static async Task<List<JsonElement>> ReadUntilCfmAsync(RawWsClient client, string rawId)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var messages = new List<JsonElement>();
        while (true)
        {
            (int opcode, byte[] payload) = await client.ReadFrameAsync(cts.Token);
            Assert.Equal(1, opcode);
            JsonElement message = Json.Parse(Encoding.UTF8.GetString(payload));
            messages.Add(message);
            if (message.Type() == "cfm" && message.Raw("id") == rawId)
            {
                return messages;
            }
        }
    }

    private static async Task<long> CounterAsync(TestServer server, string name)
    {
        (_, string metrics) = await HttpGet.GetAsync(server.HttpBase, "metrics");
        string line = metrics.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        return long.Parse(line.AsSpan(name.Length + 1));
    }
}
