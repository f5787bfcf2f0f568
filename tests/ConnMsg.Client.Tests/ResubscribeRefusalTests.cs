using System.Net.WebSockets;
using System.Threading.Channels;
using ConnMsg.Client.Tests.Infrastructure;
using static ConnMsg.Client.Tests.Infrastructure.ResubscribeScript;
using static ConnMsg.Client.Tests.Infrastructure.TestClients;

namespace ConnMsg.Client.Tests;

/// <summary>
/// Re-subscription after a reconnect (PROTOCOL §5.2, §5.3) refused by the server (PROTOCOL §4): <c>overloaded</c> is
/// sent again on the same connection, <c>shutting_down</c> is left to the next connection, anything else is reported
/// through <see cref="ConnMsgClient.RecoveryFailed"/>. A scripted server decides each answer, which the gateway cannot
/// be made to do.
/// </summary>
public sealed class ResubscribeRefusalTests
{
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
        await using var server = await RefusingResubscriptionAsync("forbidden", drop.Task);
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
        await using var server = await RefusingResubscriptionAsync("forbidden", drop.Task);
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

    /// <summary>A server that confirms the first connection's subscription and drops it when told, then refuses its re-subscription with <paramref name="code"/>.</summary>
    private static Task<ScriptedServer> RefusingResubscriptionAsync(string code, Task drop) =>
        ScriptedServer.StartAsync(async (socket, index) =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            if (index == 0)
            {
                await ConfirmThenDropAsync(socket, drop);
                return;
            }

            await ScriptedServer.SendAsync(socket, Rej(await ReceiveJsonAsync(socket), code));
            await AnswerUntilClosedAsync(socket);
        });
}
