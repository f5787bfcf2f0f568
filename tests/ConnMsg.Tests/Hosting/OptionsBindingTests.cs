using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ConnMsg.Tests.Hosting;

/// <summary>
/// <see cref="ConnMsgOptions"/> through the real configuration binder, as the gateway's appsettings.json and environment
/// variables (<c>ConnMsg__HistoryTopicPrefixes__0</c>) set them, then through code.
/// </summary>
public sealed class OptionsBindingTests
{
    [Theory]
    [InlineData("chat.")]
    [InlineData("history.")] // the gateway's appsettings.json names the default: it is kept once
    public async Task HistoryTopicPrefixesSetInConfigurationReplaceTheDefault(string prefix)
    {
        await using TestServer server = await TestServer.StartAsync(configuration: c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnMsg:HistoryTopicPrefixes:0"] = prefix,
        }));

        Assert.Equal([prefix], Options(server).HistoryTopicPrefixes);
    }

    [Fact]
    public async Task AConfiguredPrefixListIsWhatDecidesWhichTopicsKeepHistory()
    {
        await using TestServer server = await TestServer.StartAsync(configuration: c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnMsg:HistoryTopicPrefixes:0"] = "chat.",
            ["ConnMsg:HistoryTopicPrefixes:1"] = "news.",
        }));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        await client.PublishAsync("chat.room", "1");
        await client.PublishAsync("history.room", "1");

        Assert.True((await client.SubscribeAsync("chat.room")).TryGetProperty("seq", out _), "chat.room keeps history");
        Assert.True((await client.SubscribeAsync("news.today")).TryGetProperty("seq", out _), "news.today keeps history");
        Assert.Equal(System.Text.Json.JsonValueKind.Undefined, (await client.SubscribeAsync("history.room")).ValueKind); // a plain cfm: no history
    }

    [Fact]
    public async Task CodeConfiguresThePrefixesAfterConfigurationDid()
    {
        await using TestServer server = await TestServer.StartAsync(
            o => o.HistoryTopicPrefixes.Add("news."),
            configuration: c => c.AddInMemoryCollection(new Dictionary<string, string?> { ["ConnMsg:HistoryTopicPrefixes:0"] = "chat." }));

        Assert.Equal(["chat.", "news."], Options(server).HistoryTopicPrefixes);
    }

    [Fact]
    public async Task WithoutPrefixesInConfigurationTheDefaultStandsAndCodeMayReplaceIt()
    {
        await using (TestServer server = await TestServer.StartAsync(configuration: IgnoreHostConfiguration))
        {
            Assert.Equal(["history."], Options(server).HistoryTopicPrefixes);
        }

        await using (TestServer server = await TestServer.StartAsync(o => o.HistoryTopicPrefixes = ["kept."], configuration: IgnoreHostConfiguration))
        {
            Assert.Equal(["kept."], Options(server).HistoryTopicPrefixes);
        }
    }

    [Fact]
    public async Task AnEmptyPrefixListInJsonConfigurationTurnsHistoryOff()
    {
        // Over the host's own appsettings.json (the gateway's, copied beside the tests), which names "history.": the
        // later source's empty list is what counts, as an appsettings.Production.json would override it.
        await using TestServer server = await TestServer.StartAsync(configuration: c => c.AddJsonStream(Json("""{ "ConnMsg": { "HistoryTopicPrefixes": [] } }""")));
        Assert.Empty(Options(server).HistoryTopicPrefixes);

        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        await client.PublishAsync("history.room", "1");
        Assert.Equal(System.Text.Json.JsonValueKind.Undefined, (await client.SubscribeAsync("history.room")).ValueKind); // a plain cfm: no history
    }

    [Theory]
    [InlineData("""{ "ConnMsg": { "HistoryTopicPrefixes": [] } }""")]
    [InlineData("""{ "ConnMsg": { "HistoryTopicPrefixes": null } }""")]
    [InlineData("""{ "ConnMsg": { "HistoryTopicPrefixes": "" } }""")] // what an empty ConnMsg__HistoryTopicPrefixes= gives
    public async Task AHistoryTopicPrefixesSetToNothingLeavesNoPrefix(string json)
    {
        await using TestServer server = await TestServer.StartAsync(configuration: c =>
        {
            IgnoreHostConfiguration(c);
            c.AddJsonStream(Json(json));
        });
        Assert.Empty(Options(server).HistoryTopicPrefixes);
    }

    [Fact]
    public async Task APrefixListInALaterConfigurationSourceReplacesTheListOfAnEarlierOne()
    {
        // The binder would merge the two by index (chat., news.); the later source's list is the whole list.
        await using TestServer server = await TestServer.StartAsync(configuration: c =>
        {
            IgnoreHostConfiguration(c);
            c.AddJsonStream(Json("""{ "ConnMsg": { "HistoryTopicPrefixes": [ "history.", "news." ] } }"""));
            c.AddInMemoryCollection(new Dictionary<string, string?> { ["ConnMsg:HistoryTopicPrefixes:0"] = "chat." });
        });
        Assert.Equal(["chat."], Options(server).HistoryTopicPrefixes);
    }

    [Fact]
    public async Task ASinglePrefixValueIsAListOfOne()
    {
        // ConnMsg__HistoryTopicPrefixes=chat. in the environment, without an index.
        await using TestServer server = await TestServer.StartAsync(configuration: c =>
            c.AddInMemoryCollection(new Dictionary<string, string?> { ["ConnMsg:HistoryTopicPrefixes"] = "chat." }));
        Assert.Equal(["chat."], Options(server).HistoryTopicPrefixes);
    }

    [Fact]
    public async Task CodeMayAddPrefixesAfterConfigurationEmptiedTheList()
    {
        await using TestServer server = await TestServer.StartAsync(o => o.HistoryTopicPrefixes.Add("kept."),
            configuration: c => c.AddJsonStream(Json("""{ "ConnMsg": { "HistoryTopicPrefixes": [] } }""")));
        Assert.Equal(["kept."], Options(server).HistoryTopicPrefixes);
    }

    private static MemoryStream Json(string json) => new(System.Text.Encoding.UTF8.GetBytes(json));

    /// <summary>Drops the host's sources, so that the gateway's appsettings.json copied beside the tests does not count.</summary>
    private static void IgnoreHostConfiguration(IConfigurationBuilder configuration) => configuration.Sources.Clear();

    private static ConnMsgOptions Options(TestServer server) => server.App.Services.GetRequiredService<IOptions<ConnMsgOptions>>().Value;
}
