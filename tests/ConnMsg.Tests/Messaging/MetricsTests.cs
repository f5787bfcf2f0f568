using System.Net;
using System.Text.Json;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;

namespace ConnMsg.Tests.Messaging;

/// <summary>PROTOCOL.md §7 <c>/metrics</c>: requests by op and outcome after real traffic.</summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task MetricsCountRequestsByOpAndOutcome()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        await client.AnswerAsync("""{"type":"req","id":1,"op":"echo","data":1}""");
        await client.AnswerAsync("""{"type":"req","id":2,"op":"echo","data":2}""");
        await client.AnswerAsync("""{"type":"req","id":3,"op":"fail","data":{"code":"not_found"}}""");
        await client.AnswerAsync("""{"type":"req","id":4,"op":"sleep","data":{"ms":-1}}""");
        await client.AnswerAsync("""{"type":"req","id":5,"op":"sleep","data":{"ms":1}}""");
        await client.AnswerAsync("""{"type":"req","id":6,"op":"no.such"}""");
        await client.AnswerAsync("""{"type":"req","id":7,"op":"$ping"}""");
        await client.SendAsync("not json");
        await client.ReceiveJsonAsync();

        string[] expected =
        [
            "connmsg_requests_total{op=\"echo\",outcome=\"cfm\"} 2\n",
            "connmsg_requests_total{op=\"echo\",outcome=\"rej\"} 0\n",
            "connmsg_requests_total{op=\"fail\",outcome=\"rej\"} 1\n",
            "connmsg_requests_total{op=\"sleep\",outcome=\"cfm\"} 1\n",
            "connmsg_requests_total{op=\"sleep\",outcome=\"rej\"} 1\n",
            "connmsg_unknown_op_total 1\n",
            "connmsg_bad_messages_total 1\n",
            "connmsg_reserved_requests_total 1\n",
            "connmsg_requests_in_flight 0\n",
        ];

        // Counters are updated as the handler completes, just after its answer is queued: allow them a moment.
        string metrics = "";
        await Eventually.TrueAsync(() =>
        {
            (HttpStatusCode status, string body) = HttpGet.GetAsync(server.HttpBase, "metrics").GetAwaiter().GetResult();
            Assert.Equal(HttpStatusCode.OK, status);
            metrics = body;
            return expected.All(body.Contains);
        }, "the metrics to show the traffic");

        Assert.Contains("# TYPE connmsg_requests_total counter\n", metrics);
        Assert.DoesNotContain("op=\"no.such\"", metrics); // unknown ops do not create series
    }

    [Fact]
    public async Task RequestsAnsweredInOneReadAreEachCountedUnderTheirOwnOp()
    {
        // One write, so the read loop gets the requests in one batch: its answers are counted together at the batch's
        // end, and ops that alternate within it must each keep their own counts.
        await using TestServer server = await TestServer.StartAsync();
        await using Transport.RawWebSocket ws = await Transport.RawWebSocket.ConnectAsync(server);
        string[] requests =
        [
            """{"type":"req","id":1,"op":"echo","data":1}""",
            """{"type":"req","id":2,"op":"fail","data":{"code":"not_found"}}""",
            """{"type":"req","id":3,"op":"echo","data":3}""",
            """{"type":"req","id":4,"op":"$ping"}""",
            """{"type":"req","id":5,"op":"echo","data":5}""",
            """{"type":"req","id":6,"op":"sleep","data":{"ms":1}}""",
            """{"type":"req","id":7,"op":"fail","data":{"code":"not_found"}}""",
        ];
        await ws.SendAsync(Transport.ClientFrames.Concat(requests.Select(r => Transport.ClientFrames.TextFrame(r)).ToArray()));
        for (int i = 0; i < requests.Length; i++)
        {
            await ws.ReceiveTextAsync();
        }

        string[] expected =
        [
            "connmsg_requests_total{op=\"echo\",outcome=\"cfm\"} 3\n",
            "connmsg_requests_total{op=\"echo\",outcome=\"rej\"} 0\n",
            "connmsg_requests_total{op=\"fail\",outcome=\"rej\"} 2\n",
            "connmsg_requests_total{op=\"sleep\",outcome=\"cfm\"} 1\n",
            "connmsg_request_duration_seconds_count 6\n",
            "connmsg_reserved_requests_total 1\n",
        ];
        string metrics = "";
        await Eventually.TrueAsync(() =>
        {
            metrics = HttpGet.GetAsync(server.HttpBase, "metrics").GetAwaiter().GetResult().Body;
            return expected.All(metrics.Contains);
        }, "the metrics to count every request of the batch under its op");
    }

    [Fact]
    public async Task CloseCodesFromClientsAreCountedInBoundedSeries()
    {
        // The code is the client's to choose: one series each for the codes RFC 6455 defines, one per application
        // range, one for anything invalid, so that no client can grow /metrics by a series per code.
        await using TestServer server = await TestServer.StartAsync();
        foreach (ushort code in new ushort[] { 1000, 3001, 3002, 4500, 5000, 5001, 999 })
        {
            await using Transport.RawWebSocket ws = await Transport.RawWebSocket.ConnectAsync(server);
            await ws.SendAsync(Transport.ClientFrames.CloseFrame(code, default));
            await ws.ReceiveCloseAsync();
        }

        string[] expected =
        [
            "connmsg_closes_received_total{code=\"1000\"} 1\n",
            "connmsg_closes_received_total{code=\"3000-3999\"} 2\n",
            "connmsg_closes_received_total{code=\"4000-4999\"} 1\n",
            "connmsg_closes_received_total{code=\"invalid\"} 3\n",
        ];
        string metrics = (await HttpGet.GetAsync(server.HttpBase, "metrics")).Body;
        Assert.All(expected, line => Assert.Contains(line, metrics));
        Assert.Equal(expected.Length, metrics.Split('\n').Count(line => line.StartsWith("connmsg_closes_received_total{", StringComparison.Ordinal)));
    }
