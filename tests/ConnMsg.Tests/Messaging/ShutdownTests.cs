using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using ConnMsg.Messaging;
using ConnMsg.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using ConnMsg.Tests.Messaging.Support;

namespace ConnMsg.Tests.Messaging;

/// <summary>PROTOCOL.md §6 graceful shutdown, §4 <c>shutting_down</c>, §7 <c>/healthz</c> while draining.</summary>
public sealed class ShutdownTests
{
    /// <summary>The whole host is stopped, as on SIGTERM: the drain must happen before the listener goes away.</summary>
    [Fact]
    public async Task StoppingTheHostAnswersInFlightRequestsRefusesNewOnesThenClosesWith1001()
    {
        await GracefulShutdownAsync(server =>
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            return server.App.StopAsync(cts.Token);
        });
    }

    [Fact]
    public async Task DrainTimeoutClosesWith1001WhenAHandlerNeverFinishes()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestServer server = await TestServer.StartAsync(
            o => o.DrainTimeout = TimeSpan.FromMilliseconds(300),
            c => c.MapRequest("stuck", async request =>
            {
                await release.Task;
                request.Confirm();
            }));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        await client.SendAsync("""{"type":"req","id":1,"op":"stuck"}""");
        await Eventually.TrueAsync(() => server.Server.MessagingMetrics.InFlight == 1, "the request is in flight");

        Task stopping = server.App.StopAsync();
        try
        {
            Assert.Equal(1001, await client.ReceiveCloseAndReplyAsync(TimeSpan.FromSeconds(10)));
            await stopping.Within("the server to stop", TimeSpan.FromSeconds(20));
        }
        finally
        {
            release.TrySetResult();
        }
    }

    [Fact]
    public async Task ADrainWaitsForAHandlerThatAnsweredAndStillRuns()
    {
        // The drain closes the connections once nothing is in flight, and a request counts until its handler returns,
        // not only until its answer: counted out at the answer, the drain could close between the answer freeing the
        // request's id and the answer being queued, and the close frame would overtake the client's one answer.
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cleanUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestServer server = await TestServer.StartAsync(
            o => o.DrainTimeout = TimeSpan.FromSeconds(20),
            c => c.MapRequest("answer.then.work", async request =>
            {
                await answer.Task;
                request.Confirm("1"u8);
                await cleanUp.Task;
            }));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        await client.SendAsync("""{"type":"req","id":1,"op":"answer.then.work"}""");
        await Eventually.TrueAsync(() => server.Server.MessagingMetrics.InFlight == 1, "the request is in flight");

        Task stopping = server.App.StopAsync();
        try
        {
            await Eventually.TrueAsync(() => server.Server.IsDraining, "the server is draining", TimeSpan.FromSeconds(5));
            answer.SetResult();
            Assert.Equal("cfm", (await client.ReceiveJsonAsync()).Type());
            Assert.Equal(1, server.Server.MessagingMetrics.InFlight); // its handler still runs: the drain waits

            cleanUp.SetResult();
            Assert.Equal(1001, await client.ReceiveCloseAndReplyAsync(TimeSpan.FromSeconds(10)));
            await stopping.Within("the server to stop", TimeSpan.FromSeconds(20));
        }
        finally
        {
            answer.TrySetResult();
            cleanUp.TrySetResult();
        }
    }

