using ConnMsg.Client.Tests.Infrastructure;
using static ConnMsg.Client.Tests.Infrastructure.TestClients;

namespace ConnMsg.Client.Tests;

/// <summary>Server-initiated requests from the real gateway (its <c>demo.ask</c>, enabled with <c>Demo:ServerRequests</c>).</summary>
public sealed class GatewayServerRequestTests
{
    private static ReadOnlyMemory<byte> Ask(string op, string data) => Json($$"""{"op":"{{op}}","data":{{data}}}""");

    [Fact]
    public async Task ClientHandlerAnswersTheGatewaysRequest()
    {
        await using var gateway = await TestGateway.StartAsync("--Demo:ServerRequests=true");
        await using var client = await ConnectAsync(gateway);
        using var add = client.OnRequest("client.add", TestJsonContext.Default.AddRequest, TestJsonContext.Default.AddResult,
            (request, _) => ValueTask.FromResult(new AddResult(request!.A + request.B)));

        var answer = await client.RequestAsync("demo.ask", Ask("client.add", """{"a":40,"b":2}""")).Within();

        Assert.Equal("""{"sum":42}""", Text(answer));
    }

    [Fact]
    public async Task ClientRejectionReachesTheGatewayWithItsCode()
    {
        await using var gateway = await TestGateway.StartAsync("--Demo:ServerRequests=true");
        await using var client = await ConnectAsync(gateway);
        using var refuse = client.OnRequest("client.refuse", (_, _) => throw new ConnMsgRejectedException("forbidden", "not you"));

        var e = await Assert.ThrowsAsync<ConnMsgRejectedException>(() => client.RequestAsync("demo.ask", Ask("client.refuse", "{}"))).Within();

        Assert.Equal("forbidden", e.Code);
    }

    [Fact]
    public async Task ClientRejectionWithACodeThatIsNotSnakeCaseReachesTheGatewayAsInternal()
    {
        // A short server timeout: should the gateway never get a usable answer from the client, demo.ask still ends
        // (timeout) well within the test's patience.
        await using var gateway = await TestGateway.StartAsync("--Demo:ServerRequests=true", "--ConnMsg:RequestTimeout=00:00:05");
        await using var client = await ConnectAsync(gateway);
        using var find = client.OnRequest("client.find", (_, _) => throw new ConnMsgRejectedException("NotFound", "no such thing"));

        var e = await Assert.ThrowsAsync<ConnMsgRejectedException>(() => client.RequestAsync("demo.ask", Ask("client.find", "{}"))).Within();

        Assert.Equal("internal", e.Code);
    }

    [Fact]
    public async Task RequestForAnOpWithoutHandlerIsRejectedUnknownOp()
    {
        await using var gateway = await TestGateway.StartAsync("--Demo:ServerRequests=true");
        await using var client = await ConnectAsync(gateway);

        var e = await Assert.ThrowsAsync<ConnMsgRejectedException>(() => client.RequestAsync("demo.ask", Ask("client.nobody", "null"))).Within();

        Assert.Equal("unknown_op", e.Code);
    }

    [Fact]
    public async Task ManyConcurrentServerRequestsAreAllAnswered()
    {
        await using var gateway = await TestGateway.StartAsync("--Demo:ServerRequests=true");
        await using var client = await ConnectAsync(gateway);
        using var echo = client.OnRequest("client.echo", async (data, ct) =>
        {
            await Task.Yield();
            return data;
        });

        var asks = Enumerable.Range(0, 100).Select(async i => Text(await client.RequestAsync("demo.ask", Ask("client.echo", i.ToString())))).ToArray();
        var answers = await Task.WhenAll(asks).Within();

        Assert.Equal(Enumerable.Range(0, 100).Select(i => i.ToString()), answers);
    }
}
