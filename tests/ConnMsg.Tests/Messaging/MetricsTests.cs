using System.Net;
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
}
