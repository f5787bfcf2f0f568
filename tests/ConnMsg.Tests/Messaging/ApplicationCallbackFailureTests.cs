using System.Text.Json;
using ConnMsg.Hosting;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ConnMsg.Tests.Messaging;

/// <summary>
/// An application callback that fails costs what it was asked about and no more: its failure is logged, and neither
/// the connection's other traffic nor the server (nor the process) goes down with it. The broken tasks here throw when
/// awaited, which an <c>await</c> inside ConnMsg would otherwise rethrow on the thread pool, ending the test host.
/// </summary>
public sealed class ApplicationCallbackFailureTests
{
    private const int CallbackFailedEvent = 2005;

    [Fact]
    public async Task AnOnConnectedTaskThatRefusesAContinuationClosesThatConnectionWith1011AndTheNextIsServed()
    {
        int connections = 0;
        var recorder = new ScopedLogRecorder();
        await using TestServer server = await StartAsync(recorder, c => c.OnConnected((_, _) => Interlocked.Increment(ref connections) == 1 ? RefusingTaskSource<bool>.Task : default));

        await using (WsClient broken = await WsClient.ConnectAsync(server.WebSocketUri))
        {
            Assert.Equal(1011, await broken.ReceiveCloseAsync());
        }

        Assert.Single(recorder.Entries, e => e.EventId == CallbackFailedEvent);
        await AssertANewConnectionIsServedAsync(server);
    }

    [Fact]
    public async Task AnOnDisconnectedTaskThatRefusesAContinuationIsLoggedAndTheServerGoesOn()
    {
        var recorder = new ScopedLogRecorder();
        await using TestServer server = await StartAsync(recorder, c => c.OnDisconnected(_ => RefusingTaskSource<bool>.Task));

        await ConnectAndCloseAsync(server);

        await recorder.FirstAsync(CallbackFailedEvent).Within("the failed OnDisconnected to be logged");
        // The connection leaves the list before its OnDisconnected callbacks run, so it is gone once the failure is logged.
        Assert.Empty(server.Server.Connections);
        await AssertANewConnectionIsServedAsync(server);
    }

    [Fact]
    public async Task AStateWhoseDisposeAsyncRefusesAContinuationIsLoggedAndTheServerGoesOn()
    {
        var recorder = new ScopedLogRecorder();
        await using TestServer server = await StartAsync(recorder, c => c.WithState(_ => new BrokenAsyncState()));

        await ConnectAndCloseAsync(server);

        await recorder.FirstAsync(CallbackFailedEvent).Within("the failed DisposeAsync to be logged");
        await AssertANewConnectionIsServedAsync(server);
    }

    [Fact]
    public async Task AnAuthorizeSubscribeThatThrowsRejectsThatSubscribeInternalAndTheConnectionGoesOn()
    {
        var recorder = new ScopedLogRecorder();
        await using TestServer server = await StartAsync(recorder, c => c.AuthorizeSubscribe((_, topic) => topic == "broken" ? throw new InvalidOperationException("no policy") : true));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);

        JsonElement refused = await client.RequestAsync("""{"type":"req","id":1,"op":"$subscribe","data":{"topic":"broken"}}""");
        Assert.Equal("rej", refused.Type());
        Assert.Equal("internal", refused.Str("code"));
        Assert.DoesNotContain("no policy", refused.GetRawText());
        Assert.Equal(0, server.Server.SubscriberCount("broken"));
        Assert.Single(recorder.Entries, e => e.EventId == CallbackFailedEvent);

        Assert.Equal("cfm", (await client.RequestAsync("""{"type":"req","id":2,"op":"$subscribe","data":{"topic":"fine"}}""")).Type());
        Assert.Equal(1, server.Server.SubscriberCount("fine"));
    }

    [Fact]
    public async Task AnOnIndicationThatThrowsDropsThatIndAndTheConnectionGoesOn()
    {
        var recorder = new ScopedLogRecorder();
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestServer server = await StartAsync(recorder, c => c.OnIndication((_, topic, _) =>
        {
            received.TrySetResult(topic);
            throw new InvalidOperationException("cannot take it");
        }));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);

        await client.SendAsync("""{"type":"ind","topic":"client.news","data":1}""");
        Assert.Equal("client.news", await received.Task.Within("the Ind to reach OnIndication"));
        // The read loop handles one message after the other: the answer to this request means the Ind was dealt with.
        Assert.Equal("cfm", (await client.RequestAsync("""{"type":"req","id":1,"op":"echo","data":1}""")).Type());
        Assert.Single(recorder.Entries, e => e.EventId == CallbackFailedEvent);
    }

    private static Task<TestServer> StartAsync(ScopedLogRecorder recorder, Action<ConnMsgBuilder> configure) =>
        TestServer.StartAsync(configure: c =>
        {
            c.Services.AddSingleton<ILoggerProvider>(recorder);
            configure(c);
        });

    private static async Task ConnectAndCloseAsync(TestServer server)
    {
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        await client.Socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }

    private static async Task AssertANewConnectionIsServedAsync(TestServer server)
    {
        await using WsClient next = await WsClient.ConnectAsync(server.WebSocketUri);
        Assert.Equal("cfm", (await next.RequestAsync("""{"type":"req","id":1,"op":"echo","data":1}""")).Type());
    }

    /// <summary>Per-connection state whose asynchronous disposal is broken.</summary>
    private sealed class BrokenAsyncState : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => RefusingTaskSource<bool>.Task;
    }
}
