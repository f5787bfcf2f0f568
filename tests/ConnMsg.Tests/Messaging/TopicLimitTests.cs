using System.Text.Json;
using ConnMsg.Messaging;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;
using Microsoft.Extensions.DependencyInjection;

namespace ConnMsg.Tests.Messaging;

/// <summary>
/// Topics are created by the network's requests, so their number and what they keep are bounded: subscriptions per
/// connection, history topics per server, and how long an unused history topic keeps its Inds.
/// </summary>
public sealed class TopicLimitTests
{
    [Fact]
    public async Task ASubscriptionBeyondTheConnectionsLimitIsRejectedAsOverloadedWhileHeldOnesStillConfirm()
    {
        await using TestServer server = await TestServer.StartAsync(o => o.MaxSubscriptionsPerConnection = 3);
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        foreach (string topic in new[] { "a", "b", "c" })
        {
            await client.SubscribeAsync(topic);
        }

        JsonElement refused = await client.AnswerAsync("""{"type":"req","id":4,"op":"$subscribe","data":{"topic":"d"}}""");
        refused.AssertRej("overloaded", "4");
        Assert.Contains("limit 3", refused.Str("reason"));
        Assert.Equal(0, server.Server.SubscriberCount("d"));

        await client.SubscribeAsync("b"); // already held: no new subscription, so it fits
        JsonElement left = await client.AnswerAsync("""{"type":"req","id":5,"op":"$unsubscribe","data":{"topic":"a"}}""");
        Assert.Equal("cfm", left.Type());
        await client.SubscribeAsync("d");
        Assert.Equal(1, server.Server.SubscriberCount("d"));
    }

    [Fact]
    public async Task PublishingOrSubscribingToANewHistoryTopicBeyondTheLimitIsRejectedAsOverloaded()
    {
        await using TestServer server = await TestServer.StartAsync(o => o.MaxHistoryTopics = 2);
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        await client.PublishAsync("history.one", "1");
        await client.SubscribeAsync("history.two");

        JsonElement publish = await client.AnswerAsync("""{"type":"req","id":"p3","op":"publish","data":{"topic":"history.three","data":3}}""");
        publish.AssertRej("overloaded", "\"p3\"");
        Assert.Contains("history topics", publish.Str("reason"));
        JsonElement subscribe = await client.AnswerAsync("""{"type":"req","id":"s3","op":"$subscribe","data":{"topic":"history.three"}}""");
        subscribe.AssertRej("overloaded", "\"s3\"");

        // The existing ones are unaffected, and topics without history are not counted.
        await client.PublishAsync("history.one", "2");
        await client.SubscribeAsync("plain");
        Assert.Equal(2, server.App.Services.GetRequiredService<ConnMsgApplication>().Topics.HistoryTopicCount);
    }

    [Fact]
    public async Task AServerSideSubscribeBeyondEitherLimitIsRejectedAsOverloadedAsTheClientsOwnWouldBe()
    {
        // A handler that subscribes its connection ("join") answers with the refusal the client's $subscribe would get.
        await using TestServer server = await TestServer.StartAsync(o =>
        {
            o.MaxHistoryTopics = 1;
            o.MaxSubscriptionsPerConnection = 2;
        }, c => c.MapRequest("join", request =>
        {
            request.Connection.Subscribe(JsonDocument.Parse(request.Data).RootElement.GetString()!);
            request.Confirm();
            return default;
        }));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        Assert.Equal("cfm", (await client.AnswerAsync(Join(1, "history.a"))).Type());

        JsonElement tooManyHistoryTopics = await client.AnswerAsync(Join(2, "history.b"));
        tooManyHistoryTopics.AssertRej("overloaded", "2");
        Assert.Contains("history topics", tooManyHistoryTopics.Str("reason"));

        Assert.Equal("cfm", (await client.AnswerAsync(Join(3, "x1"))).Type());
        JsonElement tooManySubscriptions = await client.AnswerAsync(Join(4, "x2"));
        tooManySubscriptions.AssertRej("overloaded", "4");
        Assert.Contains("limit 2", tooManySubscriptions.Str("reason"));
        Assert.Equal("cfm", (await client.AnswerAsync(Join(5, "x1"))).Type()); // already held: it fits

        JsonElement whoami = await client.AnswerAsync("""{"type":"req","id":6,"op":"whoami"}""");
        Assert.Equal(["history.a", "x1"], whoami.GetProperty("data").GetProperty("subscriptions").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(0, server.Server.SubscriberCount("history.b"));
        Assert.Equal(0, server.Server.SubscriberCount("x2"));

        static string Join(int id, string topic) => $$"""{"type":"req","id":{{id}},"op":"join","data":"{{topic}}"}""";
    }

    [Fact]
    public async Task AHistoryTopicWithNoSubscriberAndNoPublishForTheRetentionIsDroppedAndCountsOnAboveItsOldSeqsWhenCreatedAgain()
    {
        await using TestServer server = await TestServer.StartAsync(o =>
        {
            o.MaxHistoryTopics = 2;
            o.HistoryRetention = TimeSpan.FromHours(1);
        });
        var topics = server.App.Services.GetRequiredService<ConnMsgApplication>().Topics;
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        long lastSeen;
        await client.PublishAsync("history.kept", "1");
        await client.PublishAsync("history.kept", "2");
        await using (WsClient reader = await WsClient.ConnectAsync(server.WebSocketUri))
        {
            lastSeen = (await reader.SubscribeAsync("history.kept")).GetProperty("seq").GetInt64();
        }

        await Eventually.TrueAsync(() => server.Server.SubscriberCount("history.kept") == 0, "the reader's subscription to end");
        await client.SubscribeAsync("history.watched");
        Assert.True(topics.Exists("history.kept"));

        // The sweep is driven with the clock as it will read an hour from now; the watched topic has a subscriber.
        topics.Sweep(Environment.TickCount64 + (long)TimeSpan.FromHours(1).TotalMilliseconds);
        Assert.False(topics.Exists("history.kept"));
        Assert.True(topics.Exists("history.watched"));
        Assert.Equal(1, topics.HistoryTopicCount); // its place under MaxHistoryTopics is free again

        // Its history went with it. Created again, the topic counts on above every seq it issued before, so a client
        // that saw lastSeen learns that recovery is impossible, even once the new topic has had more Inds than the old.
        for (int i = 0; i < 5; i++)
        {
            await client.PublishAsync("history.kept", "3");
        }

        JsonElement late = await client.SubscribeAsync("history.kept", since: lastSeen);
        Assert.False(late.GetProperty("recovered").GetBoolean());
        Assert.True(late.GetProperty("seq").GetInt64() > lastSeen);
    }

    [Fact]
    public async Task AHistoryTopicStillInUseIsNotDroppedBeforeTheRetention()
    {
        await using TestServer server = await TestServer.StartAsync();
        var topics = server.App.Services.GetRequiredService<ConnMsgApplication>().Topics;
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        await client.PublishAsync("history.recent", "1");

        topics.Sweep(Environment.TickCount64 + (long)TimeSpan.FromMinutes(59).TotalMilliseconds);
        Assert.True(topics.Exists("history.recent"));
    }
}
