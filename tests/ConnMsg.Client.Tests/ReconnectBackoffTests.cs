using System.Text.RegularExpressions;
using ConnMsg.Client.Tests.Infrastructure;
using static ConnMsg.Client.Tests.Infrastructure.TestClients;

namespace ConnMsg.Client.Tests;

/// <summary>
/// The reconnect backoff across outages: a server that accepts and then drops the connection at once must not be
/// reconnected to at the shortest delay forever. The delays are read from the client's own log (event 3,
/// ReconnectScheduled), so the test depends on no clock.
/// </summary>
public sealed class ReconnectBackoffTests
{
    private const string Session = """{"type":"ind","topic":"$session","data":{"id":"s","keepAlive":15,"maxMessage":65536,"maxInFlight":256}}""";

    [Fact]
    public async Task ConnectionsDroppedSoonAfterOpeningKeepGrowingTheBackoff()
    {
        // Options(): 20 ms initial delay, 500 ms cap. Outage n waits between half and all of min(500, 20·2^(n-1)) ms.
        var delays = await ScheduledDelaysAsync(outages: 5, Options(new TestLogger()));

        Assert.True(delays[4] >= TimeSpan.FromMilliseconds(160), $"backoff delays of the outages: {string.Join(", ", delays)}");
    }

    [Fact]
    public async Task WithReconnectStableAfterZeroEveryReconnectStartsTheBackoffOver()
    {
        var delays = await ScheduledDelaysAsync(outages: 5, Options(new TestLogger()) with { ReconnectStableAfter = TimeSpan.Zero });

        Assert.All(delays, delay => Assert.InRange(delay, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(20)));
    }

    [Fact]
    public void ReconnectStableAfterRefusesANegativeTime()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConnMsgClientOptions { ReconnectStableAfter = TimeSpan.FromSeconds(-1) });
        Assert.Equal(TimeSpan.FromSeconds(5), ConnMsgClientOptions.Default.ReconnectStableAfter);
    }

    /// <summary>
    /// Connects to a server that drops every connection as soon as the client reports it open, lets it reconnect
    /// <paramref name="outages"/> times, and returns the backoff delay scheduled before each reconnect.
    /// </summary>
    internal static async Task<List<TimeSpan>> ScheduledDelaysAsync(int outages, ConnMsgClientOptions options)
    {
        var open = new SemaphoreSlim(0);
        await using var server = await ScriptedServer.StartAsync(async (socket, _) =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            await open.WaitAsync(); // the client has made this connection its open one
            socket.Abort();
        });
        var logger = (TestLogger)options.Logger!;
        var client = new ConnMsgClient(server.WebSocketUri, options);
        var reopened = new SemaphoreSlim(0);
        client.StateChanged += (_, e) =>
        {
            if (e.Current == ConnMsgConnectionState.Open)
            {
                open.Release();
                if (e.Previous == ConnMsgConnectionState.Reconnecting)
                {
                    reopened.Release();
                }
            }
        };
        await using (client)
        {
            await client.ConnectAsync().Within();
            for (int n = 0; n < outages; n++)
            {
                await reopened.WaitAsync().Within();
            }
        }

        var delays = logger.Events.Where(e => e.EventId == 3).Select(e => ParseDelay(e.Message)).ToList();
        Assert.True(delays.Count >= outages, $"{delays.Count} reconnects scheduled");
        return delays;
    }

    private static TimeSpan ParseDelay(string message)
        => TimeSpan.Parse(Regex.Match(message, @" in (?<delay>[0-9:.]+)\.$").Groups["delay"].Value, System.Globalization.CultureInfo.InvariantCulture);
}
