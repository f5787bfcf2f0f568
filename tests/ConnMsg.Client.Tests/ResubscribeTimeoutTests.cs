using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using ConnMsg.Client.Tests.Infrastructure;
using static ConnMsg.Client.Tests.Infrastructure.ResubscribeScript;
using static ConnMsg.Client.Tests.Infrastructure.TestClients;

namespace ConnMsg.Client.Tests;

/// <summary>
/// Re-subscription after a reconnect (PROTOCOL §5.2) that the server does not answer within the request timeout: that
/// topic alone fails, on the reconnect as on a retry after <c>overloaded</c>, and since the server may still make it
/// live (its late <c>cfm</c> says so) the client then takes it back with <c>$unsubscribe</c>. A scripted server holds
/// the answer back, which the gateway cannot be made to do.
/// </summary>
public sealed class ResubscribeTimeoutTests
{
    /// <summary>Short, as every test here waits it out once; the scripted server answers everything else at once.</summary>
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task ResubscriptionUnansweredWithinTheRequestTimeoutFailsThatTopicAloneAndTheReconnectOpensWithTheOthers()
    {
        var drop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var seen = Channel.CreateUnbounded<string>();
        await using var server = await StartAsync(drop.Task, release: new TaskCompletionSource().Task, seen.Writer);
        var logger = new TestLogger();
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options(logger) with { RequestTimeout = RequestTimeout });
        var failed = new TaskCompletionSource<ConnMsgRecoveryFailedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.RecoveryFailed += (_, e) => failed.TrySetResult(e);
        await using var a = await client.SubscribeAsync("topic.a").Within();
        var received = Channel.CreateUnbounded<ConnMsgInd>();
        await using var b = await client.SubscribeAsync("topic.b", ind => received.Writer.TryWrite(ind)).Within();

        drop.SetResult();

        var reconnectFailed = logger.WaitForAsync(4);
        if (await Task.WhenAny(failed.Task, reconnectFailed).Within() == reconnectFailed)
        {
            Assert.Fail($"one topic's unanswered re-subscription failed the whole reconnect: {await reconnectFailed}");
        }

