using System.Net.WebSockets;
using System.Text.Json;
using ConnMsg.Client.Tests.Infrastructure;
using static ConnMsg.Client.Tests.Infrastructure.TestClients;

namespace ConnMsg.Client.Tests;

/// <summary>
/// A <c>SubscribeAsync</c> given up (cancelled, timed out) after its <c>$subscribe</c> went out: the server may still
/// make the subscription live (PROTOCOL §5.2), so the client must take it back. A scripted server holds the
/// <c>cfm</c> back, which the gateway cannot be made to do.
/// </summary>
public sealed class AbandonedSubscribeTests
{
    private const string Topic = "prices.x";

    private const string Session = """{"type":"ind","topic":"$session","data":{"id":"s","keepAlive":15,"maxMessage":65536,"maxInFlight":256}}""";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SubscribeGivenUpBeforeItsCfmIsUndoneWithUnsubscribeOnceTheLateCfmArrives(bool timesOut)
    {
        var subscribeSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var clientGaveUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var afterLateCfm = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async socket =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            var subscribe = await ReceiveJsonAsync(socket);
            subscribeSeen.SetResult();
            await clientGaveUp.Task;
            await ScriptedServer.SendAsync(socket, Cfm(subscribe)); // live from here on, for this connection
            var next = await ReceiveJsonAsync(socket);
            afterLateCfm.SetResult(next);
            await ScriptedServer.SendAsync(socket, Cfm(next));
            await AnswerUntilClosedAsync(socket);
        });
        var options = timesOut ? Options() with { RequestTimeout = TimeSpan.FromMilliseconds(300) } : Options();
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, options);

        await GiveUpSubscribingAsync(client, subscribeSeen.Task, timesOut);
        clientGaveUp.SetResult();
        var next = await afterLateCfm.Task.Within();

        Assert.Equal("req", next.GetProperty("type").GetString());
        Assert.Equal("$unsubscribe", next.GetProperty("op").GetString());
        Assert.Equal(Topic, next.GetProperty("data").GetProperty("topic").GetString());
    }

    [Fact]
    public async Task LateCfmOfAGivenUpSubscribeDoesNotUndoASubscribeOfTheTopicMadeMeanwhile()
    {
        var firstSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var beforeMarker = new TaskCompletionSource<List<string>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async socket =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            var first = await ReceiveJsonAsync(socket);
            firstSeen.SetResult();
            var second = await ReceiveJsonAsync(socket); // the new subscriber's, sent after the first was given up
            await ScriptedServer.SendAsync(socket, Cfm(first));
            await ScriptedServer.SendAsync(socket, Cfm(second));

            // Whatever the client sends from here up to the marker request; an $unsubscribe would end the new subscription.
            var ops = new List<string>();
            while (true)
            {
                var message = await ReceiveJsonAsync(socket);
                await ScriptedServer.SendAsync(socket, Cfm(message));
                string op = message.GetProperty("op").GetString()!;
                if (op == "probe.marker")
                {
                    break;
                }

                ops.Add(op);
            }

            beforeMarker.SetResult(ops);
            await AnswerUntilClosedAsync(socket);
        });
        var logger = new TestLogger();
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options(logger));
        await GiveUpSubscribingAsync(client, firstSeen.Task);

        await using var subscription = await client.SubscribeAsync(Topic).Within();
        string settled = await logger.WaitForAsync(18).Within(); // AbandonedSubscribeSettled: the late cfm was dealt with
        await client.RequestAsync("probe.marker", default).Within();

        Assert.Empty(await beforeMarker.Task.Within());
        Assert.Contains("sent $unsubscribe: False", settled);
    }

    [Fact]
    public async Task SubscribeGivenUpAndThenCutOffByAConnectionLossLeavesNothingToUndo()
    {
        var subscribeSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var clientGaveUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstOnReconnect = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async (socket, index) =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            if (index == 0)
            {
                await ReceiveJsonAsync(socket);
                subscribeSeen.SetResult();
                await clientGaveUp.Task;
                socket.Abort(); // the connection, and with it the server's side of the subscribe, is gone
                return;
            }

            var first = await ReceiveJsonAsync(socket);
            firstOnReconnect.SetResult(first.GetProperty("op").GetString()!);
            await ScriptedServer.SendAsync(socket, Cfm(first));
            await AnswerUntilClosedAsync(socket);
        });
        var logger = new TestLogger();
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options(logger));
        await GiveUpSubscribingAsync(client, subscribeSeen.Task);

        clientGaveUp.SetResult();
        string settled = await logger.WaitForAsync(18).Within(); // AbandonedSubscribeSettled
        await client.RequestAsync("probe.marker", default).Within(); // waits for the reconnect

        Assert.Contains("live: False", settled);
        Assert.Contains("sent $unsubscribe: False", settled);
        Assert.Equal("probe.marker", await firstOnReconnect.Task.Within()); // neither re-subscribed nor unsubscribed
    }

    /// <summary>Subscribes to <see cref="Topic"/> and gives up (cancels, or lets it time out) once the server holds the <c>$subscribe</c>.</summary>
    private static async Task GiveUpSubscribingAsync(ConnMsgClient client, Task subscribeSeen, bool byTimeout = false)
    {
        using var cancel = new CancellationTokenSource();
        var subscribing = client.SubscribeAsync(Topic, cancel.Token);
        await subscribeSeen.Within();
        if (byTimeout)
        {
            await Assert.ThrowsAsync<TimeoutException>(() => subscribing).Within();
            return;
        }

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => subscribing).Within();
    }

    private static async Task<JsonElement> ReceiveJsonAsync(WebSocket socket)
        => JsonDocument.Parse(await ScriptedServer.ReceiveAsync(socket)).RootElement;

    private static string Cfm(JsonElement request) => $$"""{"type":"cfm","id":{{request.GetProperty("id").GetRawText()}}}""";

    /// <summary>Confirms every request, as a server with nothing more to say would, until the client closes.</summary>
    private static async Task AnswerUntilClosedAsync(WebSocket socket)
    {
        try
        {
            while (true)
            {
                await ScriptedServer.SendAsync(socket, Cfm(await ReceiveJsonAsync(socket)));
            }
        }
        catch (WebSocketException)
        {
            // The client closed (ScriptedServer.ReceiveAsync reports its close frame this way) or went away.
        }
    }
}
