using System.Threading.Channels;
using ConnMsg.Client.Tests.Infrastructure;
using static ConnMsg.Client.Tests.Infrastructure.ResubscribeScript;
using static ConnMsg.Client.Tests.Infrastructure.TestClients;

namespace ConnMsg.Client.Tests;

/// <summary>
/// Re-subscription after a reconnect (PROTOCOL §5.2) confirmed with a <c>cfm</c> that breaks PROTOCOL §3: the server made
/// it live, the client cannot tell what was replayed, so it takes that topic back with <c>$unsubscribe</c> and reports it
/// alone. A scripted server decides each answer, which the gateway cannot be made to do.
/// </summary>
public sealed class ResubscribeMalformedCfmTests
{
    [Fact]
    public async Task ResubscriptionRetryAnsweredWithAMalformedCfmIsTakenBackWithUnsubscribe()
    {
        var drop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var beforeMarker = new TaskCompletionSource<List<string>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async (socket, index) =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            if (index == 0)
            {
                await ConfirmThenDropAsync(socket, drop.Task);
                return;
            }

            // The re-subscription is refused overloaded; its retry is made live, but the cfm saying so breaks PROTOCOL §3.
            await ScriptedServer.SendAsync(socket, Rej(await ReceiveJsonAsync(socket), "overloaded"));
            await ScriptedServer.SendAsync(socket, MalformedCfm(await ReceiveJsonAsync(socket)));
            beforeMarker.SetResult(await RequestsUntilMarkerAsync(socket, static (_, _) => false));
            await AnswerUntilClosedAsync(socket);
        });
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options());
        var failed = new TaskCompletionSource<ConnMsgRecoveryFailedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.RecoveryFailed += (_, e) => failed.TrySetResult(e);
        await using var subscription = await client.SubscribeAsync("news").Within();

        drop.SetResult();

        var e = await failed.Task.Within();
        await client.RequestAsync("probe.marker", default).Within();

        Assert.Equal("news", e.Topic);
        Assert.Contains("not valid JSON", Assert.IsType<ConnMsgException>(e.Error).Message);

        // The server made the subscription live while the client gave it up: it must not keep delivering to it.
        Assert.Equal(["$unsubscribe news"], await beforeMarker.Task.Within());
    }

    [Fact]
    public async Task MalformedCfmOfOneResubscriptionFailsThatTopicAloneAndTheReconnectOpensWithTheOthers()
    {
        var drop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var beforeMarker = new TaskCompletionSource<List<string>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async (socket, index) =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            if (index == 0)
            {
                await ScriptedServer.SendAsync(socket, Cfm(await ReceiveJsonAsync(socket)));
                await ConfirmThenDropAsync(socket, drop.Task);
                return;
            }

            // Every later connection: topic.a's $subscribe is made live but its cfm breaks PROTOCOL §3; the rest is
            // confirmed.
            beforeMarker.TrySetResult(await RequestsUntilMarkerAsync(socket, static (op, topic) => op == "$subscribe" && topic == "topic.a"));
            await ScriptedServer.SendAsync(socket, """{"type":"ind","topic":"topic.b","data":{"n":1}}""");
            await AnswerUntilClosedAsync(socket);
        });
        var logger = new TestLogger();
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options(logger));
        var failed = new TaskCompletionSource<ConnMsgRecoveryFailedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.RecoveryFailed += (_, e) => failed.TrySetResult(e);
        await using var a = await client.SubscribeAsync("topic.a").Within();
        var received = Channel.CreateUnbounded<ConnMsgInd>();
        await using var b = await client.SubscribeAsync("topic.b", ind => received.Writer.TryWrite(ind)).Within();

        drop.SetResult();

        var reconnectFailed = logger.WaitForAsync(4);
        if (await Task.WhenAny(failed.Task, reconnectFailed).Within() == reconnectFailed)
        {
            Assert.Fail($"one topic's malformed cfm failed the whole reconnect: {await reconnectFailed}");
        }

        var e = await failed.Task;
        Assert.Equal("topic.a", e.Topic);
        Assert.Contains("not valid JSON", Assert.IsType<ConnMsgException>(e.Error).Message);
        await client.RequestAsync("probe.marker", default).Within(); // sent once the new connection is open
        var seen = await beforeMarker.Task.Within();
        Assert.Contains("$subscribe topic.b", seen);
        Assert.Equal(["$subscribe topic.a", "$unsubscribe topic.a"], seen.Where(r => !r.EndsWith("topic.b", StringComparison.Ordinal)));
        Assert.Equal(1, N(await received.Reader.ReadAsync().AsTask().Within())); // topic.b is live again
        Assert.DoesNotContain(logger.Events, ev => ev.EventId == 4);
        var logged = Assert.Single(logger.Events, ev => ev.Message.Contains("topic.a", StringComparison.Ordinal) && ev.EventId is 9 or 23);
        Assert.True(logged.EventId == 23, $"logged as event {logged.EventId}: {logged.Message}"); // an unreadable answer, not a gap in history
        Assert.Contains("malformed", logged.Message);
    }
}