        var e = await failed.Task;
        Assert.Equal("topic.a", e.Topic);
        Assert.IsType<TimeoutException>(e.Error);
        await client.RequestAsync("probe.marker", default).Within(); // sent once the new connection is open
        Assert.Equal(1, N(await received.Reader.ReadAsync().AsTask().Within())); // topic.b is live again
        Assert.DoesNotContain(logger.Events, ev => ev.EventId == 4);
        var logged = Assert.Single(logger.Events, ev => ev.Message.Contains("topic.a", StringComparison.Ordinal) && ev.EventId is 9 or 23);
        Assert.True(logged.EventId == 23, $"logged as event {logged.EventId}: {logged.Message}"); // no answer, not a gap in history
        Assert.Contains("No answer within", logged.Message);
    }

    [Fact]
    public async Task LateCfmOfAResubscriptionThatTimedOutIsTakenBackWithUnsubscribe()
    {
        var drop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var seen = Channel.CreateUnbounded<string>();
        await using var server = await StartAsync(drop.Task, release.Task, seen.Writer);
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options() with { RequestTimeout = RequestTimeout });
        var failed = new TaskCompletionSource<ConnMsgRecoveryFailedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.RecoveryFailed += (_, e) => failed.TrySetResult(e);
        await using var a = await client.SubscribeAsync("topic.a").Within();
        await using var b = await client.SubscribeAsync("topic.b").Within();

        drop.SetResult();
        Assert.IsType<TimeoutException>((await failed.Task.Within()).Error);
        release.SetResult(); // the server made topic.a live after all, and says so

        // The client gave the subscription up: the server must not go on delivering to it.
        Assert.Equal("$unsubscribe topic.a", await FirstAfterTheResubscriptionsAsync(seen.Reader).Within());
    }

    [Fact]
    public async Task LateCfmOfAResubscriptionRetryThatTimedOutIsTakenBackWithUnsubscribe()
    {
        var drop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var seen = Channel.CreateUnbounded<string>();
        await using var server = await StartAsync(drop.Task, release.Task, seen.Writer, refuseFirstOverloaded: true);
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options() with { RequestTimeout = RequestTimeout });
        var failed = new TaskCompletionSource<ConnMsgRecoveryFailedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.RecoveryFailed += (_, e) => failed.TrySetResult(e);
        await using var a = await client.SubscribeAsync("topic.a").Within();
        await using var b = await client.SubscribeAsync("topic.b").Within();

        drop.SetResult();
        Assert.IsType<TimeoutException>((await failed.Task.Within()).Error); // the retry after overloaded went unanswered
        release.SetResult(); // the server made topic.a live after all, and says so

        // The client gave the subscription up: the server must not go on delivering to it.
        Assert.Equal("$unsubscribe topic.a", await FirstAfterTheResubscriptionsAsync(seen.Reader).Within());
    }

    [Fact]
    public async Task RequestWaitingForTheReconnectGoesOutOnceItOpensWithoutTheTopicThatTimedOut()
    {
        var drop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var seen = Channel.CreateUnbounded<string>();
        await using var server = await StartAsync(drop.Task, release: new TaskCompletionSource().Task, seen.Writer);
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options() with { RequestTimeout = RequestTimeout });
        await using var a = await client.SubscribeAsync("topic.a").Within();
        await using var b = await client.SubscribeAsync("topic.b").Within();

        drop.SetResult();
        var resubscribing = new[] { await seen.Reader.ReadAsync().AsTask().Within(), await seen.Reader.ReadAsync().AsTask().Within() };
        Assert.Contains("$subscribe topic.a", resubscribing);
        Assert.Equal(ConnMsgConnectionState.Reconnecting, client.State); // held up by topic.a, which gets no answer

        // Its own timeout is longer than the re-subscription's, so only the reconnect can keep it from going out.
        await client.RequestAsync("probe.waiting", default, TimeSpan.FromSeconds(10)).Within();
        Assert.Equal("probe.waiting ", await seen.Reader.ReadAsync().AsTask().Within());
    }

    [Fact]
    public async Task WithAnInfiniteRequestTimeoutAResubscriptionUnansweredWithinTheConnectTimeoutFailsThatTopicAloneAndTheReconnectOpens()
    {
        // The test's only wait; RequestTimeout sets no bound at all.
        var connectTimeout = TimeSpan.FromSeconds(1);
        var drop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var seen = Channel.CreateUnbounded<string>();
        await using var server = await StartAsync(drop.Task, release: new TaskCompletionSource().Task, seen.Writer);
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri,
            Options() with { RequestTimeout = Timeout.InfiniteTimeSpan, ConnectTimeout = connectTimeout });
        var failed = new TaskCompletionSource<ConnMsgRecoveryFailedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.RecoveryFailed += (_, e) => failed.TrySetResult(e);

        // Left to the client's disposal, which cancels the re-subscriptions: unsubscribing waits for topic.a's, and
        // would hang where it is never bounded.
        _ = await client.SubscribeAsync("topic.a").Within();
        var received = Channel.CreateUnbounded<ConnMsgInd>();
        _ = await client.SubscribeAsync("topic.b", ind => received.Writer.TryWrite(ind)).Within();

        drop.SetResult();
        var resubscribing = new[] { await seen.Reader.ReadAsync().AsTask().Within(), await seen.Reader.ReadAsync().AsTask().Within() };
        Assert.Contains("$subscribe topic.a", resubscribing);

        // With no timeout of its own, this request goes out only once the reconnect opens.
        try
        {
            await client.RequestAsync("probe.marker", default).Within();
        }
        catch (TimeoutException)
        {
            Assert.Fail($"still {client.State} after {Patience}: the unanswered re-subscription holds up the reconnect for ever");
        }

        var e = await failed.Task.Within();
        Assert.Equal("topic.a", e.Topic);
        Assert.Contains(connectTimeout.ToString(), Assert.IsType<TimeoutException>(e.Error).Message);
        Assert.Equal(1, N(await received.Reader.ReadAsync().AsTask().Within())); // topic.b is live again
    }

    /// <summary>
    /// The first connection confirms both subscriptions, then drops when told. Every later one runs
    /// <see cref="HoldBackTopicAAsync"/>.
    /// </summary>
    private static Task<ScriptedServer> StartAsync(Task drop, Task release, ChannelWriter<string> seen, bool refuseFirstOverloaded = false)
        => ScriptedServer.StartAsync(async (socket, index) =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            if (index == 0)
            {
                await ScriptedServer.SendAsync(socket, Cfm(await ReceiveJsonAsync(socket)));
                await ConfirmThenDropAsync(socket, drop);
                return;
            }

            await HoldBackTopicAAsync(socket, release, seen, refuseFirstOverloaded);
        });

    /// <summary>
    /// Confirms every request at once except topic.a's <c>$subscribe</c> (after refusing the first one
    /// <c>overloaded</c> when told), whose cfm is held back until <paramref name="release"/> completes; reports each
    /// request as "op topic" in the order it arrived. After the client's <c>probe.marker</c> it publishes
    /// <c>{"n":1}</c> on topic.b.
    /// </summary>
    private static async Task HoldBackTopicAAsync(WebSocket socket, Task release, ChannelWriter<string> seen, bool refuseFirstOverloaded)
    {
        Task<JsonElement>? receiving = null;
        string? heldCfm = null;
        try
        {
            while (true)
            {
                receiving ??= ReceiveJsonAsync(socket);
                if (heldCfm is not null && await Task.WhenAny(receiving, release) != receiving)
                {
                    await ScriptedServer.SendAsync(socket, heldCfm);
                    heldCfm = null;
                    continue;
                }

                var request = await receiving;
                receiving = null;
                string op = request.GetProperty("op").GetString()!;
                string? topic = request.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object
                    ? data.GetProperty("topic").GetString()
                    : null;
                seen.TryWrite($"{op} {topic}");
                if (op == "$subscribe" && topic == "topic.a")
                {
                    if (refuseFirstOverloaded)
                    {
                        refuseFirstOverloaded = false;
                        await ScriptedServer.SendAsync(socket, Rej(request, "overloaded"));
                    }
                    else
                    {
                        heldCfm = Cfm(request);
                    }

                    continue;
                }

                await ScriptedServer.SendAsync(socket, Cfm(request));
                if (op == "probe.marker")
                {
                    await ScriptedServer.SendAsync(socket, """{"type":"ind","topic":"topic.b","data":{"n":1}}""");
                }
            }
        }
        catch (WebSocketException)
        {
            // The client closed or went away.
        }
    }

    /// <summary>The first request the server saw that is not a <c>$subscribe</c>.</summary>
    private static async Task<string> FirstAfterTheResubscriptionsAsync(ChannelReader<string> seen)
    {
        while (true)
        {
            string request = await seen.ReadAsync();
            if (!request.StartsWith("$subscribe ", StringComparison.Ordinal))
            {
                return request;
            }
        }
    }
}
