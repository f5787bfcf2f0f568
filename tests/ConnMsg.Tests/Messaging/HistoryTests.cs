using System.Text;
using System.Text.Json;
using ConnMsg.Messaging;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;
using Microsoft.Extensions.DependencyInjection;

namespace ConnMsg.Tests.Messaging;

/// <summary>PROTOCOL.md §5.3: history topics, <c>seq</c>, and <c>$subscribe</c> with <c>since</c>.</summary>
/// <remarks>
/// The rules are shown on topics counting from 0 (<see cref="ConnMsgOptions.HistorySeqFromClock"/> off), where a seq
/// reads as the number of Inds published; the default origin from the clock, which only shifts every seq of a topic
/// by the same amount, has tests of its own at the end.
/// </remarks>
public sealed class HistoryTests
{
    [Fact]
    public async Task HistoryTopicIndsCarrySeqIncreasingByOne()
    {
        await using TestServer server = await CountingFromZeroAsync();
        await using WsClient subscriber = await WsClient.ConnectAsync(server.WebSocketUri);
        await using WsClient publisher = await WsClient.ConnectAsync(server.WebSocketUri);
        await subscriber.SubscribeAsync("history.seq");

        for (int i = 0; i < 10; i++)
        {
            await publisher.PublishAsync("history.seq", i.ToString());
        }

        List<JsonElement> inds = await subscriber.ReceiveIndsAsync(10);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), inds.Select(i => i.Seq()));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => i.ToString()), inds.Select(i => i.Raw("data")));
    }

    [Fact]
    public async Task SeqIsPerTopic()
    {
        await using TestServer server = await CountingFromZeroAsync();
        await using WsClient subscriber = await WsClient.ConnectAsync(server.WebSocketUri);
        await subscriber.SubscribeAsync("history.one");
        await subscriber.SubscribeAsync("history.two");
        IIndPublisher publisher = Publisher(server);
        await publisher.PublishAsync("history.one", "1"u8.ToArray());
        await publisher.PublishAsync("history.two", "1"u8.ToArray());
        await publisher.PublishAsync("history.one", "2"u8.ToArray());

        List<JsonElement> inds = await subscriber.ReceiveIndsAsync(3);
        Assert.Equal([("history.one", 1L), ("history.two", 1L), ("history.one", 2L)], inds.Select(i => (i.Str("topic")!, i.Seq())));
    }

    [Fact]
    public async Task SubscribeWithoutSinceToAFreshTopicReportsSeqZero()
    {
        await using TestServer server = await CountingFromZeroAsync();
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        JsonElement data = await client.SubscribeAsync("history.fresh");
        Assert.Equal("""{"seq":0}""", data.GetRawText());
    }

    [Fact]
    public async Task SubscribeWithoutSinceGoesLiveAtOnceAndReportsTheCurrentSeq()
    {
        await using TestServer server = await CountingFromZeroAsync();
        await PublishManyAsync(server, "history.live", 7);
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);

        JsonElement data = await client.SubscribeAsync("history.live");
        Assert.Equal(7, data.GetProperty("seq").GetInt64());
        Assert.False(data.TryGetProperty("recovered", out _));
        await client.AssertNothingElseArrivesAsync(); // nothing replayed

        await PublishManyAsync(server, "history.live", 1);
        Assert.Equal(8, (await client.ReceiveIndsAsync(1))[0].Seq());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(9)]
    public async Task SubscribeWithSinceReplaysTheMissedIndsThenGoesLive(long since)
    {
        await using TestServer server = await CountingFromZeroAsync();
        await PublishManyAsync(server, "history.replay", 10);
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);

        await client.SendAsync($$$"""{"type":"req","id":"s","op":"$subscribe","data":{"topic":"history.replay","since":{{{since}}}}}""");
        var inds = new List<JsonElement>();
        JsonElement cfm;
        while ((cfm = await client.ReceiveJsonAsync()).Type() == "ind")
        {
            inds.Add(cfm);
        }

        Assert.Equal("cfm", cfm.Type());
        Assert.Equal("""{"recovered":true}""", cfm.Raw("data"));
        Assert.Equal(Range(since + 1, 10), inds.Select(i => i.Seq()));
        Assert.Equal(Range(since + 1, 10).Select(s => $"{{\"n\":{s}}}"), inds.Select(i => i.Raw("data")));

        await PublishManyAsync(server, "history.replay", 1);
        Assert.Equal(11, (await client.ReceiveIndsAsync(1))[0].Seq());
        await client.AssertNothingElseArrivesAsync();
    }

    [Fact]
    public async Task SubscribeWithSinceAtTheCurrentSeqReplaysNothingAndIsRecovered()
    {
        await using TestServer server = await CountingFromZeroAsync();
        await PublishManyAsync(server, "history.uptodate", 4);
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        JsonElement data = await client.SubscribeAsync("history.uptodate", since: 4);
        Assert.True(data.GetProperty("recovered").GetBoolean());
        await client.AssertNothingElseArrivesAsync();
    }

    [Theory]
    [InlineData(15, true)]  // kept: 16..25, so everything after 15 is still there
    [InlineData(14, false)] // seq 15 is gone
    [InlineData(3, false)]
    [InlineData(0, false)]
    public async Task SinceOlderThanTheKeptWindowIsNotRecovered(long since, bool recovered)
    {
        await using TestServer server = await CountingFromZeroAsync(o => o.HistoryCapacity = 10);
        await PublishManyAsync(server, "history.window", 25);
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);

        await client.SendAsync($$$"""{"type":"req","id":"s","op":"$subscribe","data":{"topic":"history.window","since":{{{since}}}}}""");
        var inds = new List<JsonElement>();
        JsonElement cfm;
        while ((cfm = await client.ReceiveJsonAsync()).Type() == "ind")
        {
            inds.Add(cfm);
        }

        JsonElement data = cfm.GetProperty("data");
        Assert.Equal(recovered, data.GetProperty("recovered").GetBoolean());
        if (recovered)
        {
            Assert.Equal(Range(16, 25), inds.Select(i => i.Seq()));
        }
        else
        {
            Assert.Equal(25, data.GetProperty("seq").GetInt64());
        }

        // Live either way, from the next seq.
        await PublishManyAsync(server, "history.window", 1);
        Assert.Equal(26, (await client.ReceiveIndsAsync(1))[0].Seq());
    }

    [Theory]
    [InlineData(13, true)]  // each Ind is about 1,060 bytes as sent, so the newest 7 fit in 8 KiB: 14..20 are kept
    [InlineData(12, false)] // seq 13 was dropped to keep the topic within its bytes
    public async Task ATopicKeepsTheNewestIndsThatFitItsBytesAndASinceBeforeThemIsNotRecovered(long since, bool recovered)
    {
        await using TestServer server = await CountingFromZeroAsync(o =>
        {
            o.MaxMessageSize = 8 * 1024;
            o.HistoryCapacityBytes = 8 * 1024;
        });
        byte[] kilobyte = Encoding.UTF8.GetBytes($"\"{new string('x', 998)}\"");
        for (int i = 0; i < 20; i++)
        {
            await Publisher(server).PublishAsync("history.bytes", kilobyte);
        }

        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        (List<JsonElement> inds, JsonElement cfm) = await SubscribeSinceAsync(client, "history.bytes", since);

        JsonElement data = cfm.GetProperty("data");
        Assert.Equal(recovered, data.GetProperty("recovered").GetBoolean());
        if (recovered)
        {
            Assert.Equal(Range(14, 20), inds.Select(i => i.Seq()));
        }
        else
        {
            Assert.Empty(inds);
            Assert.Equal(20, data.GetProperty("seq").GetInt64());
        }
    }

    [Fact]
    public async Task AnIndLargerThanTheTopicsBytesIsNotKept()
    {
        await using TestServer server = await CountingFromZeroAsync(o =>
        {
            o.MaxMessageSize = 8 * 1024;
            o.HistoryCapacityBytes = 8 * 1024;
        });
        await PublishManyAsync(server, "history.big", 3);
        await Publisher(server).PublishAsync("history.big", Encoding.UTF8.GetBytes($"\"{new string('x', 9000)}\""));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);

        // The client that saw seq 3 missed seq 4, which is gone: it is told so, and nothing is replayed.
        (List<JsonElement> missed, JsonElement lost) = await SubscribeSinceAsync(client, "history.big", 3);
        Assert.Equal("""{"recovered":false,"seq":4}""", lost.Raw("data"));
        Assert.Empty(missed);

        // The one that saw seq 4 missed nothing.
        await using WsClient current = await WsClient.ConnectAsync(server.WebSocketUri);
        (missed, JsonElement upToDate) = await SubscribeSinceAsync(current, "history.big", 4);
        Assert.Equal("""{"recovered":true}""", upToDate.Raw("data"));
        Assert.Empty(missed);
    }

    [Theory]
    [InlineData(50, true)]  // capacity 100, 150 published: 51..150 are kept, in the order published
    [InlineData(49, false)]
    public async Task TheKeptWindowHoldsAsTheHistoryGrowsToItsCapacityAndWraps(long since, bool recovered)
    {
        await using TestServer server = await CountingFromZeroAsync(o => o.HistoryCapacity = 100);
        await PublishManyAsync(server, "history.grow", 150);
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        (List<JsonElement> inds, JsonElement cfm) = await SubscribeSinceAsync(client, "history.grow", since);

        Assert.Equal(recovered, cfm.GetProperty("data").GetProperty("recovered").GetBoolean());
        Assert.Equal(recovered ? Range(51, 150) : [], inds.Select(i => i.Seq()));
        Assert.Equal(recovered ? Range(51, 150).Select(s => $"{{\"n\":{s}}}") : [], inds.Select(i => i.Raw("data")));
    }

    [Fact]
    public async Task TopicsOutsideTheHistoryPrefixesKeepNoHistory()
    {
        await using TestServer server = await CountingFromZeroAsync(o => o.HistoryTopicPrefixes = ["kept."]);
        await PublishManyAsync(server, "kept.a", 2);
        await PublishManyAsync(server, "history.a", 2);
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        Assert.Equal(2, (await client.SubscribeAsync("kept.a")).GetProperty("seq").GetInt64());
        await client.SubscribeAsync("history.a", since: 0);
        await client.AssertNothingElseArrivesAsync(); // nothing kept, nothing replayed

        await PublishManyAsync(server, "history.a", 1);
        Assert.False((await client.ReceiveIndsAsync(1))[0].TryGetProperty("seq", out _));
    }

    [Fact]
    public async Task ByDefaultAFreshTopicCountsFromTheClock()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        long before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
        long origin = (await client.SubscribeAsync("history.clock")).GetProperty("seq").GetInt64();
        long after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;

        // Microseconds since 1970 when the topic was created (a JSON-safe integer), and the first Ind right after it.
        Assert.InRange(origin, before, after + 1000);
        await PublishManyAsync(server, "history.clock", 2);
        Assert.Equal([origin + 1, origin + 2], (await client.ReceiveIndsAsync(2)).Select(i => i.Seq()));
    }

    [Fact]
    public async Task ASinceFromBeforeARestartIsNotRecoveredFromTheNewIncarnationsInds()
    {
        // The client saw seqs up to lastSeen from the first server; the second has since published more Inds than that
        // topic ever had. Counting from 1 again, it would replay its own Inds under the old numbers and call it recovered.
        long lastSeen;
        await using (TestServer first = await TestServer.StartAsync())
        {
            await PublishManyAsync(first, "history.restart", 3);
            await using WsClient client = await WsClient.ConnectAsync(first.WebSocketUri);
            lastSeen = (await client.SubscribeAsync("history.restart")).GetProperty("seq").GetInt64();
        }

        await using TestServer second = await TestServer.StartAsync();
        await PublishManyAsync(second, "history.restart", 5);
        await using WsClient back = await WsClient.ConnectAsync(second.WebSocketUri);
        JsonElement data = await back.SubscribeAsync("history.restart", since: lastSeen);

        Assert.False(data.GetProperty("recovered").GetBoolean());
        Assert.True(data.GetProperty("seq").GetInt64() > lastSeen, $"the new topic's seq {data.GetProperty("seq")} is above every seq the old one issued ({lastSeen})");
        await back.AssertNothingElseArrivesAsync(); // nothing replayed
    }

    [Theory]
    [InlineData(1000, true)] // everything kept
    [InlineData(2, false)]   // the first Ind is gone
    public async Task SinceZeroIsEverythingFromTheTopicsOriginWhereverTheClockPutIt(int capacity, bool recovered)
    {
        // A client that has seen nothing asks since 0 (the demo's chat does); below the origin nothing ever existed.
        await using TestServer server = await TestServer.StartAsync(o => o.HistoryCapacity = capacity);
        await PublishManyAsync(server, "history.zero", 3);
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);

        await client.SendAsync("""{"type":"req","id":"s","op":"$subscribe","data":{"topic":"history.zero","since":0}}""");
        var inds = new List<JsonElement>();
        JsonElement cfm;
        while ((cfm = await client.ReceiveJsonAsync()).Type() == "ind")
        {
            inds.Add(cfm);
        }

        Assert.Equal(recovered, cfm.GetProperty("data").GetProperty("recovered").GetBoolean());
        Assert.Equal(recovered ? ["{\"n\":1}", "{\"n\":2}", "{\"n\":3}"] : [], inds.Select(i => i.Raw("data")));
    }

    /// <summary>Sends <c>$subscribe</c> with <paramref name="since"/>; returns the Inds replayed before the <c>cfm</c>, and the <c>cfm</c>.</summary>
    private static async Task<(List<JsonElement> Inds, JsonElement Cfm)> SubscribeSinceAsync(WsClient client, string topic, long since)
    {
        await client.SendAsync($$$"""{"type":"req","id":"s","op":"$subscribe","data":{"topic":"{{{topic}}}","since":{{{since}}}}}""");
        var inds = new List<JsonElement>();
        JsonElement cfm;
        while ((cfm = await client.ReceiveJsonAsync()).Type() == "ind")
        {
            inds.Add(cfm);
        }

        Assert.Equal("cfm", cfm.Type());
        return (inds, cfm);
    }

    private static Task<TestServer> CountingFromZeroAsync(Action<ConnMsgOptions>? more = null) => TestServer.StartAsync(o =>
    {
        o.HistorySeqFromClock = false;
        more?.Invoke(o);
    });

    internal static IIndPublisher Publisher(TestServer server) => server.App.Services.GetRequiredService<IIndPublisher>();

    /// <summary>Publishes <c>{"n":1}</c> … <c>{"n":count}</c> (so on a fresh topic, n is the seq each gets).</summary>
    internal static async Task PublishManyAsync(TestServer server, string topic, int count)
    {
        IIndPublisher publisher = Publisher(server);
        for (int i = 1; i <= count; i++)
        {
            await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes($"{{\"n\":{i}}}"));
        }
    }

    private static IEnumerable<long> Range(long from, long toInclusive)
    {
        for (long s = from; s <= toInclusive; s++)
        {
            yield return s;
        }
    }
}
