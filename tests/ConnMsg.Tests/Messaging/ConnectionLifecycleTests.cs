using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using ConnMsg.Messaging;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;
using Microsoft.Extensions.DependencyInjection;

namespace ConnMsg.Tests.Messaging;

/// <summary>Per-connection state (<c>WithState</c>), connect/disconnect callbacks, and Inds sent by clients.</summary>
public sealed class ConnectionLifecycleTests
{
    /// <summary>Per-connection state: counts its connection's requests and reports its disposal.</summary>
    private sealed class CountingState(string connectionId) : IDisposable
    {
        public string ConnectionId { get; } = connectionId;
        public int Requests;
        public TaskCompletionSource Disposed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public void Dispose() => Disposed.TrySetResult();
    }

    [Fact]
    public async Task StateIsCreatedPerConnectionOnConnectAndDisposedOnDisconnect()
    {
        var states = new ConcurrentDictionary<string, CountingState>();
        await using TestServer server = await TestServer.StartAsync(configure: c => c
            .WithState(connection => states[connection.Id] = new CountingState(connection.Id))
            .MapRequest("count", request =>
            {
                CountingState state = request.Connection.GetState<CountingState>();
                int n = Interlocked.Increment(ref state.Requests);
                request.Confirm(Encoding.UTF8.GetBytes($"[\"{state.ConnectionId}\",{n}]"));
                return default;
            }));

        await using WsClient a = await WsClient.ConnectAsync(server.WebSocketUri);
        await using WsClient b = await WsClient.ConnectAsync(server.WebSocketUri);
        string idA = a.Session.GetProperty("data").GetProperty("id").GetString()!;
        string idB = b.Session.GetProperty("data").GetProperty("id").GetString()!;
        await Eventually.TrueAsync(() => states.ContainsKey(idA) && states.ContainsKey(idB), "a state is created on connect, before any request");

        Assert.Equal($"[\"{idA}\",1]", (await a.AnswerAsync("""{"type":"req","id":1,"op":"count"}""")).Raw("data"));
        Assert.Equal($"[\"{idA}\",2]", (await a.AnswerAsync("""{"type":"req","id":2,"op":"count"}""")).Raw("data"));
        Assert.Equal($"[\"{idB}\",1]", (await b.AnswerAsync("""{"type":"req","id":1,"op":"count"}""")).Raw("data"));

        await a.Socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        await states[idA].Disposed.Task.Within("the closed connection's state to be disposed");
        Assert.False(states[idB].Disposed.Task.IsCompleted, "the other connection's state must live on");

        b.Socket.Abort(); // a dropped connection (no close handshake) is cleaned up too
        await states[idB].Disposed.Task.Within("the aborted connection's state to be disposed");
        Assert.Equal(2, states.Count);
    }

    [Fact]
    public async Task OnConnectedAndOnDisconnectedRunOncePerConnection()
    {
        var connected = Channel.CreateUnbounded<string>();
        var disconnected = Channel.CreateUnbounded<(string Id, bool ClosedCancelled)>();
        await using TestServer server = await TestServer.StartAsync(configure: c => c
            .OnConnected((connection, _) =>
            {
                connected.Writer.TryWrite(connection.Id);
                return default;
            })
            .OnDisconnected(connection =>
            {
                disconnected.Writer.TryWrite((connection.Id, connection.Closed.IsCancellationRequested));
                return default;
            }));

        await using (WsClient client = await WsClient.ConnectAsync(server.WebSocketUri))
        {
            string id = client.Session.GetProperty("data").GetProperty("id").GetString()!;
            Assert.Equal(id, await connected.Reader.ReadAsync().AsTask().Within("OnConnected"));
            Assert.False(disconnected.Reader.TryRead(out _), "OnDisconnected ran while the connection was up");
            await client.Socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);

            (string closedId, bool closedCancelled) = await disconnected.Reader.ReadAsync().AsTask().Within("OnDisconnected");
            Assert.Equal(id, closedId);
            Assert.True(closedCancelled, "ConnMsgConnection.Closed is cancelled by the time OnDisconnected runs");
        }

