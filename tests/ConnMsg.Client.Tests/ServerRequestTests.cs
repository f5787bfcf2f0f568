using System.Text.Json;
using ConnMsg.Client.Tests.Infrastructure;
using static ConnMsg.Client.Tests.Infrastructure.TestClients;

namespace ConnMsg.Client.Tests;

/// <summary>Server-initiated requests answered by <see cref="ConnMsgClient.OnRequest(string, Func{ReadOnlyMemory{byte}, CancellationToken, ValueTask{ReadOnlyMemory{byte}}})"/>.</summary>
public sealed class ServerRequestTests
{
    [Fact]
    public async Task ClientAnswersServerRequestsWithCfmOrRejEchoingTheIdVerbatim()
    {
        var answers = new TaskCompletionSource<Dictionary<string, JsonElement>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var clientReady = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async socket =>
        {
            await ScriptedServer.SendAsync(socket, """{"type":"ind","topic":"$session","data":{"id":"s1","keepAlive":15,"maxMessage":65536,"maxInFlight":256}}""");
            await clientReady.Task;
            await ScriptedServer.SendAsync(socket, """{"type":"req","id":"abc","op":"calc.add","data":{"a":2,"b":3}}""");
            await ScriptedServer.SendAsync(socket, """{"type":"req","id":7,"op":"calc.unknown"}""");
            await ScriptedServer.SendAsync(socket, """{"type":"req","id":8,"op":"calc.refuse","data":{}}""");
            await ScriptedServer.SendAsync(socket, """{"op":"$ping","data":[1,2],"id":9,"type":"req","extra":{"ignored":true}}""");
            await ScriptedServer.SendAsync(socket, """{"type":"req","id":10,"op":"calc.crash"}""");
            await ScriptedServer.SendAsync(socket, """{"type":"req","id":11,"op":"calc.add","data":"not an object"}""");
            var byId = new Dictionary<string, JsonElement>();
            while (byId.Count < 6)
            {
                var answer = JsonDocument.Parse(await ScriptedServer.ReceiveAsync(socket)).RootElement;
                byId[answer.GetProperty("id").GetRawText()] = answer;
            }

            answers.SetResult(byId);
            await done.Task;
        });
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options());
        using var add = client.OnRequest("calc.add", TestJsonContext.Default.AddRequest, TestJsonContext.Default.AddResult,
            (request, _) => ValueTask.FromResult(new AddResult(request!.A + request.B)));
        using var refuse = client.OnRequest("calc.refuse", (_, _) => throw new ConnMsgRejectedException("forbidden", "not you"));
        using var crash = client.OnRequest("calc.crash", (_, _) => throw new InvalidOperationException("secret internals"));
        clientReady.SetResult();

        var byId = await answers.Task.Within();
        Assert.Equal(65536, client.Session!.MaxMessage); // before the script ends and the server closes
        done.SetResult();

        Assert.Equal("cfm", byId["\"abc\""].GetProperty("type").GetString());
        Assert.Equal(5, byId["\"abc\""].GetProperty("data").GetProperty("sum").GetInt32());
        Assert.Equal("rej", byId["7"].GetProperty("type").GetString());
        Assert.Equal("unknown_op", byId["7"].GetProperty("code").GetString());
        Assert.Equal("forbidden", byId["8"].GetProperty("code").GetString());
        Assert.Equal("not you", byId["8"].GetProperty("reason").GetString());
        Assert.Equal("cfm", byId["9"].GetProperty("type").GetString());
        Assert.Equal("[1,2]", byId["9"].GetProperty("data").GetRawText());
        Assert.Equal("internal", byId["10"].GetProperty("code").GetString());
        Assert.DoesNotContain("secret", byId["10"].GetRawText());
        Assert.Equal("invalid_argument", byId["11"].GetProperty("code").GetString());
    }

    [Fact]
    public async Task RejCodeMustBeSnakeCaseSoAHandlersOtherCodeIsAnsweredInternal()
    {
        var clientReady = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answered = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async socket =>
        {
            await ScriptedServer.SendAsync(socket, """{"type":"ind","topic":"$session","data":{"id":"s3","keepAlive":15,"maxMessage":65536,"maxInFlight":256}}""");
            await clientReady.Task;
            await ScriptedServer.SendAsync(socket, """{"type":"req","id":4,"op":"things.find","data":{"name":"x"}}""");
            answered.SetResult(JsonDocument.Parse(await ScriptedServer.ReceiveAsync(socket)).RootElement);
            await done.Task;
        });
        var logger = new TestLogger();
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options(logger));
        using var find = client.OnRequest("things.find", (_, _) => throw new ConnMsgRejectedException("NotFound", "no such thing"));
        clientReady.SetResult();

        var answer = await answered.Task.Within();
        done.SetResult();

        // The server would refuse "NotFound" as bad_message and its request would end only at its timeout.
        Assert.Equal("rej", answer.GetProperty("type").GetString());
        Assert.Equal(4, answer.GetProperty("id").GetInt32());
        Assert.Equal("internal", answer.GetProperty("code").GetString());
        string logged = await logger.WaitForAsync(17).Within(); // RejectCodeNotSnakeCase
        Assert.Contains("things.find", logged);
        Assert.Contains("NotFound", logged);
    }

    [Fact]
    public async Task SecondHandlerForTheSameOpIsRefusedAndDisposingFreesIt()
    {
        var server = await ScriptedServer.StartAsync(socket => ScriptedServer.ReceiveAsync(socket));
        await using (server)
        {
            await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options() with { SessionWaitTimeout = TimeSpan.Zero });
            var first = client.OnRequest("x.y", (d, _) => ValueTask.FromResult(d));

            Assert.Throws<InvalidOperationException>(() => client.OnRequest("x.y", (d, _) => ValueTask.FromResult(d)));
            first.Dispose();
            using var second = client.OnRequest("x.y", (d, _) => ValueTask.FromResult(d));
            Assert.NotNull(second);
        }
    }

    [Fact]
    public async Task SessionLimitFromTheServerIsEnforced()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async socket =>
        {
            await ScriptedServer.SendAsync(socket, """{"type":"ind","topic":"$session","data":{"id":"s2","keepAlive":15,"maxMessage":100,"maxInFlight":4}}""");
            await done.Task;
        });
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options());

        var e = await Assert.ThrowsAsync<ConnMsgMessageTooLargeException>(
            () => client.RequestAsync("echo", Json("\"" + new string('x', 100) + "\""))).Within();

        Assert.Equal(100, e.Limit);
        Assert.Equal(4, client.Session!.MaxInFlight);
        Assert.Equal("s2", client.Session.Id);
        done.SetResult(); // only now may the script end and the server close
    }

    [Fact]
    public async Task RejAnswerLargerThanTheServersMaxMessageIsCutToFitByShorteningItsReason()
    {
        var clientReady = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answered = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async socket =>
        {
            await ScriptedServer.SendAsync(socket, """{"type":"ind","topic":"$session","data":{"id":"s4","keepAlive":15,"maxMessage":1000,"maxInFlight":256}}""");
            await clientReady.Task;
            await ScriptedServer.SendAsync(socket, """{"type":"req","id":12,"op":"things.check","data":{}}""");
            answered.SetResult(await ScriptedServer.ReceiveAsync(socket));
            await done.Task;
        });
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options());
        string reason = string.Concat(Enumerable.Repeat("\"a long reason\" ", 300));
        using var check = client.OnRequest("things.check", (_, _) => throw new ConnMsgRejectedException("too_long", reason));
        clientReady.SetResult();

        string answer = await answered.Task.Within();
        done.SetResult();

        // The server would close the connection (1009) over a larger one, and its request would go unanswered.
        Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(answer), 1, 1000);
        var rej = JsonDocument.Parse(answer).RootElement;
        Assert.Equal("rej", rej.GetProperty("type").GetString());
        Assert.Equal(12, rej.GetProperty("id").GetInt32());
        Assert.Equal("too_long", rej.GetProperty("code").GetString());
        string sent = rej.GetProperty("reason").GetString()!;
        Assert.StartsWith("\"a long reason\"", sent);
        Assert.StartsWith(sent, reason);
    }
}
