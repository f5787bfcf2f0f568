using System.Text.Json;
using System.Threading.Channels;
using Xunit;
using static ConnMsg.Client.Tests.Infrastructure.ResubscribeScript;
using static ConnMsg.Client.Tests.Infrastructure.TestClients;

namespace ConnMsg.Client.Tests.Infrastructure;

/// <summary>
/// A reconnect in which one topic's re-subscription fails and another's succeeds, for the rule they all share: that
/// topic alone fails, and the connection opens with the other live again.
/// </summary>
internal static class OneFailingResubscription
{
    /// <summary>What the reconnect left: the failure reported, the requests the new connection saw before the client's <c>probe.marker</c>, and the failure's log line.</summary>
    public sealed record Outcome(ConnMsgRecoveryFailedEventArgs Failure, List<string> SeenBeforeMarker, string Logged);

    /// <summary>
    /// Subscribes <paramref name="failing"/> and topic.b, drops the connection, and has every later one send
    /// <paramref name="session"/> and answer with <paramref name="answer"/> (given the request, its op and topic);
    /// asserts that only <paramref name="failing"/> failed, logged as a failed re-subscription (not a gap in
    /// history), and that the reconnect opened, with topic.b live.
    /// </summary>
    public static async Task<Outcome> ReconnectAsync(string failing, string session, Func<JsonElement, string, string?, string> answer)
    {
        var drop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var beforeMarker = new TaskCompletionSource<List<string>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async (socket, index) =>
        {
            if (index == 0)
            {
                await ScriptedServer.SendAsync(socket, Session);
                await ScriptedServer.SendAsync(socket, Cfm(await ReceiveJsonAsync(socket)));
                await ConfirmThenDropAsync(socket, drop.Task);
                return;
            }

            await ScriptedServer.SendAsync(socket, session);
            beforeMarker.TrySetResult(await RequestsUntilMarkerAsync(socket, answer));
            await ScriptedServer.SendAsync(socket, """{"type":"ind","topic":"topic.b","data":{"n":1}}""");
            await AnswerUntilClosedAsync(socket);
        });
        var logger = new TestLogger();
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options(logger));
        var failed = new TaskCompletionSource<ConnMsgRecoveryFailedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.RecoveryFailed += (_, e) => failed.TrySetResult(e);
        await using var a = await client.SubscribeAsync(failing).Within();
        var received = Channel.CreateUnbounded<ConnMsgInd>();
        await using var b = await client.SubscribeAsync("topic.b", ind => received.Writer.TryWrite(ind)).Within();

        drop.SetResult();

        var reconnectFailed = logger.WaitForAsync(4);
        if (await Task.WhenAny(failed.Task, reconnectFailed).Within() == reconnectFailed)
        {
            Assert.Fail($"one topic's failed re-subscription failed the whole reconnect: {await reconnectFailed}");
        }

        var e = await failed.Task;
        Assert.Equal(failing, e.Topic);
        Assert.Null(e.CurrentSeq);
        await client.RequestAsync("probe.marker", default).Within(); // sent once the new connection is open
        var seen = await beforeMarker.Task.Within();
        Assert.Contains("$subscribe topic.b", seen);
        Assert.Equal(1, N(await received.Reader.ReadAsync().AsTask().Within())); // topic.b is live again
        Assert.DoesNotContain(logger.Events, ev => ev.EventId == 4);
        var logged = Assert.Single(logger.Events, ev => ev.Message.Contains(failing, StringComparison.Ordinal) && ev.EventId is 9 or 23);
        Assert.True(logged.EventId == 23, $"logged as event {logged.EventId}: {logged.Message}");
        return new Outcome(e, seen, logged.Message);
    }
}