#if DEBUG
    [Fact]
    public async Task ATimeoutIsCountedOnceAsARejectionOfItsOp()
    {
        var handlerDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource();
        await using TestServer server = await TestServer.StartAsync(
            options: o => o.RequestTimeout = TimeSpan.FromMilliseconds(200),
            configure: c => c.MapRequest("work.stuck", request =>
            {
                request.Connection.AfterFinishHandler = () => handlerDone.TrySetResult();
                return new ValueTask(release.Task); // ignores its cancellation: it ends when the test says
            }));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);

        JsonElement answer = await client.RequestAsync("""{"type":"req","id":1,"op":"work.stuck"}""");
        answer.AssertRej("timeout", "1");
        release.SetResult();
        await handlerDone.Task.Within("the timed-out handler to be finished");

        string metrics = (await HttpGet.GetAsync(server.HttpBase, "metrics")).Body;
        Assert.Contains("connmsg_requests_total{op=\"work.stuck\",outcome=\"rej\"} 1\n", metrics);
        Assert.Contains("connmsg_requests_total{op=\"work.stuck\",outcome=\"cfm\"} 0\n", metrics);
        Assert.Contains("connmsg_timeouts_total 1\n", metrics);
        Assert.Contains("connmsg_request_duration_seconds_count 1\n", metrics);
    }

    [Fact]
    public async Task ARequestAbandonedByItsConnectionIsNotCountedAsAnswered()
    {
        var handlerDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestServer server = await TestServer.StartAsync(configure: c => c.MapRequest("work.forever", async request =>
        {
            request.Connection.AfterFinishHandler = () => handlerDone.TrySetResult();
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, request.Aborted);
        }));
        WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        await client.SendAsync("""{"type":"req","id":1,"op":"work.forever"}""");
        await started.Task.Within("the handler to start");
        await client.DisposeAsync();
        await handlerDone.Task.Within("the abandoned handler to be finished");

        string metrics = (await HttpGet.GetAsync(server.HttpBase, "metrics")).Body;
        Assert.Contains("connmsg_requests_total{op=\"work.forever\",outcome=\"cfm\"} 0\n", metrics);
        Assert.Contains("connmsg_requests_total{op=\"work.forever\",outcome=\"rej\"} 0\n", metrics);
        Assert.Contains("connmsg_request_duration_seconds_count 0\n", metrics);
        Assert.Contains("connmsg_requests_in_flight 0\n", metrics);
    }

    [Fact]
    public async Task LatencyEndsWhenTheAnswerIsQueuedNotWhenTheHandlerReturns()
    {
        var finished = new CountdownEvent(2);
        TimeSpan workAfterAnswer = TimeSpan.FromSeconds(1.5);
        await using TestServer server = await TestServer.StartAsync(configure: c => c
            // Answers before going asynchronous, then works on
            .MapRequest("work.answer-first", async request =>
            {
                request.Connection.AfterFinishHandler = () => finished.Signal();
                request.Confirm();
                await Task.Delay(workAfterAnswer);
            })
            // Goes asynchronous, answers, then works on
            .MapRequest("work.answer-later", async request =>
            {
                request.Connection.AfterFinishHandler = () => finished.Signal();
                await Task.Yield();
                request.Confirm();
                await Task.Delay(workAfterAnswer);
            }));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);

        Assert.Equal("cfm", (await client.RequestAsync("""{"type":"req","id":1,"op":"work.answer-first"}""")).Type());
        Assert.Equal("cfm", (await client.RequestAsync("""{"type":"req","id":2,"op":"work.answer-later"}""")).Type());
        Assert.True(finished.Wait(TimeSpan.FromSeconds(10)), "the handlers did not finish");

        Assert.Equal(2, ReadMetric(server, "connmsg_request_duration_seconds_count"));
        double sum = ReadMetric(server, "connmsg_request_duration_seconds_sum");
        Assert.True(sum < workAfterAnswer.TotalSeconds, $"the two requests took {sum} s in the latency histogram, though their answers were queued before the handlers' {workAfterAnswer.TotalSeconds} s of further work");
    }

    private static double ReadMetric(TestServer server, string name)
    {
        string metrics = HttpGet.GetAsync(server.HttpBase, "metrics").GetAwaiter().GetResult().Body;
        string line = metrics.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        return double.Parse(line[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }
#endif
}
