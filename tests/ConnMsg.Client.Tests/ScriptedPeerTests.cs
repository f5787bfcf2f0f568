using System.Text.Json;
using System.Threading.Channels;
using ConnMsg.Client.Tests.Infrastructure;
using static ConnMsg.Client.Tests.Infrastructure.TestClients;

namespace ConnMsg.Client.Tests;

/// <summary>
/// Client behaviour that a correct gateway never provokes: overlapping replays, malformed messages.
/// A scripted peer stands in for a buggy or future server.
/// </summary>
public sealed class ScriptedPeerTests
{
    private const string Session = """{"type":"ind","topic":"$session","data":{"id":"s","keepAlive":15,"maxMessage":65536,"maxInFlight":256}}""";

    [Fact]
    public async Task ResubscribeAsksSinceLastSeenSeqAndDropsReplayedDuplicates()
    {
        var sinceAsked = new TaskCompletionSource<long?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var sawTwo = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async (socket, index) =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            using var subscribe = JsonDocument.Parse(await ScriptedServer.ReceiveAsync(socket));
            string id = subscribe.RootElement.GetProperty("id").GetRawText();
            if (index == 0)
            {
                await ScriptedServer.SendAsync(socket, $$$"""{"type":"cfm","id":{{{id}}},"data":{"seq":0}}""");
                await ScriptedServer.SendAsync(socket, """{"type":"ind","topic":"history.t","seq":1,"data":{"n":1}}""");
                await ScriptedServer.SendAsync(socket, """{"type":"ind","topic":"history.t","seq":2,"data":{"n":2}}""");
                await sawTwo.Task;
                socket.Abort(); // a network failure, not a close handshake
                return;
            }

            sinceAsked.TrySetResult(subscribe.RootElement.GetProperty("data").TryGetProperty("since", out var since) ? since.GetInt64() : null);

            // An overlapping replay (seq 2 again), then live Inds.
            await ScriptedServer.SendAsync(socket, """{"type":"ind","topic":"history.t","seq":2,"data":{"n":2}}""");
            await ScriptedServer.SendAsync(socket, """{"type":"ind","topic":"history.t","seq":3,"data":{"n":3}}""");
            await ScriptedServer.SendAsync(socket, $$$"""{"type":"cfm","id":{{{id}}},"data":{"recovered":true}}""");
            await ScriptedServer.SendAsync(socket, """{"type":"ind","topic":"history.t","seq":4,"data":{"n":4}}""");
            await done.Task;
        });
        var logger = new TestLogger();
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options(logger));
        var seqs = Channel.CreateUnbounded<long>();
        await using var subscription = await client.SubscribeAsync("history.t", ind =>
        {
            seqs.Writer.TryWrite(ind.Seq!.Value);
            if (ind.Seq == 2)
            {
                sawTwo.TrySetResult();
            }
        }).Within();

        var seen = new List<long>();
        while (seen.Count < 4)
        {
            seen.Add(await seqs.Reader.ReadAsync().AsTask().Within());
        }

        done.SetResult();
        Assert.Equal([1, 2, 3, 4], seen);
        Assert.Equal(2, await sinceAsked.Task.Within());
        await logger.WaitForAsync(7).Within(); // DuplicateIndDropped
    }

    [Fact]
    public async Task MalformedMessagesAreSurvivedAndAnUnreadableRequestIsAnsweredBadMessage()
    {
        var answers = new TaskCompletionSource<Dictionary<string, JsonElement>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async socket =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            await ScriptedServer.SendAsync(socket, "not json at all");
            await ScriptedServer.SendAsync(socket, """{"type":"req","id":5}""");
            await ScriptedServer.SendAsync(socket, """{"type":"cfm","id":999999,"data":1}""");
            await ScriptedServer.SendAsync(socket, """{"type":"req","id":6,"op":"$ping","data":"still here"}""");
            var byId = new Dictionary<string, JsonElement>();
            while (byId.Count < 2)
            {
                var answer = JsonDocument.Parse(await ScriptedServer.ReceiveAsync(socket)).RootElement;
                byId[answer.GetProperty("id").GetRawText()] = answer;
            }

            answers.SetResult(byId);
            await done.Task;
        });
        var logger = new TestLogger();
        var reconnects = 0;
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options(logger));
        client.StateChanged += (_, _) => Interlocked.Increment(ref reconnects);

        var byId = await answers.Task.Within();

        Assert.Equal("bad_message", byId["5"].GetProperty("code").GetString());
        Assert.Equal("\"still here\"", byId["6"].GetProperty("data").GetRawText());
        Assert.Equal(0, Volatile.Read(ref reconnects)); // the connection was never dropped
        await logger.WaitForAsync(10).Within(); // BadMessage
        await logger.WaitForAsync(6, m => m.Contains("999999")).Within(); // AnswerDiscarded
        done.SetResult();
    }

    [Theory]
    [InlineData("""{"type":"rej","id":ID,"reason":"no code"}""", "code missing")]
    [InlineData("""{"type":"rej","id":ID,"code":7,"reason":"code not a string"}""", "code missing")]
    [InlineData("""{"type":"cfm","id":ID,"data":[1,}""", "not valid JSON")]
    public async Task MalformedAnswerWithAReadableIdFailsItsRequestAndGivesItsSlotBack(string answer, string error)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await AnswerTheFirstRequestAsync(answer, done.Task);
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options());

        // The answer is the request's one answer (PROTOCOL §1), unreadable or not: nothing else will come for it.
        var e = await Assert.ThrowsAsync<ConnMsgException>(() => client.RequestAsync("op", Json("1"), TimeSpan.FromSeconds(5))).Within();

        Assert.Contains(error, e.Message);
        Assert.Equal(256, client.CurrentConnection!.FreeSlots);
        done.SetResult();
    }

    [Fact]
    public async Task SubscribeFailedOnAMalformedCfmIsTakenBackWithUnsubscribe()
    {
        var beforeMarker = new TaskCompletionSource<List<string>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async socket =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            using var subscribe = JsonDocument.Parse(await ScriptedServer.ReceiveAsync(socket));

            // The server made the subscription live, but its cfm breaks PROTOCOL §3.
            await ScriptedServer.SendAsync(socket, $$$"""{"type":"cfm","id":{{{subscribe.RootElement.GetProperty("id").GetRawText()}}},"data":[1,}""");
            var seen = new List<string>();
            while (true)
            {
                using var request = JsonDocument.Parse(await ScriptedServer.ReceiveAsync(socket));
                string op = request.RootElement.GetProperty("op").GetString()!;
                await ScriptedServer.SendAsync(socket, $$$"""{"type":"cfm","id":{{{request.RootElement.GetProperty("id").GetRawText()}}}}""");
                if (op == "probe.marker")
                {
                    break;
                }

                seen.Add($"{op} {request.RootElement.GetProperty("data").GetProperty("topic").GetString()}");
            }

            beforeMarker.SetResult(seen);
            await ScriptedServer.SendAsync(socket, """{"type":"ind","topic":"prices.x","data":{"n":1}}""");
            await done.Task;
        });
        var logger = new TestLogger();
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options(logger));

        var e = await Assert.ThrowsAsync<ConnMsgException>(() => client.SubscribeAsync("prices.x")).Within();
        await client.RequestAsync("probe.marker", default).Within();

        Assert.Contains("not valid JSON", e.Message);
        Assert.Equal(["$unsubscribe prices.x"], await beforeMarker.Task.Within());
        await logger.WaitForAsync(15, m => m.Contains("prices.x")).Within(); // IndWithoutSubscriber: the topic's state is gone
        done.SetResult();
    }

    [Fact]
    public async Task SessionWithoutMaxInFlightLeavesTheConfiguredMaxInFlight()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async socket =>
        {
            await ScriptedServer.SendAsync(socket, """{"type":"ind","topic":"$session","data":{"id":"s","keepAlive":15,"maxMessage":65536}}""");
            await done.Task;
        });
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options() with { MaxInFlight = 3 });

        Assert.Equal(3, client.Session!.MaxInFlight);
        Assert.Equal(3, client.CurrentConnection!.MaxInFlight);
        done.SetResult();
    }

    [Theory]
    [InlineData("1e300")]
    [InlineData("1e400")]
    [InlineData("-5")]
    public async Task SessionWithAnAbsurdKeepAliveStillSetsTheLimits(string keepAlive)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async socket =>
        {
            await ScriptedServer.SendAsync(socket, $$$"""{"type":"ind","topic":"$session","data":{"id":"s","keepAlive":{{{keepAlive}}},"maxMessage":100,"maxInFlight":4}}""");
            await done.Task;
        });
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options());

        var session = client.Session;
        Assert.NotNull(session);
        Assert.Equal(100, session.MaxMessage);
        Assert.Equal(4, session.MaxInFlight);
        Assert.True(session.KeepAlive >= TimeSpan.Zero);
        done.SetResult();
    }

    // A lone surrogate escape ("\ud800": RFC 8259 lets it through, JSON.stringify writes one) is no text, and
    // Utf8JsonReader throws on it; a server's message with one must not cost the client more than that message.

    [Theory]
    [InlineData("""{"id":"\ud800","keepAlive":15,"maxMessage":100,"maxInFlight":4}""", null)]
    [InlineData("""{"\udc00":1,"id":"s","keepAlive":15,"maxMessage":100,"maxInFlight":4}""", "s")]
    public async Task SessionWithALoneSurrogateStillSetsTheLimits(string data, string? id)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async socket =>
        {
            await ScriptedServer.SendAsync(socket, $$$"""{"type":"ind","topic":"$session","data":{{{data}}}}""");
            await done.Task;
        });
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options());

        var session = client.Session;
        Assert.NotNull(session);
        Assert.Equal(id, session.Id);
        Assert.Equal(100, session.MaxMessage);
        Assert.Equal(4, session.MaxInFlight);
        done.SetResult();
    }

    [Theory]
    [InlineData("""{"type":"rej","code":"\ud800","id":ID}""", "code is not text")]
    [InlineData("""{"type":"cfm","topic":"\udc00","id":ID,"data":1}""", "topic is not text")]
    public async Task AnswerWithALoneSurrogateBeforeItsIdStillFailsItsRequest(string answer, string error)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await AnswerTheFirstRequestAsync(answer, done.Task);
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options());

        // The request's timeout is beyond the test's patience: the answer must be read, not waited out.
        var e = await Assert.ThrowsAsync<ConnMsgException>(() => client.RequestAsync("op", Json("1"), TimeSpan.FromMinutes(1)).Within());

        Assert.Contains(error, e.Message);
        Assert.Equal(256, client.CurrentConnection!.FreeSlots);
        done.SetResult();
    }

    [Fact]
    public async Task AnswerWithALoneSurrogateInAMemberNameIsReadWithoutIt()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await AnswerTheFirstRequestAsync("""{"type":"cfm","\ud800":{"a":1},"id":ID,"data":{"ok":true}}""", done.Task);
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options());

        var answer = await client.RequestAsync("op", Json("1")).Within();

        Assert.Equal("""{"ok":true}""", Text(answer));
        done.SetResult();
    }

    [Fact]
    public async Task RejWithALoneSurrogateInItsReasonIsStillARejection()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await AnswerTheFirstRequestAsync("""{"type":"rej","id":ID,"code":"not_found","reason":"no \ud800 here"}""", done.Task);
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options());

        var e = await Assert.ThrowsAsync<ConnMsgRejectedException>(() => client.RequestAsync("op", Json("1")).Within());

        Assert.Equal("not_found", e.Code);
        Assert.Equal("no \uFFFD here", e.Reason);
        done.SetResult();
    }

    [Fact]
    public async Task ServerRequestWithALoneSurrogateIsAnsweredAndTheConnectionStays()
    {
        var answers = new TaskCompletionSource<Dictionary<string, JsonElement>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async socket =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            await ScriptedServer.SendAsync(socket, """{"type":"ind","topic":"\ud800","seq":1,"data":1}""");
            await ScriptedServer.SendAsync(socket, """{"type":"req","op":"\ud800","id":7}""");
            await ScriptedServer.SendAsync(socket, """{"type":"req","id":8,"\udc00":1,"op":"$ping","data":"still here"}""");
            var byId = new Dictionary<string, JsonElement>();
            while (byId.Count < 2)
            {
                var answer = JsonDocument.Parse(await ScriptedServer.ReceiveAsync(socket)).RootElement;
                byId[answer.GetProperty("id").GetRawText()] = answer;
            }

            answers.SetResult(byId);
            await done.Task;
        });
        var reconnects = 0;
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options());
        client.StateChanged += (_, _) => Interlocked.Increment(ref reconnects);

        var byId = await answers.Task.Within();

        Assert.Equal("bad_message", byId["7"].GetProperty("code").GetString());
        Assert.Equal("\"still here\"", byId["8"].GetProperty("data").GetRawText());
        Assert.Equal(0, Volatile.Read(ref reconnects)); // the connection was never dropped
        done.SetResult();
    }

    /// <summary>A peer that sends <c>$session</c>, then answers the client's first request with <paramref name="answer"/>, its <c>ID</c> replaced by the request's id, and holds the connection until <paramref name="done"/>.</summary>
    private static Task<ScriptedServer> AnswerTheFirstRequestAsync(string answer, Task done) =>
        ScriptedServer.StartAsync(async socket =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            using var request = JsonDocument.Parse(await ScriptedServer.ReceiveAsync(socket));
            await ScriptedServer.SendAsync(socket, answer.Replace("ID", request.RootElement.GetProperty("id").GetRawText()));
            await done;
        });
}
