using ConnMsg.Tests.Infrastructure;

namespace ConnMsg.Tests.Hosting;

/// <summary>A bad <see cref="ConnMsgOptions"/> value stops the host before it listens, naming the option.</summary>
public sealed class OptionsValidationTests
{
    public static TheoryData<string, Action<ConnMsgOptions>> BadValues => new()
    {
        { nameof(ConnMsgOptions.HandshakeTimeout), o => o.HandshakeTimeout = TimeSpan.FromSeconds(-2) },
        { nameof(ConnMsgOptions.HandshakeTimeout), o => o.HandshakeTimeout = Timeout.InfiniteTimeSpan },
        { nameof(ConnMsgOptions.RequestTimeout), o => o.RequestTimeout = TimeSpan.Zero },
        { nameof(ConnMsgOptions.CloseTimeout), o => o.CloseTimeout = TimeSpan.FromDays(30) },
        { nameof(ConnMsgOptions.DrainTimeout), o => o.DrainTimeout = TimeSpan.FromMilliseconds(-1) },
        { nameof(ConnMsgOptions.IncompleteMessageTimeout), o => o.IncompleteMessageTimeout = TimeSpan.Zero },
        { nameof(ConnMsgOptions.IncompleteMessageTimeout), o => o.IncompleteMessageTimeout = TimeSpan.FromDays(30) },
        { nameof(ConnMsgOptions.MaxRequestLineSize), o => o.MaxRequestLineSize = 0 },
        { nameof(ConnMsgOptions.MaxRequestHeadSize), o => o.MaxRequestHeadSize = 100 },
        { nameof(ConnMsgOptions.MaxHeaderCount), o => o.MaxHeaderCount = 4 },
        { nameof(ConnMsgOptions.MaxInFlight), o => o.MaxInFlight = 0 },
        { nameof(ConnMsgOptions.PublisherYieldBytes), o => o.PublisherYieldBytes = 0 },
        { nameof(ConnMsgOptions.HistoryCapacity), o => o.HistoryCapacity = 100_001 },
        { nameof(ConnMsgOptions.HistoryCapacityBytes), o => o.HistoryCapacityBytes = 64 * 1024 - 1 }, // below MaxMessageSize: not one message fits
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public async Task ABadValueStopsTheHostAndNamesTheOption(string option, Action<ConnMsgOptions> configure)
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await (await TestServer.StartAsync(configure)).DisposeAsync());
        Assert.Contains("ConnMsgOptions." + option, error.Message);
    }

    [Fact]
    public async Task TheLongestTimeoutsAllowedStillServe()
    {
        await using TestServer server = await TestServer.StartAsync(o =>
        {
            o.HandshakeTimeout = TimeSpan.FromMilliseconds(int.MaxValue);
            o.RequestTimeout = TimeSpan.FromMilliseconds(int.MaxValue);
        });
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        Assert.Equal("ind", client.Session.GetProperty("type").GetString());
    }
}
