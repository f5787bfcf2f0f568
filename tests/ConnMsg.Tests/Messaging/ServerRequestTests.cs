using System.Text.Json;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;

namespace ConnMsg.Tests.Messaging;

/// <summary>
/// PROTOCOL.md §1 "both peers are equal": the server sends a Req to the client (through the demo's <c>demo.ask</c>) and
/// the client's cfm or rej decides the answer to the client's original request.
/// </summary>
public sealed class ServerRequestTests(DemoServerFixture fixture) : IClassFixture<DemoServerFixture>
{
    [Fact]
    public async Task ClientsCfmToTheServersReqBecomesTheOriginalRequestsCfm()
    {
        await using WsClient client = await WsClient.ConnectAsync(fixture.Server.WebSocketUri);
        await client.SendAsync("""{"type":"req","id":"ask","op":"demo.ask","data":{"op":"client.confirm","data":{"question":"ok?"}}}""");

        JsonElement req = await client.ReceiveJsonAsync();
        Assert.Equal("req", req.Type());
        Assert.Equal("client.confirm", req.Str("op"));
        Assert.Equal("""{"question":"ok?"}""", req.Raw("data"));
        Assert.Equal(JsonValueKind.Number, req.GetProperty("id").ValueKind);

        await client.SendAsync($$$"""{"type":"cfm","id":{{{req.Raw("id")}}},"data":{"answer":"yes","n":[1,2]}}""");
        JsonElement answer = await client.ReceiveJsonAsync();
        Assert.Equal("cfm", answer.Type());
        Assert.Equal("\"ask\"", answer.Raw("id"));
        Assert.Equal("""{"answer":"yes","n":[1,2]}""", answer.Raw("data"));
    }

    [Fact]
    public async Task ClientsRejToTheServersReqBecomesTheOriginalRequestsRej()
    {
        await using WsClient client = await WsClient.ConnectAsync(fixture.Server.WebSocketUri);
        await client.SendAsync("""{"type":"req","id":7,"op":"demo.ask","data":{"op":"client.confirm"}}""");
        JsonElement req = await client.ReceiveJsonAsync();
        Assert.Equal("req", req.Type());
        Assert.True(!req.TryGetProperty("data", out JsonElement d) || d.ValueKind == JsonValueKind.Null, "no data was asked for");

        await client.SendAsync($$"""{"type":"rej","id":{{req.Raw("id")}},"code":"forbidden","reason":"user said no"}""");
        JsonElement answer = await client.ReceiveJsonAsync();
        answer.AssertRej("forbidden", "7");
        Assert.Equal("user said no", answer.Str("reason"));
    }

    [Fact]
    public async Task ServerRequestsAreCorrelatedByIdNotByOrder()
    {
        await using WsClient client = await WsClient.ConnectAsync(fixture.Server.WebSocketUri);
        await client.SendAsync("""{"type":"req","id":"a","op":"demo.ask","data":{"op":"q","data":"A"}}""");
        await client.SendAsync("""{"type":"req","id":"b","op":"demo.ask","data":{"op":"q","data":"B"}}""");
        var reqs = new Dictionary<string, string>(); // data -> raw id of the server's req
        for (int i = 0; i < 2; i++)
        {
            JsonElement req = await client.ReceiveJsonAsync();
            Assert.Equal("req", req.Type());
            reqs[req.GetProperty("data").GetString()!] = req.Raw("id");
        }

        Assert.NotEqual(reqs["A"], reqs["B"]); // unique among the server's requests in flight

        // Answer in the opposite order.
        await client.SendAsync($$"""{"type":"cfm","id":{{reqs["B"]}},"data":"answer to B"}""");
        JsonElement first = await client.ReceiveJsonAsync();
        Assert.Equal(("\"b\"", "\"answer to B\""), (first.Raw("id"), first.Raw("data")));

        await client.SendAsync($$"""{"type":"cfm","id":{{reqs["A"]}},"data":"answer to A"}""");
        JsonElement second = await client.ReceiveJsonAsync();
        Assert.Equal(("\"a\"", "\"answer to A\""), (second.Raw("id"), second.Raw("data")));
    }

    [Theory]
    [InlineData("""{"type":"rej","id":ID,"code":"NotFound"}""")] // code not snake_case
    [InlineData("""{"type":"cfm","id":ID,"data":1,"data":2}""")]  // two data members
    public async Task AMalformedAnswerIsRefusedWithIdNullAndFailsTheServersReqAtOnce(string malformed)
    {
        await using WsClient client = await WsClient.ConnectAsync(fixture.Server.WebSocketUri);
        await client.SendAsync("""{"type":"req","id":"ask","op":"demo.ask","data":{"op":"client.confirm"}}""");
        JsonElement req = await client.ReceiveJsonAsync();
        Assert.Equal("req", req.Type());

        await client.SendAsync(malformed.Replace("ID", req.Raw("id")));

        // Echoing the broken answer's id would make it a second answer to the client's own request of that id (the two
        // directions have separate id spaces, §3); and the server's req, answered after all, does not wait for its timeout.
        JsonElement[] answers = [await client.ReceiveJsonAsync(), await client.ReceiveJsonAsync()];
        JsonElement refusal = Assert.Single(answers, a => a.Raw("id") == "null");
        refusal.AssertRej("bad_message", "null");
        JsonElement original = Assert.Single(answers, a => a.Raw("id") == "\"ask\"");
        original.AssertRej("bad_message", "\"ask\"");
        await client.AssertNothingElseArrivesAsync();
    }

