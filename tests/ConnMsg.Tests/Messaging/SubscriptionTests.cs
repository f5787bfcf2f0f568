using System.Text.Json;
using ConnMsg.Messaging;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;

namespace ConnMsg.Tests.Messaging;

/// <summary>PROTOCOL.md §5.2 <c>$subscribe</c>/<c>$unsubscribe</c> and the application's say over them.</summary>
public sealed class SubscriptionTests
{
    [Fact]
    public async Task SubscribeIsConfirmedAndLaterIndsArrive()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient subscriber = await WsClient.ConnectAsync(server.WebSocketUri);
        await using WsClient publisher = await WsClient.ConnectAsync(server.WebSocketUri);

        JsonElement cfm = await subscriber.AnswerAsync("""{"type":"req","id":1,"op":"$subscribe","data":{"topic":"prices.EURUSD"}}""");
        Assert.Equal("cfm", cfm.Type());
        Assert.Equal("1", cfm.Raw("id"));
        Assert.Equal(1, server.Server.SubscriberCount("prices.EURUSD"));

        Assert.Equal(1, await publisher.PublishAsync("prices.EURUSD", """{"bid":1.0841}"""));
        JsonElement ind = await subscriber.ReceiveJsonAsync();
        Assert.Equal("ind", ind.Type());
        Assert.Equal("prices.EURUSD", ind.Str("topic"));
        Assert.Equal("""{"bid":1.0841}""", ind.Raw("data"));
        Assert.False(ind.TryGetProperty("seq", out _), "a topic without history carries no seq");
    }

    [Fact]
    public async Task AnEscapedTopicIsTheTopicItSpells()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient subscriber = await WsClient.ConnectAsync(server.WebSocketUri);
        await using WsClient publisher = await WsClient.ConnectAsync(server.WebSocketUri);

        JsonElement cfm = await subscriber.AnswerAsync("""{"type":"req","id":1,"op":"$subscribe","data":{"topic":"prices\/EURUSD"}}""");
        Assert.Equal("cfm", cfm.Type());
        Assert.Equal(1, server.Server.SubscriberCount("prices/EURUSD"));

        Assert.Equal(1, await publisher.PublishAsync("prices/EURUSD", "1"));
        Assert.Equal("prices/EURUSD", (await subscriber.ReceiveJsonAsync()).Str("topic"));
    }

    [Fact]
    public async Task TypedPublishFromTheApplicationReachesSubscribers()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient subscriber = await WsClient.ConnectAsync(server.WebSocketUri);
        await subscriber.SubscribeAsync("typed.results");

        int reached = await HistoryTests.Publisher(server).PublishAsync("typed.results", new AddResult(7, "n"), MessagingTestJsonContext.Default.AddResult);
        Assert.Equal(1, reached);
        Assert.Equal("""{"sum":7,"note":"n"}""", (await subscriber.ReceiveIndsAsync(1))[0].Raw("data"));
    }

    [Fact]
    public async Task TypedPublishesOfEverySizeReachSubscribersWhole()
    {
        // A value larger than the publisher's kept buffer, then small ones: none carries bytes of another.
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient subscriber = await WsClient.ConnectAsync(server.WebSocketUri);
        await subscriber.SubscribeAsync("typed.sizes");
        IIndPublisher publisher = HistoryTests.Publisher(server);
        string[] notes = [new string('x', 70_000), "a", new string('y', 300), "b"];

        foreach (string note in notes)
        {
            Assert.Equal(1, await publisher.PublishAsync("typed.sizes", new AddResult(note.Length, note), MessagingTestJsonContext.Default.AddResult));
        }

        List<JsonElement> inds = await subscriber.ReceiveIndsAsync(notes.Length);
        Assert.Equal(notes.Select(n => $$"""{"sum":{{n.Length}},"note":"{{n}}"}"""), inds.Select(i => i.Raw("data")));
    }

    [Fact]
    public async Task ATypedPublishIsWrittenWithTheTypeInfosOwnOptionsButNotIndented()
    {
        // An application that chose relaxed escaping gets the bytes it would get from the serialiser; options that also
        // indent (shared with files or logs) do not spread the message over lines, as for Confirm<T> and SendIndAsync<T>.
        var typeInfo = new MessagingTestJsonContext(Relaxed(indented: true)).AddResult;
        var value = new AddResult(3, "café <b> & 'x'");
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient subscriber = await WsClient.ConnectAsync(server.WebSocketUri);
        await subscriber.SubscribeAsync("typed.options");

        Assert.Equal(1, await HistoryTests.Publisher(server).PublishAsync("typed.options", value, typeInfo));

        string expected = System.Text.Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(value, new MessagingTestJsonContext(Relaxed(indented: false)).AddResult));
        Assert.Contains("café <b> & 'x'", expected);
        Assert.Equal($$"""{"type":"ind","topic":"typed.options","data":{{expected}}}""", await subscriber.ReceiveAsync());

        static JsonSerializerOptions Relaxed(bool indented) =>
            new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, WriteIndented = indented };
    }

    [Fact]
    public async Task ATypedPublishMadeWhileAnotherIsBeingSerialisedReachesItsSubscribersToo()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient subscriber = await WsClient.ConnectAsync(server.WebSocketUri);
        await subscriber.SubscribeAsync("typed.inner");
        await subscriber.SubscribeAsync("typed.outer");
        PublishingConverter.Publisher = HistoryTests.Publisher(server);

        Assert.Equal(1, await PublishingConverter.Publisher.PublishAsync("typed.outer", new Announcement("outer"), MessagingTestJsonContext.Default.Announcement));

        List<JsonElement> inds = await subscriber.ReceiveIndsAsync(2);
        Assert.Equal(["typed.inner", "typed.outer"], inds.Select(i => i.Str("topic")));
        Assert.Equal(["""{"sum":1,"note":"inner"}""", """{"text":"outer"}"""], inds.Select(i => i.Raw("data")));
    }

    [Fact]
    public async Task IndsOfOtherTopicsDoNotArrive()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient subscriber = await WsClient.ConnectAsync(server.WebSocketUri);
        await using WsClient publisher = await WsClient.ConnectAsync(server.WebSocketUri);
        await subscriber.SubscribeAsync("a.b");

        Assert.Equal(0, await publisher.PublishAsync("a.bc", "1"));
        Assert.Equal(0, await publisher.PublishAsync("a", "1"));
        Assert.Equal(0, await publisher.PublishAsync("A.B", "1"));
        await subscriber.AssertNothingElseArrivesAsync();
    }

    [Fact]
    public async Task SubscribingTwiceDeliversOnce()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient subscriber = await WsClient.ConnectAsync(server.WebSocketUri);
        await using WsClient publisher = await WsClient.ConnectAsync(server.WebSocketUri);
        await subscriber.SubscribeAsync("twice");
        await subscriber.SubscribeAsync("twice");

        Assert.Equal(1, await publisher.PublishAsync("twice", "1"));
        Assert.Single(await subscriber.ReceiveIndsAsync(1));
        await subscriber.AssertNothingElseArrivesAsync();
    }

    [Fact]
    public async Task UnsubscribeStopsDelivery()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient subscriber = await WsClient.ConnectAsync(server.WebSocketUri);
        await using WsClient publisher = await WsClient.ConnectAsync(server.WebSocketUri);
        await subscriber.SubscribeAsync("news");

        JsonElement cfm = await subscriber.AnswerAsync("""{"type":"req","id":"un","op":"$unsubscribe","data":{"topic":"news"}}""");
        Assert.Equal("cfm", cfm.Type());
        Assert.Equal("\"un\"", cfm.Raw("id"));
        Assert.Equal(0, server.Server.SubscriberCount("news"));

        Assert.Equal(0, await publisher.PublishAsync("news", "\"missed\""));
        await subscriber.AssertNothingElseArrivesAsync();
    }

    [Theory]
    [InlineData("never.subscribed")]
    [InlineData("history.never.subscribed")]
    public async Task UnsubscribeWhenNotSubscribedIsConfirmed(string topic)
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        JsonElement cfm = await client.AnswerAsync($$$"""{"type":"req","id":5,"op":"$unsubscribe","data":{"topic":"{{{topic}}}"}}""");
        Assert.Equal("cfm", cfm.Type());
        Assert.Equal("5", cfm.Raw("id"));

        // Also when someone else is subscribed: that subscription stays.
        await using WsClient other = await WsClient.ConnectAsync(server.WebSocketUri);
        await other.SubscribeAsync(topic);
        Assert.Equal("cfm", (await client.AnswerAsync($$$"""{"type":"req","id":6,"op":"$unsubscribe","data":{"topic":"{{{topic}}}"}}""")).Type());
        Assert.Equal(1, server.Server.SubscriberCount(topic));
    }

    [Theory]
    [InlineData("$subscribe", """{}""")]
    [InlineData("$subscribe", """{"topic":""}""")]
    [InlineData("$subscribe", """{"topic":"bad topic"}""")]
    [InlineData("$subscribe", """{"topic":7}""")]
    [InlineData("$subscribe", "\"topic\"")]
    [InlineData("$subscribe", """{"topic":"history.x","since":-1}""")]
    [InlineData("$subscribe", """{"topic":"history.x","since":"3"}""")]
    [InlineData("$unsubscribe", """{"topic":"bad topic"}""")]
    public async Task SubscribeWithMalformedDataIsInvalidArgument(string op, string data)
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        JsonElement answer = await client.AnswerAsync($$"""{"type":"req","id":1,"op":"{{op}}","data":{{data}}}""");
        answer.AssertRej("invalid_argument", "1");
    }

    [Fact]
    public async Task SubscribeWithoutDataIsInvalidArgument()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        (await client.AnswerAsync("""{"type":"req","id":1,"op":"$subscribe"}""")).AssertRej("invalid_argument", "1");
    }

    [Fact]
    public async Task SubscribeRefusedByTheApplicationIsForbidden()
    {
        var asked = new List<string>();
        await using TestServer server = await TestServer.StartAsync(configure: c => c.AuthorizeSubscribe((connection, topic) =>
        {
            lock (asked)
            {
                asked.Add(topic);
            }

            return !topic.StartsWith("secret.", StringComparison.Ordinal);
        }));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        await using WsClient publisher = await WsClient.ConnectAsync(server.WebSocketUri);

        JsonElement refused = await client.AnswerAsync("""{"type":"req","id":"s","op":"$subscribe","data":{"topic":"secret.plans"}}""");
        refused.AssertRej("forbidden", "\"s\"");
        Assert.Equal(0, server.Server.SubscriberCount("secret.plans"));
        Assert.Equal(0, await publisher.PublishAsync("secret.plans", "1"));

        await client.SubscribeAsync("public.news");
        Assert.Equal(1, await publisher.PublishAsync("public.news", "2"));
        Assert.Equal("2", (await client.ReceiveIndsAsync(1))[0].Raw("data"));
        await client.AssertNothingElseArrivesAsync();
        lock (asked)
        {
            Assert.Equal(["secret.plans", "public.news"], asked);
        }
    }

    [Fact]
    public async Task ReservedTopicsCannotBeSubscribed()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        (await client.AnswerAsync("""{"type":"req","id":1,"op":"$subscribe","data":{"topic":"$session"}}""")).AssertRej("forbidden", "1");
    }

    [Fact]
    public async Task SubscriptionsAreRemovedOnDisconnect()
    {
        await using TestServer server = await TestServer.StartAsync();
        WsClient closing = await WsClient.ConnectAsync(server.WebSocketUri);
        WsClient dropped = await WsClient.ConnectAsync(server.WebSocketUri);
        await using WsClient staying = await WsClient.ConnectAsync(server.WebSocketUri);
        foreach (WsClient c in new[] { closing, dropped, staying })
        {
            await c.SubscribeAsync("room.1");
            await c.SubscribeAsync("history.room.1");
        }

        Assert.Equal(3, server.Server.SubscriberCount("room.1"));
        Assert.Equal(3, server.Server.SubscriberCount("history.room.1"));

        await closing.DisposeAsync(); // close handshake
        await Eventually.TrueAsync(() => server.Server.SubscriberCount("room.1") == 2 && server.Server.SubscriberCount("history.room.1") == 2,
            "the closed connection's subscriptions are removed");

        dropped.Socket.Abort(); // no close handshake
        await Eventually.TrueAsync(() => server.Server.SubscriberCount("room.1") == 1 && server.Server.SubscriberCount("history.room.1") == 1,
            "the dropped connection's subscriptions are removed");
        dropped.Socket.Dispose();

        Assert.Equal(1, await staying.PublishAsync("room.1", "1"));
        Assert.Equal(1, await staying.PublishAsync("history.room.1", "1"));
    }

    [Fact]
    public async Task AbortAllRemovesEverySubscription()
    {
        await using TestServer server = await TestServer.StartAsync();
        var clients = new List<WsClient>();
        for (int i = 0; i < 5; i++)
        {
            WsClient c = await WsClient.ConnectAsync(server.WebSocketUri);
            await c.SubscribeAsync("all.gone");
            clients.Add(c);
        }

        Assert.Equal(5, server.Server.SubscriberCount("all.gone"));
        server.Server.AbortAll();
        await Eventually.TrueAsync(() => server.Server.SubscriberCount("all.gone") == 0, "every subscription is removed");
        await Eventually.TrueAsync(() => server.Server.Connections.Count == 0, "every connection is gone");
        foreach (WsClient c in clients)
        {
            c.Socket.Dispose();
        }
    }
}