#if DEBUG
    [Fact]
    public async Task ADrainWaitsForARequestWhoseHandlerBlocksItsReadLoopWhenTheDrainStarts()
    {
        // The handler runs synchronously on the read loop (blocking it) before it goes asynchronous: the request is
        // not in the in-flight count yet when the drain starts, but it was accepted, so it must still be answered.
        var blocking = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var unblock = new ManualResetEventSlim();
        await using TestServer server = await TestServer.StartAsync(
            o => o.DrainTimeout = TimeSpan.FromSeconds(20),
            c => c.MapRequest("blocks.then.awaits", async request =>
            {
                blocking.TrySetResult();
                unblock.Wait(TimeSpan.FromSeconds(20));
                await Task.Yield();
                request.Confirm("1"u8);
            }));
        var application = server.App.Services.GetRequiredService<ConnMsgApplication>();
        var drainWaits = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        application.DrainWaitsForDispatch = () => drainWaits.TrySetResult();
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        await using WsClient idle = await WsClient.ConnectAsync(server.WebSocketUri);
        await client.SendAsync("""{"type":"req","id":1,"op":"blocks.then.awaits"}""");
        await blocking.Task.Within("the handler to block its read loop");

        Task stopping = server.App.StopAsync();
        try
        {
            // Either the drain waits for the blocked batch, or (the bug) it has already closed every connection.
            Task<int?> idleClosed = idle.ReceiveCloseAndReplyAsync(TimeSpan.FromSeconds(20));
            await Task.WhenAny(drainWaits.Task, idleClosed).Within("the drain to wait or to close");
            unblock.Set();

            JsonElement answer = await client.ReceiveJsonAsync();
            Assert.Equal("cfm", answer.Type());
            Assert.Equal(1001, await client.ReceiveCloseAndReplyAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(1001, await idleClosed);
            await stopping.Within("the server to stop", TimeSpan.FromSeconds(20));
        }
        finally
        {
            unblock.Set();
        }
    }
#endif

    private static async Task GracefulShutdownAsync(Func<TestServer, Task> stop)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestServer server = await TestServer.StartAsync(
            o => o.DrainTimeout = TimeSpan.FromSeconds(20),
            c => c.MapRequest("gated", async request =>
            {
                await release.Task;
                request.Confirm("\"done\""u8);
            }));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        await using WsClient idle = await WsClient.ConnectAsync(server.WebSocketUri);

        await client.SendAsync("""{"type":"req","id":1,"op":"gated"}""");
        await client.SendAsync("""{"type":"req","id":2,"op":"gated"}""");
        // Long enough that a loaded machine still sees all three in flight before the sleep ends.
        await client.SendAsync("""{"type":"req","id":3,"op":"sleep","data":{"ms":1500}}""");
        await Eventually.TrueAsync(() => server.Server.MessagingMetrics.InFlight == 3, "three requests are in flight");
        Assert.Equal(HttpStatusCode.OK, (await HttpGet.GetAsync(server.HttpBase, "healthz")).Status);

        Task stopping = stop(server);
        try
        {
            await Eventually.TrueAsync(() => server.Server.IsDraining, "the server is draining", TimeSpan.FromSeconds(5));

            // While draining: new requests are refused, health says 503, new connections are not accepted.
            await client.SendAsync("""{"type":"req","id":4,"op":"echo","data":1}""");
            await client.SendAsync("""{"type":"req","id":5,"op":"$ping"}""");
            (HttpStatusCode health, string _) = await HttpGet.GetAsync(server.HttpBase, "healthz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health);
            await Assert.ThrowsAnyAsync<WebSocketException>(() => WsClient.ConnectAsync(server.WebSocketUri));

            var answers = new Dictionary<string, JsonElement>();
            while (answers.Count < 3)
            {
                JsonElement m = await client.ReceiveJsonAsync();
                answers.Add(m.Raw("id"), m); // Add throws on a second answer for an id
            }

            answers["4"].AssertRej("shutting_down", "4");
            answers["5"].AssertRej("shutting_down", "5");
            Assert.Equal("cfm", answers["3"].Type()); // the sleep finished inside the drain
            Assert.False(stopping.IsCompleted, "the drain ended while requests were still in flight");

            // The in-flight requests finish: their answers go out, then the close.
            release.SetResult();
            for (int i = 0; i < 2; i++)
            {
                JsonElement m = await client.ReceiveJsonAsync();
                Assert.Equal("cfm", m.Type());
                answers.Add(m.Raw("id"), m);
            }

            Assert.Equal("\"done\"", answers["1"].Raw("data"));
            Assert.Equal("\"done\"", answers["2"].Raw("data"));
            Assert.Equal(1001, await client.ReceiveCloseAndReplyAsync());
            Assert.Equal(1001, await idle.ReceiveCloseAndReplyAsync());
            await stopping.Within("the server to stop", TimeSpan.FromSeconds(20));
        }
        finally
        {
            release.TrySetResult();
            try
            {
                await stopping;
            }
            catch (OperationCanceledException)
            {
                // The host's stop token ran out (only when the drain failed, which the assertions above report).
            }
        }
    }
}
