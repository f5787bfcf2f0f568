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
            beforeMarker.SetResult(await RequestsUntilMarkerAsync(socket, static (request, _, _) => Cfm(request)));
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
        // topic.a's $subscribe is made live but its cfm breaks PROTOCOL §3; the rest is confirmed.
        var outcome = await OneFailingResubscription.ReconnectAsync("topic.a", Session, static (request, op, topic) =>
            op == "$subscribe" && topic == "topic.a" ? MalformedCfm(request) : Cfm(request));

        Assert.Contains("not valid JSON", Assert.IsType<ConnMsgException>(outcome.Failure.Error).Message);
        Assert.Equal(["$subscribe topic.a", "$unsubscribe topic.a"], outcome.SeenBeforeMarker.Where(r => !r.EndsWith("topic.b", StringComparison.Ordinal)));
        Assert.Contains("malformed", outcome.Logged); // an unreadable answer, not a gap in history
    }
}
