using System.Text.Json;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;

namespace ConnMsg.Tests.Messaging;

/// <summary>PROTOCOL.md §5.1 <c>$session</c>, §5.4 <c>$ping</c>, and the demo's <c>whoami</c>.</summary>
public sealed class ReservedOpTests(DemoServerFixture fixture) : IClassFixture<DemoServerFixture>
{
    private Uri Uri => fixture.Server.WebSocketUri;

    [Theory]
    [InlineData("{\"a\":[1,{\"b\":null}],\"c\":\"\\u00e9\"}")]
    [InlineData("\"text\"")]
    [InlineData("12.50")]
    [InlineData("[]")]
    [InlineData("false")]
    [InlineData("null")]
    public async Task PingEchoesDataVerbatim(string data)
    {
        await using WsClient client = await WsClient.ConnectAsync(Uri);
        JsonElement answer = await client.AnswerAsync($$"""{"type":"req","id":"p","op":"$ping","data":{{data}}}""");
        Assert.Equal("cfm", answer.Type());
        Assert.Equal("\"p\"", answer.Raw("id"));
        Assert.Equal(data, answer.Raw("data"));
    }

    [Fact]
    public async Task PingWithoutDataIsConfirmedWithoutData()
    {
        await using WsClient client = await WsClient.ConnectAsync(Uri);
        JsonElement answer = await client.AnswerAsync("""{"type":"req","id":1,"op":"$ping"}""");
        Assert.Equal("cfm", answer.Type());
        Assert.True(!answer.TryGetProperty("data", out JsonElement data) || data.ValueKind == JsonValueKind.Null);
    }

    [Fact]
    public async Task SessionIndComesFirstEvenWhenTheClientSendsAtOnce()
    {
        await using WsClient client = await WsClient.ConnectAsync(Uri, readSession: false);
        await client.SendAsync("""{"type":"req","id":1,"op":"$ping","data":1}""");
        await client.SendAsync("""{"type":"req","id":2,"op":"echo","data":2}""");

        JsonElement first = await client.ReceiveJsonAsync();
        Assert.Equal("ind", first.Type());
        Assert.Equal("$session", first.Str("topic"));
        Assert.False(first.TryGetProperty("seq", out _), "$session carries no seq");
        Assert.Equal("1", (await client.ReceiveJsonAsync()).Raw("id"));
        Assert.Equal("2", (await client.ReceiveJsonAsync()).Raw("id"));
    }

    [Fact]
    public async Task SessionCarriesTheDefaultLimits()
    {
        await using WsClient client = await WsClient.ConnectAsync(Uri);
        JsonElement data = client.Session.GetProperty("data");
        Assert.Equal(15, data.GetProperty("keepAlive").GetInt32());
        Assert.Equal(65536, data.GetProperty("maxMessage").GetInt32());
        Assert.Equal(256, data.GetProperty("maxInFlight").GetInt32());
        Assert.False(string.IsNullOrEmpty(data.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task SessionReflectsTheConfiguredLimits()
    {
        await using TestServer server = await TestServer.StartAsync(o =>
        {
            o.KeepAliveInterval = TimeSpan.FromSeconds(7);
            o.MaxMessageSize = 4096;
            o.MaxInFlight = 9;
        });
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        JsonElement data = client.Session.GetProperty("data");
        Assert.Equal(7, data.GetProperty("keepAlive").GetInt32());
        Assert.Equal(4096, data.GetProperty("maxMessage").GetInt32());
        Assert.Equal(9, data.GetProperty("maxInFlight").GetInt32());
    }

    [Fact]
    public async Task SessionKeepAliveKeepsTheFractionOfASecond()
    {
        await using TestServer server = await TestServer.StartAsync(o => o.KeepAliveInterval = TimeSpan.FromMilliseconds(1500));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        JsonElement data = client.Session.GetProperty("data");
        Assert.Equal(1.5, data.GetProperty("keepAlive").GetDouble());
    }

    [Fact]
    public async Task SessionIdIsTheConnectionIdAndUniquePerConnection()
    {
        await using WsClient a = await WsClient.ConnectAsync(Uri);
        await using WsClient b = await WsClient.ConnectAsync(Uri);
        string idA = a.Session.GetProperty("data").GetProperty("id").GetString()!;
        string idB = b.Session.GetProperty("data").GetProperty("id").GetString()!;
        Assert.NotEqual(idA, idB);

        JsonElement whoami = await a.AnswerAsync("""{"type":"req","id":1,"op":"whoami"}""");
        Assert.Equal(idA, whoami.GetProperty("data").GetProperty("id").GetString());
        Assert.Contains(fixture.Server.Server.Connections, c => c.Id == idA);
    }

    [Fact]
    public async Task WhoamiShowsTheConnectionsSubscriptions()
    {
        await using WsClient client = await WsClient.ConnectAsync(Uri);
        Assert.Empty(await SubscriptionsAsync(client));

        await client.SubscribeAsync("whoami.a");
        await client.SubscribeAsync("history.whoami.b");
        Assert.Equal(["history.whoami.b", "whoami.a"], (await SubscriptionsAsync(client)).Order(StringComparer.Ordinal));

        await client.AnswerAsync("""{"type":"req","id":"u","op":"$unsubscribe","data":{"topic":"whoami.a"}}""");
        Assert.Equal(["history.whoami.b"], await SubscriptionsAsync(client));

        // Another connection's subscriptions are its own.
        await using WsClient other = await WsClient.ConnectAsync(Uri);
        Assert.Empty(await SubscriptionsAsync(other));
    }

    [Fact]
    public async Task TimeAnswersTheCurrentUtcTimeInIso8601()
    {
        await using WsClient client = await WsClient.ConnectAsync(Uri);
        DateTimeOffset before = DateTimeOffset.UtcNow;
        JsonElement answer = await client.AnswerAsync("""{"type":"req","id":1,"op":"time"}""");
        string utc = answer.GetProperty("data").GetProperty("utc").GetString()!;
        DateTimeOffset parsed = DateTimeOffset.ParseExact(utc, "O", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.Zero, parsed.Offset);
        Assert.InRange(parsed, before.AddSeconds(-1), DateTimeOffset.UtcNow.AddSeconds(1));
    }

    private static async Task<string[]> SubscriptionsAsync(WsClient client)
    {
        JsonElement answer = await client.AnswerAsync("""{"type":"req","id":"w","op":"whoami"}""");
        return answer.GetProperty("data").GetProperty("subscriptions").EnumerateArray().Select(e => e.GetString()!).ToArray();
    }
}
