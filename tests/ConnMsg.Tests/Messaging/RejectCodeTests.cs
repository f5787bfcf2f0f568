using System.Diagnostics;
using System.Text.Json;
using ConnMsg.Messaging;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;

namespace ConnMsg.Tests.Messaging;

/// <summary>PROTOCOL.md §4: every standard reject code, each provoked on the real listener.</summary>
public sealed class RejectCodeTests
{
    [Theory]
    [InlineData("no.such.op")]
    [InlineData("Echo")] // ops are case-sensitive
    [InlineData("$nope")] // reserved names nobody defined
    public async Task UnknownOpIsRejectedWithUnknownOp(string op)
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        JsonElement answer = await client.AnswerAsync($$$"""{"type":"req","id":"u1","op":"{{{op}}}","data":{}}""");
        answer.AssertRej("unknown_op", "\"u1\"");
        await client.AssertNothingElseArrivesAsync();
    }

    [Theory]
    [InlineData("""{"ms":-1}""")]
    [InlineData("""{"ms":60001}""")]
    [InlineData("""{"ms":"ten"}""")]
    [InlineData("""{"ms":1.5}""")]
    [InlineData("""[1]""")]
    [InlineData("""{}""")]
    public async Task SleepOutsideItsRangeIsInvalidArgument(string data)
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        JsonElement answer = await client.AnswerAsync($$"""{"type":"req","id":9,"op":"sleep","data":{{data}}}""");
        answer.AssertRej("invalid_argument", "9");
    }

    [Fact]
    public async Task SleepAtTheLowerBoundIsConfirmed()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        JsonElement answer = await client.AnswerAsync("""{"type":"req","id":9,"op":"sleep","data":{"ms":0}}""");
        Assert.Equal("cfm", answer.Type());
        Assert.Equal(0, answer.GetProperty("data").GetProperty("slept").GetInt32());
    }

    [Fact]
    public async Task FailRejectsWithTheApplicationsCodeAndReason()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        JsonElement answer = await client.AnswerAsync("""{"type":"req","id":1,"op":"fail","data":{"code":"not_found","reason":"no order o-1"}}""");
        answer.AssertRej("not_found", "1");
        Assert.Equal("no order o-1", answer.Str("reason"));
    }

    [Fact]
    public async Task DuplicateIdIsRejectedWhileTheFirstIsInFlight()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        await client.SendAsync("""{"type":"req","id":"dup","op":"sleep","data":{"ms":1500}}""");
        await client.SendAsync("""{"type":"req","id":"dup","op":"echo","data":1}""");
        await client.SendAsync("""{"type":"req","id":"dup","op":"sleep","data":{"ms":1}}""");

        JsonElement first = await client.ReceiveJsonAsync();
        first.AssertRej("duplicate_id", "\"dup\"");
        JsonElement second = await client.ReceiveJsonAsync();
        second.AssertRej("duplicate_id", "\"dup\"");
        JsonElement sleep = await client.ReceiveJsonAsync();
        Assert.Equal("cfm", sleep.Type());
        Assert.Equal(1500, sleep.GetProperty("data").GetProperty("slept").GetInt32());

        // Once answered, the id is free again.
        JsonElement reused = await client.AnswerAsync("""{"type":"req","id":"dup","op":"echo","data":2}""");
        Assert.Equal("cfm", reused.Type());
        Assert.Equal("2", reused.Raw("data"));
    }

    [Theory]
    [InlineData("""{"type":"req","id":5,"op":"$ping"}""")]
    [InlineData("""{"type":"req","id":5,"op":"$subscribe","data":{"topic":"dup.reserved"}}""")]
    [InlineData("""{"type":"req","id":5,"op":"$unsubscribe","data":{"topic":"dup.reserved"}}""")]
    public async Task AReservedOpWithTheIdOfARequestInFlightIsADuplicateToo(string reserved)
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        await client.SendAsync("""{"type":"req","id":5,"op":"sleep","data":{"ms":1000}}""");
        await client.SendAsync(reserved);

        JsonElement duplicate = await client.ReceiveJsonAsync();
        duplicate.AssertRej("duplicate_id", "5");
        JsonElement sleep = await client.ReceiveJsonAsync();
        Assert.Equal("cfm", sleep.Type());
        Assert.Equal("5", sleep.Raw("id"));
    }

    [Fact]
    public async Task AnAnsweredRequestIsNoLongerInFlightWhileItsHandlerStillRuns()
    {
        // §3: ids are unique among requests "still in flight"; a request the client has its answer to is not.
        var cleanUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestServer server = await TestServer.StartAsync(o => o.MaxInFlight = 1, c => c.MapRequest("answer.then.work", async request =>
        {
            await Task.Yield();
            request.Confirm();
            await cleanUp.Task; // work after answering: the handler is still running
        }));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        try
        {
            JsonElement first = await client.AnswerAsync("""{"type":"req","id":1,"op":"answer.then.work"}""");
            Assert.Equal("cfm", first.Type());

            // The same id again, and another id in the only slot (MaxInFlight = 1): neither is a duplicate nor overloaded.
            JsonElement sameId = await client.AnswerAsync("""{"type":"req","id":1,"op":"echo","data":"same id"}""");
            Assert.Equal(("cfm", "\"same id\""), (sameId.Type(), sameId.Raw("data")));
            JsonElement nextSlot = await client.AnswerAsync("""{"type":"req","id":2,"op":"answer.then.work"}""");
            Assert.Equal(("cfm", "2"), (nextSlot.Type(), nextSlot.Raw("id")));
        }
        finally
        {
            cleanUp.SetResult();
        }

        await client.AssertNothingElseArrivesAsync();
    }

    [Fact]
    public async Task OverloadedRejectsExactlyTheRequestsBeyondMaxInFlight()
    {
        const int maxInFlight = 4, extra = 3;
        await using TestServer server = await TestServer.StartAsync(o => o.MaxInFlight = maxInFlight);
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        Assert.Equal(maxInFlight, client.Session.GetProperty("data").GetProperty("maxInFlight").GetInt32());

        for (int i = 0; i < maxInFlight + extra; i++)
        {
            await client.SendAsync($$$"""{"type":"req","id":{{{i}}},"op":"sleep","data":{"ms":1000}}""");
        }

        var answers = new Dictionary<int, List<JsonElement>>();
        for (int i = 0; i < maxInFlight + extra; i++)
        {
            JsonElement m = await client.ReceiveJsonAsync();
            int id = int.Parse(m.Raw("id"));
            (answers.TryGetValue(id, out List<JsonElement>? list) ? list : answers[id] = []).Add(m);
        }

        // Every id answered exactly once ...
        Assert.Equal(Enumerable.Range(0, maxInFlight + extra), answers.Keys.Order());
        Assert.All(answers.Values, list => Assert.Single(list));
        await client.AssertNothingElseArrivesAsync();

        // ... exactly the requests beyond the limit refused, the others served.
        int[] overloaded = answers.Where(a => a.Value[0].Str("code") == "overloaded").Select(a => a.Key).Order().ToArray();
        Assert.Equal(Enumerable.Range(maxInFlight, extra), overloaded);
        Assert.All(Enumerable.Range(0, maxInFlight), id => Assert.Equal("cfm", answers[id][0].Type()));

        // The slots are free again once the handlers finished.
        JsonElement after = await client.AnswerAsync("""{"type":"req","id":"after","op":"sleep","data":{"ms":1}}""");
        Assert.Equal("cfm", after.Type());
    }

    [Fact]
    public async Task MaxInFlightIsPerConnection()
    {
        await using TestServer server = await TestServer.StartAsync(o => o.MaxInFlight = 1);
        await using WsClient a = await WsClient.ConnectAsync(server.WebSocketUri);
        await using WsClient b = await WsClient.ConnectAsync(server.WebSocketUri);
        await a.SendAsync("""{"type":"req","id":1,"op":"sleep","data":{"ms":300}}""");
        await Eventually.TrueAsync(() => server.Server.MessagingMetrics.InFlight == 1, "a's sleep is in flight");

        JsonElement fromB = await b.AnswerAsync("""{"type":"req","id":1,"op":"sleep","data":{"ms":1}}""");
        Assert.Equal("cfm", fromB.Type());
        Assert.Equal("cfm", (await a.ReceiveJsonAsync()).Type());
    }

    [Fact]
    public async Task TimeoutRejectsASlowHandlerAndItsLateAnswerNeverArrives()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lateAnswerTried = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestServer server = await TestServer.StartAsync(
            o => o.RequestTimeout = TimeSpan.FromMilliseconds(300),
            c => c.MapRequest("slow", async request =>
            {
                await release.Task; // ignores cancellation on purpose: it answers after its deadline
                request.Confirm("\"late\""u8);
                lateAnswerTried.TrySetResult(request.IsAnswered);
            }));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);

        var clock = Stopwatch.StartNew();
        JsonElement answer = await client.AnswerAsync("""{"type":"req","id":"t","op":"slow"}""");
        answer.AssertRej("timeout", "\"t\"");
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(250), $"answered after {clock.Elapsed}, before the timeout");

        release.SetResult();
        Assert.True(await lateAnswerTried.Task.Within("the handler's late answer"));
        await client.AssertNothingElseArrivesAsync();
    }

    [Fact]
    public async Task TimeoutCancelsTheHandler()
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestServer server = await TestServer.StartAsync(
            o => o.RequestTimeout = TimeSpan.FromMilliseconds(200),
            c => c.MapRequest("hang", async request =>
            {
                using CancellationTokenRegistration _ = request.Aborted.Register(() => cancelled.TrySetResult());
                await Task.Delay(Timeout.Infinite, request.Aborted);
            }));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);

        (await client.AnswerAsync("""{"type":"req","id":1,"op":"hang"}""")).AssertRej("timeout", "1");
        await cancelled.Task.Within("the handler's cancellation");
        await Eventually.TrueAsync(() => server.Server.MessagingMetrics.InFlight == 0, "the timed-out request leaves the in-flight count");
        await client.AssertNothingElseArrivesAsync();
    }

    [Theory]
    [InlineData("boom.sync")]
    [InlineData("boom.async")]
    [InlineData("boom.typed")]
    public async Task InternalDoesNotLeakTheHandlersException(string op)
    {
        const string secret = "Server=db7.internal;Password=hunter2";
        await using TestServer server = await TestServer.StartAsync(configure: c => c
            .MapRequest("boom.sync", _ => throw new InvalidOperationException(secret))
            .MapRequest("boom.async", async _ =>
            {
                await Task.Yield();
                throw new InvalidOperationException(secret);
            })
            .MapRequest("boom.typed", MessagingTestJsonContext.Default.AddArgs, MessagingTestJsonContext.Default.AddResult,
                (_, _, _) => throw new InvalidOperationException(secret)));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);

        string answer = await RawAnswerAsync(client, $$$"""{"type":"req","id":"b","op":"{{{op}}}","data":{"a":1,"b":2}}""");
        Json.Parse(answer).AssertRej("internal", "\"b\"");
        Assert.DoesNotContain("hunter2", answer);
        Assert.DoesNotContain("db7", answer);
        Assert.DoesNotContain("InvalidOperationException", answer);
        Assert.DoesNotContain(" at ", answer); // no stack trace
        await client.AssertNothingElseArrivesAsync();
    }

    [Fact]
    public async Task HandlerThatReturnsWithoutAnsweringIsRejectedWithInternal()
    {
        await using TestServer server = await TestServer.StartAsync(configure: c => c.MapRequest("silent", _ => default));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        (await client.AnswerAsync("""{"type":"req","id":1,"op":"silent"}""")).AssertRej("internal", "1");
    }

    [Fact]
    public async Task RejectExceptionCarriesTheApplicationsCodeAndReason()
    {
        await using TestServer server = await TestServer.StartAsync(configure: c => c.MapRequest("guarded", async _ =>
        {
            await Task.Yield();
            throw new ConnMsgRejectException("unauthenticated", "log in first");
        }));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        JsonElement answer = await client.AnswerAsync("""{"type":"req","id":1,"op":"guarded"}""");
        answer.AssertRej("unauthenticated", "1");
        Assert.Equal("log in first", answer.Str("reason"));
    }

    [Fact]
    public async Task SecondAnswerOfAHandlerIsDropped()
    {
        await using TestServer server = await TestServer.StartAsync(configure: c => c.MapRequest("twice", request =>
        {
            request.Confirm("1"u8);
            request.Confirm("2"u8);
            request.Reject("not_found");
            return default;
        }));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        JsonElement answer = await client.AnswerAsync("""{"type":"req","id":1,"op":"twice"}""");
        Assert.Equal("cfm", answer.Type());
        Assert.Equal("1", answer.Raw("data"));
        await client.AssertNothingElseArrivesAsync();
    }

    private static async Task<string> RawAnswerAsync(WsClient client, string request)
    {
        await client.SendAsync(request);
        return await client.ReceiveAsync();
    }
    [Fact]
    public async Task AHandlersSlowCancellationDoesNotHoldUpOtherConnectionsTimeouts()
    {
        using var release = new ManualResetEventSlim();
        var cancelling = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestServer server = await TestServer.StartAsync(
            options: o => o.RequestTimeout = TimeSpan.FromMilliseconds(200),
            configure: c => c
                .MapRequest("work.slow-cancel", request =>
                {
                    // A callback that takes its time to clean up once the request is given up.
                    request.Aborted.Register(() =>
                    {
                        cancelling.TrySetResult();
                        release.Wait(TimeSpan.FromSeconds(30));
                    });
                    return new ValueTask(Task.Delay(Timeout.Infinite, request.Aborted));
                })
                .MapRequest("work.stuck", _ => new ValueTask(new TaskCompletionSource().Task)));
        try
        {
            await using WsClient slow = await WsClient.ConnectAsync(server.WebSocketUri);
            await using WsClient other = await WsClient.ConnectAsync(server.WebSocketUri);

            (await slow.RequestAsync("""{"type":"req","id":1,"op":"work.slow-cancel"}""")).AssertRej("timeout", "1");
            await cancelling.Task.Within("the handler's cancellation callback to run");

            // While that callback still runs, another connection's request times out on time.
            JsonElement answer = await other.RequestAsync("""{"type":"req","id":2,"op":"work.stuck"}""").Within("the other request's timeout");
            answer.AssertRej("timeout", "2");
            // And keeps being answered.
            Assert.Equal("cfm", (await slow.RequestAsync("""{"type":"req","id":3,"op":"echo","data":3}""")).Type());
        }
        finally
        {
            release.Set();
        }
    }
}
