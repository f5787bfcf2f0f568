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

    /// <summary>Drops the host's sources, so that the gateway's appsettings.json copied beside the tests does not count.</summary>
    private static void IgnoreHostConfiguration(IConfigurationBuilder configuration) => configuration.Sources.Clear();

    private static ConnMsgOptions Options(TestServer server) => server.App.Services.GetRequiredService<IOptions<ConnMsgOptions>>().Value;
}