    [Fact]
    public async Task AnswersToUnknownServerRequestIdsAreIgnored()
    {
        await using WsClient client = await WsClient.ConnectAsync(fixture.Server.WebSocketUri);
        await client.SendAsync("""{"type":"cfm","id":987654,"data":1}""");
        await client.SendAsync("""{"type":"rej","id":"nope","code":"internal"}""");
        await client.AssertNothingElseArrivesAsync();

        // A stray answer does not satisfy a later real request either.
        await client.SendAsync("""{"type":"req","id":1,"op":"demo.ask","data":{"op":"q"}}""");
        JsonElement req = await client.ReceiveJsonAsync();
        Assert.Equal("req", req.Type());
        await client.SendAsync($$"""{"type":"cfm","id":{{req.Raw("id")}},"data":"real"}""");
        Assert.Equal("\"real\"", (await client.ReceiveJsonAsync()).Raw("data"));
    }

    [Fact]
    public async Task ClientMayKeepUsingTheConnectionWhileTheServerWaitsForItsAnswer()
    {
        await using WsClient client = await WsClient.ConnectAsync(fixture.Server.WebSocketUri);
        await client.SendAsync("""{"type":"req","id":1,"op":"demo.ask","data":{"op":"q"}}""");
        JsonElement req = await client.ReceiveJsonAsync();

        JsonElement echo = await client.AnswerAsync("""{"type":"req","id":2,"op":"echo","data":"meanwhile"}""");
        Assert.Equal("\"meanwhile\"", echo.Raw("data"));

        await client.SendAsync($$"""{"type":"cfm","id":{{req.Raw("id")}}}""");
        JsonElement answer = await client.ReceiveJsonAsync();
        Assert.Equal("1", answer.Raw("id"));
        Assert.Equal("cfm", answer.Type());
    }
    [Fact]
    public async Task AServerRequestWhoseTokenIsAlreadyCancelledIsNeverSent()
    {
        await using TestServer server = await TestServer.StartAsync(configure: c => c.MapRequest("ask.given-up", async request =>
        {
            using var givenUp = new CancellationTokenSource();
            givenUp.Cancel();
            try
            {
                await request.Connection.RequestAsync("client.confirm", default, givenUp.Token);
                request.Reject("unexpected", "the request was sent");
            }
            catch (OperationCanceledException)
            {
                await request.Connection.SendIndAsync("after.cancel", "1"u8.ToArray());
                request.Confirm();
            }
        }));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        await client.SendAsync("""{"type":"req","id":1,"op":"ask.given-up"}""");

        // Nothing comes before the Ind the handler sends once its request was refused.
        JsonElement first = await client.ReceiveJsonAsync();
        Assert.Equal("ind", first.Type());
        Assert.Equal("after.cancel", first.Str("topic"));
        Assert.Equal("cfm", (await client.ReceiveJsonAsync()).Type());
    }

    [Theory]
    [InlineData("""{"op":"\ud800"}""")]
    [InlineData("""{"op":"not an op!"}""")]
    [InlineData("""{"op":""}""")]
    public async Task DemoAskWithAnOpThatIsNoOpIsInvalidArgument(string data)
    {
        await using WsClient client = await WsClient.ConnectAsync(fixture.Server.WebSocketUri);
        await client.SendAsync($$"""{"type":"req","id":9,"op":"demo.ask","data":{{data}}}""");
        JsonElement answer = await client.ReceiveJsonAsync();
        answer.AssertRej("invalid_argument", "9");
    }

    [Fact]
    public async Task ATypedServerRequestIsWrittenWithTheTypeInfosOwnOptionsButNotIndented()
    {
        // As a typed Cfm, Ind or publish: the serialiser's bytes for the type info's options, on one line.
        var options = new JsonSerializerOptions
        {
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            WriteIndented = true,
        };
        var context = new MessagingTestJsonContext(options);
        await using TestServer server = await TestServer.StartAsync(configure: c => c.MapRequest("ask.typed", async request =>
        {
            AddResult? reply = await request.Connection.RequestAsync("client.check", new AddResult(3, "café <b>"), context.AddResult, context.AddResult);
            request.Confirm(reply, context.AddResult);
        }));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        await client.SendAsync("""{"type":"req","id":1,"op":"ask.typed"}""");

        string req = await client.ReceiveAsync();
        string id = Json.Parse(req).Raw("id");
        Assert.Equal($$$"""{"type":"req","id":{{{id}}},"op":"client.check","data":{"sum":3,"note":"café <b>"}}""", req);
        await client.SendAsync($$$"""{"type":"cfm","id":{{{id}}},"data":{"sum":4,"note":"ok"}}""");
        Assert.Equal("""{"type":"cfm","id":1,"data":{"sum":4,"note":"ok"}}""", await client.ReceiveAsync());
    }
}
