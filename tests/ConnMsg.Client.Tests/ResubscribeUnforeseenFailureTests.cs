using System.Text.Json;
using System.Threading.Channels;
using ConnMsg.Client.Tests.Infrastructure;
using static ConnMsg.Client.Tests.Infrastructure.ResubscribeScript;
using static ConnMsg.Client.Tests.Infrastructure.TestClients;

namespace ConnMsg.Client.Tests;

/// <summary>
/// Re-subscription after a reconnect (PROTOCOL §5.2) that fails in a way no other rule of the client names: a <c>rej</c>
/// that breaks PROTOCOL §3, or a <c>$subscribe</c> over the new connection's <c>maxMessage</c> (PROTOCOL §5.1). The
/// server did not make it live, so there is nothing to take back; that topic alone fails, as on a retry after
/// <c>overloaded</c>, and the reconnect opens with the others. A scripted server decides each answer and limit, which
/// the gateway cannot be made to do.
/// </summary>
public sealed class ResubscribeUnforeseenFailureTests
{
    /// <summary>A topic whose <c>$subscribe</c> fits the first connection's limit but not <see cref="SmallSession"/>'s.</summary>
    private static readonly string LongTopic = "topic.a." + new string('x', 240);

    /// <summary>A <c>$session</c> whose <c>maxMessage</c> is too small for <see cref="LongTopic"/>'s <c>$subscribe</c>, not for the other requests.</summary>
    private const string SmallSession = """{"type":"ind","topic":"$session","data":{"id":"s","keepAlive":15,"maxMessage":200,"maxInFlight":256}}""";

    [Fact]
    public async Task ResubscriptionAnsweredWithAMalformedRejFailsThatTopicAloneAndTheReconnectOpensWithTheOthers()
    {
        var e = await ReconnectWhereOneTopicFailsAsync("topic.a", Session, static (request, op, topic) =>
            op == "$subscribe" && topic == "topic.a" ? MalformedRej(request) : Cfm(request));

        Assert.Contains("code missing", Assert.IsType<ConnMsgException>(e.Error).Message);
    }

    [Fact]
    public async Task ResubscriptionOverTheNewConnectionsMaxMessageFailsThatTopicAloneAndTheReconnectOpensWithTheOthers()
    {
        var e = await ReconnectWhereOneTopicFailsAsync(LongTopic, SmallSession, static (request, _, _) => Cfm(request));

        Assert.Equal(200, Assert.IsType<ConnMsgMessageTooLargeException>(e.Error).Limit);
    }

    /// <summary>
    /// Subscribes <paramref name="failing"/> and topic.b, drops the connection, and has every later one send
    /// <paramref name="session"/> and answer with <paramref name="answer"/>; asserts that only <paramref name="failing"/>
    /// failed, that nothing of it reached the server but its <c>$subscribe</c> (if that), and that the reconnect
    /// opened with topic.b live. Returns the failure reported for <paramref name="failing"/>.
    /// </summary>
    private static async Task<ConnMsgRecoveryFailedEventArgs> ReconnectWhereOneTopicFailsAsync(
        string failing, string session, Func<JsonElement, string, string?, string> answer)
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
        Assert.DoesNotContain(seen, r => r.StartsWith("$unsubscribe", StringComparison.Ordinal)); // nothing was made live
        Assert.Equal(1, N(await received.Reader.ReadAsync().AsTask().Within())); // topic.b is live again
        Assert.DoesNotContain(logger.Events, ev => ev.EventId == 4);
        var logged = Assert.Single(logger.Events, ev => ev.Message.Contains(failing, StringComparison.Ordinal) && ev.EventId is 9 or 23);
        Assert.True(logged.EventId == 23, $"logged as event {logged.EventId}: {logged.Message}"); // a failure, not a gap in history
        return e;
    }
}
