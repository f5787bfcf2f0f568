using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using ConnMsg.Client.Tests.Infrastructure;
using static ConnMsg.Client.Tests.Infrastructure.TestClients;

namespace ConnMsg.Client.Tests;

/// <summary>
/// Re-subscription after a reconnect (PROTOCOL §5.2, §5.3) when the server does not simply confirm it: an answer held
/// back, or a refusal (PROTOCOL §4). A scripted server decides each answer, which the gateway cannot be made to do.
/// </summary>
public sealed class ResubscribeTests
{
    private const string Session = """{"type":"ind","topic":"$session","data":{"id":"s","keepAlive":15,"maxMessage":65536,"maxInFlight":256}}""";

    [Fact]
    public async Task TopicUnsubscribedWhileTheReconnectStillResubscribesOthersIsUnsubscribedOnTheNewConnection()
    {
        var drop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseB = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
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

            // The new connection: topic.a is confirmed at once, topic.b's $subscribe is held back, so the connection
            // is not yet open to requests while topic.a is live on it.
            var seen = new List<string>();
            Task<JsonElement>? receiving = null;
            string? heldCfm = null;
            try
            {
                while (true)
                {
                    receiving ??= ReceiveJsonAsync(socket);
                    if (heldCfm is not null && await Task.WhenAny(receiving, releaseB.Task) != receiving)
                    {
                        await ScriptedServer.SendAsync(socket, heldCfm);
                        heldCfm = null;
                        continue;
                    }

                    var message = await receiving;
                    receiving = null;
                    string op = message.GetProperty("op").GetString()!;
                    if (op == "probe.marker")
                    {
                        beforeMarker.SetResult(seen);
                    }
                    else
                    {
                        seen.Add($"{op} {message.GetProperty("data").GetProperty("topic").GetString()}");
                    }

                    if (op == "$subscribe" && seen[^1].EndsWith("topic.b", StringComparison.Ordinal))
                    {
                        heldCfm = Cfm(message);
                    }
                    else
                    {
                        await ScriptedServer.SendAsync(socket, Cfm(message));
                    }
                }
            }
            catch (WebSocketException)
            {
                // The client closed.
            }
        });
        var logger = new TestLogger();
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options(logger));
        var a = await client.SubscribeAsync("topic.a").Within();
        await using var b = await client.SubscribeAsync("topic.b").Within();

        drop.SetResult();
        await logger.WaitForAsync(16, m => m.StartsWith("Resubscribed topic.a ", StringComparison.Ordinal)).Within();
        Assert.Equal(ConnMsgConnectionState.Reconnecting, client.State); // topic.b is still on its way
        await a.DisposeAsync().AsTask().Within();
        releaseB.SetResult();
        await client.RequestAsync("probe.marker", default).Within(); // sent once the new connection is open

        var seen = await beforeMarker.Task.Within();
        Assert.Contains("$unsubscribe topic.a", seen);
    }

    [Fact]
    public async Task ResubscriptionRefusedOverloadedIsSentAgainOnTheSameConnection()
    {
        var drop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sentAgain = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async (socket, index) =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            if (index == 0)
            {
                await ConfirmThenDropAsync(socket, drop.Task);
                return;
            }

            await ScriptedServer.SendAsync(socket, Rej(await ReceiveJsonAsync(socket), "overloaded"));
            var again = await ReceiveJsonAsync(socket);
            sentAgain.SetResult(again.GetProperty("op").GetString()!);
            await ScriptedServer.SendAsync(socket, Cfm(again));
            await ScriptedServer.SendAsync(socket, """{"type":"ind","topic":"news","data":{"n":1}}""");
            await AnswerUntilClosedAsync(socket);
        });
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options());
        var failed = new TaskCompletionSource<ConnMsgRecoveryFailedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.RecoveryFailed += (_, e) => failed.TrySetResult(e);
        var received = Channel.CreateUnbounded<ConnMsgInd>();
        await using var subscription = await client.SubscribeAsync("news", ind => received.Writer.TryWrite(ind)).Within();

        drop.SetResult();

        // overloaded says "not now": the subscription the application holds must not be given up over it.
        var first = await Task.WhenAny(sentAgain.Task, failed.Task).Within();
        if (first == failed.Task)
        {
            Assert.Fail($"the re-subscription refused overloaded was given up: RecoveryFailed ({(await failed.Task).Error?.Message})");
        }

        Assert.Equal("$subscribe", await sentAgain.Task);
        Assert.Equal(1, N(await received.Reader.ReadAsync().AsTask().Within()));
        Assert.False(failed.Task.IsCompleted);
    }

    [Fact]
    public async Task ResubscriptionRefusedOverloadedEveryTimeIsGivenUpAfterResubscribeMaxRetriesWithRecoveryFailed()
    {
        const int retries = 3;
        var drop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var beyondBound = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var beforeMarker = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async (socket, index) =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            if (index == 0)
            {
                await ConfirmThenDropAsync(socket, drop.Task);
                return;
            }

            // A server that stays overloaded: every $subscribe is refused, everything else is answered.
            int subscribes = 0;
            try
            {
                while (true)
                {
                    var message = await ReceiveJsonAsync(socket);
                    string op = message.GetProperty("op").GetString()!;
                    if (op == "$subscribe")
                    {
                        if (++subscribes > 1 + retries)
                        {
                            beyondBound.TrySetResult();
                        }

                        await ScriptedServer.SendAsync(socket, Rej(message, "overloaded"));
                        continue;
                    }

                    if (op == "probe.marker")
                    {
                        beforeMarker.TrySetResult(subscribes);
                    }

                    await ScriptedServer.SendAsync(socket, Cfm(message));
                }
            }
            catch (WebSocketException)
            {
                // The client closed.
            }
        });
        var logger = new TestLogger();
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options(logger) with { ResubscribeMaxRetries = retries });
        var failed = new TaskCompletionSource<ConnMsgRecoveryFailedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.RecoveryFailed += (_, e) => failed.TrySetResult(e);
        await using var subscription = await client.SubscribeAsync("news").Within();

        drop.SetResult();

        var first = await Task.WhenAny(failed.Task, beyondBound.Task).Within();
        if (first == beyondBound.Task)
        {
            Assert.Fail($"$subscribe number {retries + 2} went out: a re-subscription refused overloaded is retried beyond ResubscribeMaxRetries ({retries}), and the application is never told");
        }

        var e = await failed.Task;
        Assert.Equal("news", e.Topic);
        Assert.Null(e.CurrentSeq);
        Assert.Equal("overloaded", Assert.IsType<ConnMsgRejectedException>(e.Error).Code);
        await client.RequestAsync("probe.marker", default).Within();
        Assert.Equal(1 + retries, await beforeMarker.Task.Within()); // the first re-subscription and its retries, no more
        Assert.Equal(retries, logger.Events.Count(ev => ev.EventId == 19)); // ResubscribeRetryScheduled, each after a backoff
    }

    [Fact]
    public async Task ResubscriptionRefusedShuttingDownWaitsForTheNextConnection()
    {
        var drop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async (socket, index) =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            switch (index)
            {
                case 0:
                    await ConfirmThenDropAsync(socket, drop.Task);
                    return;
                case 1:
                    // A draining server (PROTOCOL §6) refuses new requests, then closes with 1001.
                    await ScriptedServer.SendAsync(socket, Rej(await ReceiveJsonAsync(socket), "shutting_down"));
                    await socket.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "draining", CancellationToken.None);
                    return;
                default:
                    await ScriptedServer.SendAsync(socket, Cfm(await ReceiveJsonAsync(socket)));
                    await ScriptedServer.SendAsync(socket, """{"type":"ind","topic":"news","data":{"n":2}}""");
                    await AnswerUntilClosedAsync(socket);
                    return;
            }
        });
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options());
        var failed = new TaskCompletionSource<ConnMsgRecoveryFailedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.RecoveryFailed += (_, e) => failed.TrySetResult(e);
        var received = Channel.CreateUnbounded<ConnMsgInd>();
        await using var subscription = await client.SubscribeAsync("news", ind => received.Writer.TryWrite(ind)).Within();

        drop.SetResult();

        // Live again on the third connection; the refusal on the second was raised (if at all) before that one opened.
        Assert.Equal(2, N(await received.Reader.ReadAsync().AsTask().Within()));
        if (failed.Task.IsCompleted)
        {
            Assert.Fail($"shutting_down was reported as a failed recovery: {(await failed.Task).Error?.Message}");
        }
    }

    [Fact]
    public async Task ResubscriptionRefusedForGoodRaisesRecoveryFailed()
    {
        var drop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async (socket, index) =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            if (index == 0)
            {
                await ConfirmThenDropAsync(socket, drop.Task);
                return;
            }

            await ScriptedServer.SendAsync(socket, Rej(await ReceiveJsonAsync(socket), "forbidden"));
            await AnswerUntilClosedAsync(socket);
        });
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options());
        var failed = new TaskCompletionSource<ConnMsgRecoveryFailedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.RecoveryFailed += (_, e) => failed.TrySetResult(e);
        await using var subscription = await client.SubscribeAsync("news").Within();

        drop.SetResult();

        var e = await failed.Task.Within();
        Assert.Equal("news", e.Topic);
        Assert.Equal("forbidden", Assert.IsType<ConnMsgRejectedException>(e.Error).Code);
    }

    [Fact]
    public async Task ResubscriptionRefusedForGoodIsLoggedWithItsCodeNotAsAGapInHistory()
    {
        var drop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async (socket, index) =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            if (index == 0)
            {
                await ConfirmThenDropAsync(socket, drop.Task);
                return;
            }

            await ScriptedServer.SendAsync(socket, Rej(await ReceiveJsonAsync(socket), "forbidden"));
            await AnswerUntilClosedAsync(socket);
        });
        var logger = new TestLogger();
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options(logger));
        var failed = new TaskCompletionSource<ConnMsgRecoveryFailedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.RecoveryFailed += (_, e) => failed.TrySetResult(e);
        await using var subscription = await client.SubscribeAsync("news").Within();

        drop.SetResult();
        await failed.Task.Within(); // logged before it is raised

        // An operator reading the log must learn that the server refused, and with what, not that history ran out.
        var logged = Assert.Single(logger.Events, ev => ev.Message.Contains("news", StringComparison.Ordinal) && ev.EventId is 9 or 22);
        Assert.True(logged.EventId == 22, $"logged as event {logged.EventId}: {logged.Message}");
        Assert.Contains("refused forbidden", logged.Message);
    }

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

    private static async Task<JsonElement> ReceiveJsonAsync(WebSocket socket)
        => JsonDocument.Parse(await ScriptedServer.ReceiveAsync(socket)).RootElement;

    private static string Cfm(JsonElement request) => $$"""{"type":"cfm","id":{{request.GetProperty("id").GetRawText()}}}""";

    /// <summary>A cfm that names the request (so it is its one answer) but whose data is not valid JSON.</summary>
    private static string MalformedCfm(JsonElement request) => $$"""{"type":"cfm","id":{{request.GetProperty("id").GetRawText()}},"data":[1,}""";

    /// <summary>
    /// Answers every request up to the client's <c>probe.marker</c>, with a <see cref="MalformedCfm"/> where
    /// <paramref name="malformed"/> says so (given op and topic) and a cfm otherwise; returns the ones before the marker
    /// as "op topic", in the order they arrived.
    /// </summary>
    private static async Task<List<string>> RequestsUntilMarkerAsync(WebSocket socket, Func<string, string?, bool> malformed)
    {
        var seen = new List<string>();
        while (true)
        {
            var request = await ReceiveJsonAsync(socket);
            string op = request.GetProperty("op").GetString()!;
            if (op == "probe.marker")
            {
                await ScriptedServer.SendAsync(socket, Cfm(request));
                return seen;
            }

            string? topic = request.GetProperty("data").GetProperty("topic").GetString();
            await ScriptedServer.SendAsync(socket, malformed(op, topic) ? MalformedCfm(request) : Cfm(request));
            seen.Add($"{op} {topic}");
        }
    }

    private static string Rej(JsonElement request, string code) => $$"""{"type":"rej","id":{{request.GetProperty("id").GetRawText()}},"code":"{{code}}"}""";

    /// <summary>Confirms every request until the client closes.</summary>
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

    /// <summary>The first connection's script: confirms the one request it gets (the subscription), then drops when told.</summary>
    private static async Task ConfirmThenDropAsync(WebSocket socket, Task drop)
    {
        await ScriptedServer.SendAsync(socket, Cfm(await ReceiveJsonAsync(socket)));
        await drop;
        socket.Abort();
    }
}