        Assert.False(connected.Reader.TryRead(out _));
        Assert.False(disconnected.Reader.TryRead(out _));
        await Eventually.TrueAsync(() => server.Server.Connections.Count == 0, "the connection leaves IConnMsgServer.Connections");
    }

    [Fact]
    public async Task ASubscriptionMadeAfterTheConnectionClosedIsNotKept()
    {
        // A server-side Subscribe can race the connection's close; the close has already taken back its subscriptions.
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestServer server = await TestServer.StartAsync(configure: c => c
            .OnDisconnected(connection =>
            {
                connection.Subscribe("too.late");
                subscribed.SetResult();
                return default;
            }));

        await using (WsClient client = await WsClient.ConnectAsync(server.WebSocketUri))
        {
            await client.Socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        }

        await subscribed.Task.Within("the subscribe in OnDisconnected");
        Assert.Equal(0, server.Server.SubscriberCount("too.late"));
        Assert.False(Topics(server).Exists("too.late"), "the topic the late subscribe created was left behind");
    }

    [Fact]
    public async Task ASubscribeMadeAfterTheConnectionClosedLeavesNoTopicBehindAndTakesNoneFromOthers()
    {
        // A handler that answers, goes on working, and subscribes its connection once the client has gone (a "join room"
        // handler): each such topic would be kept with nobody in it, for ever, one more per request.
        string alone = "late." + Guid.NewGuid().ToString("N");
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestServer server = await TestServer.StartAsync(configure: c => c.MapRequest("join.later", async request =>
        {
            ConnMsgConnection connection = request.Connection;
            request.Confirm();
            await Task.Delay(Timeout.Infinite, connection.Closed).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            try
            {
                connection.Subscribe(alone);
                connection.Subscribe("late.shared");
                subscribed.SetResult();
            }
            catch (Exception ex)
            {
                subscribed.SetException(ex);
            }
        }));
        await using WsClient staying = await WsClient.ConnectAsync(server.WebSocketUri);
        await staying.SubscribeAsync("late.shared");

        await using (WsClient leaving = await WsClient.ConnectAsync(server.WebSocketUri))
        {
            Assert.Equal("cfm", (await leaving.AnswerAsync("""{"type":"req","id":1,"op":"join.later"}""")).Type());
        }

        await subscribed.Task.Within("the handler's subscribes after the close");
        Assert.False(Topics(server).Exists(alone), "the topic the late subscribe created was left behind");

        // A topic somebody else is subscribed to is theirs: it stays, and still reaches them.
        Assert.Equal(1, server.Server.SubscriberCount("late.shared"));
        Assert.Equal(1, await HistoryTests.Publisher(server).PublishAsync("late.shared", "1"u8.ToArray()));
        Assert.Equal("1", (await staying.ReceiveIndsAsync(1))[0].Raw("data"));
    }

    [Fact]
    public async Task OnConnectedFinishesBeforeTheFirstRequestIsRead()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestServer server = await TestServer.StartAsync(configure: c => c
            .OnConnected(async (connection, _) =>
            {
                await gate.Task;
                connection.Items["ready"] = "yes";
            })
            .MapRequest("ready", request =>
            {
                request.Confirm(request.Connection.Items.TryGetValue("ready", out object? v) ? "\"yes\""u8 : "\"no\""u8);
                return default;
            }));

        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        await client.SendAsync("""{"type":"req","id":1,"op":"ready"}""");
        gate.SetResult();
        JsonElement answer = await client.ReceiveJsonAsync();
        Assert.Equal("\"yes\"", answer.Raw("data"));
    }

    [Fact]
    public async Task IndFromClientReachesOnIndicationWithTopicAndRawData()
    {
        var received = Channel.CreateUnbounded<(string Connection, string Topic, string Data)>();
        await using TestServer server = await TestServer.StartAsync(configure: c => c.OnIndication((connection, topic, data) =>
            received.Writer.TryWrite((connection.Id, topic, Encoding.UTF8.GetString(data.Span)))));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        string id = client.Session.GetProperty("data").GetProperty("id").GetString()!;

        await client.SendAsync("""{"type":"ind","topic":"client.events","data":{"k": [1,"two"]}}""");
        await client.SendAsync("""{"data":7,"future":1,"topic":"client/other:x","type":"ind"}""");
        await client.SendAsync("""{"type":"ind","topic":"client.nodata"}""");

        Assert.Equal((id, "client.events", """{"k": [1,"two"]}"""), await received.Reader.ReadAsync().AsTask().Within("the first ind"));
        Assert.Equal((id, "client/other:x", "7"), await received.Reader.ReadAsync().AsTask().Within("the second ind"));
        Assert.Equal((id, "client.nodata", "null"), await received.Reader.ReadAsync().AsTask().Within("the third ind"));

        // An Ind expects no answer.
        await client.AssertNothingElseArrivesAsync();
    }

    [Fact]
    public async Task ConnectionsListsTheOpenConnections()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient a = await WsClient.ConnectAsync(server.WebSocketUri);
        await using WsClient b = await WsClient.ConnectAsync(server.WebSocketUri);
        string[] expected = [a.Session.GetProperty("data").GetProperty("id").GetString()!, b.Session.GetProperty("data").GetProperty("id").GetString()!];
        Assert.Equal(expected.Order(), server.Server.Connections.Select(c => c.Id).Order());
    }

    private static ConnMsg.Messaging.Topics.TopicRegistry Topics(TestServer server) => server.App.Services.GetRequiredService<ConnMsgApplication>().Topics;
}
