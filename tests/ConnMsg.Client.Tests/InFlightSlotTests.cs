using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using ConnMsg.Client.Tests.Infrastructure;
using static ConnMsg.Client.Tests.Infrastructure.TestClients;

namespace ConnMsg.Client.Tests;

/// <summary>
/// The server's <c>maxInFlight</c> slots: requests beyond it wait in order for a slot and are not sent meanwhile.
/// A scripted peer holds answers back so the test decides when a slot comes free.
/// </summary>
public sealed class InFlightSlotTests
{
    [Fact]
    public async Task AWaiterWhoseTokenFiresGetsNoSlotAndTheNextWaiterGetsTheFreedOne()
    {
        await using var peer = await Peer.StartAsync(maxInFlight: 2);
        await using var client = await ConnMsgClient.ConnectAsync(peer.Uri, Options());
        var first = client.RequestAsync("op", Json("1"));
        var second = client.RequestAsync("op", Json("2"));
        long id1 = (await peer.ReceiveAsync()).Id;
        long id2 = (await peer.ReceiveAsync()).Id;

        using var cts = new CancellationTokenSource();
        var cancelled = client.RequestAsync("op", Json("3"), cts.Token);
        Assert.Equal(0, client.CurrentConnection!.FreeSlots);
        await cts.CancelAsync();
        var error = await Assert.ThrowsAsync<OperationCanceledException>(() => cancelled).Within();
        Assert.Equal(cts.Token, error.CancellationToken);

        var fourth = client.RequestAsync("op", Json("4"));
        peer.Answer(id1);
        Assert.Equal("1", Text(await first.Within()));

        // The slot the answer freed goes to the waiter still waiting, not to the cancelled one.
        var sent = await peer.ReceiveAsync();
        Assert.Equal("4", sent.Data);
        peer.Answer(id2);
        peer.Answer(sent.Id);
        Assert.Equal("2", Text(await second.Within()));
        Assert.Equal("4", Text(await fourth.Within()));
        Assert.Equal(2, client.CurrentConnection!.FreeSlots);
    }

    [Fact]
    public async Task WaitersWhoseTokensFiredDoNotPileUpWhileNoSlotComesFree()
    {
        // A server that stopped answering, and callers that keep giving up: each gives up while waiting for a slot.
        await using var peer = await Peer.StartAsync(maxInFlight: 1);
        await using var client = await ConnMsgClient.ConnectAsync(peer.Uri, Options());
        var held = client.RequestAsync("op", Json("1"));
        long heldId = (await peer.ReceiveAsync()).Id;
        for (int i = 0; i < 1000; i++)
        {
            using var cts = new CancellationTokenSource();
            var givenUp = client.RequestAsync("op", Json("0"), cts.Token);
            await cts.CancelAsync();
            await Assert.ThrowsAsync<OperationCanceledException>(() => givenUp).Within();
        }

        Assert.InRange(client.CurrentConnection!.QueuedSlotWaiters, 0, 130);

        // The one that still waits gets the slot when it comes free.
        var waiting = client.RequestAsync("op", Json("2"));
        peer.Answer(heldId);
        Assert.Equal("1", Text(await held.Within()));
        var sent = await peer.ReceiveAsync();
        Assert.Equal("2", sent.Data);
        peer.Answer(sent.Id);
        Assert.Equal("2", Text(await waiting.Within()));
        Assert.False(peer.HasReceived, "a cancelled waiter's request was sent");
    }

    [Fact]
    public async Task ALoweredMaxInFlightAbsorbsAnswersUntilTheRequestsInFlightFitIt()
    {
        await using var peer = await Peer.StartAsync(maxInFlight: 3);
        await using var client = await ConnMsgClient.ConnectAsync(peer.Uri, Options());
        var requests = Enumerable.Range(1, 3).Select(n => client.RequestAsync("op", Json(n.ToString()))).ToArray();
        var ids = new List<long>();
        for (int i = 0; i < 3; i++)
        {
            ids.Add((await peer.ReceiveAsync()).Id);
        }

        // A new $session lowers the limit to 1 while 3 are in flight; the answer behind it proves it was read.
        peer.Send(Peer.Session(1));
        peer.Answer(ids[0]);
        await requests[0].Within();
        var waiting = client.RequestAsync("op", Json("4"));
        Assert.Equal(0, client.CurrentConnection!.FreeSlots);

        peer.Answer(ids[1]);
        await requests[1].Within();
        // A slot is handed to a waiter under the table's lock, before the answered request completes: the waiter
        // still queued shows none was handed out, with no wait for a send that should not come.
        Assert.Equal(1, client.CurrentConnection!.QueuedSlotWaiters);
        Assert.False(peer.HasReceived, "a request was sent while 2 were in flight under a limit of 1");

        peer.Answer(ids[2]);
        await requests[2].Within();
        var sent = await peer.ReceiveAsync();
        Assert.Equal("4", sent.Data);
        peer.Answer(sent.Id);
        Assert.Equal("4", Text(await waiting.Within()));
        Assert.Equal(1, client.CurrentConnection!.FreeSlots);
    }

    /// <summary>Hands every request it receives to the test and sends what the test queues, in order.</summary>
    private sealed class Peer : IAsyncDisposable
    {
        private readonly ScriptedServer _server;
        private readonly Channel<string> _received;
        private readonly Channel<string> _outbox;
        private readonly ConcurrentDictionary<long, string> _data = new();

        private Peer(ScriptedServer server, Channel<string> received, Channel<string> outbox)
        {
            _server = server;
            _received = received;
            _outbox = outbox;
        }

        public Uri Uri => _server.WebSocketUri;

        public bool HasReceived => _received.Reader.Count > 0;

        public static string Session(int maxInFlight)
            => $$$"""{"type":"ind","topic":"$session","data":{"id":"s","keepAlive":15,"maxMessage":65536,"maxInFlight":{{{maxInFlight}}}}}""";

        public static async Task<Peer> StartAsync(int maxInFlight)
        {
            var received = Channel.CreateUnbounded<string>();
            var outbox = Channel.CreateUnbounded<string>();
            var server = await ScriptedServer.StartAsync(async socket =>
            {
                await ScriptedServer.SendAsync(socket, Session(maxInFlight));
                var sending = Task.Run(async () =>
                {
                    await foreach (string message in outbox.Reader.ReadAllAsync())
                    {
                        await ScriptedServer.SendAsync(socket, message);
                    }
                });
                try
                {
                    while (true)
                    {
                        received.Writer.TryWrite(await ScriptedServer.ReceiveAsync(socket));
                    }
                }
                catch (Exception)
                {
                    // The client closed.
                }

                outbox.Writer.TryComplete();
                await sending;
            });
            return new Peer(server, received, outbox);
        }

        public async Task<(long Id, string Data)> ReceiveAsync()
        {
            using var request = JsonDocument.Parse(await _received.Reader.ReadAsync().AsTask().Within());
            long id = request.RootElement.GetProperty("id").GetInt64();
            string data = request.RootElement.GetProperty("data").GetRawText();
            _data[id] = data;
            return (id, data);
        }

        public void Send(string json) => _outbox.Writer.TryWrite(json);

        /// <summary>Answers request <paramref name="id"/>, echoing its data.</summary>
        public void Answer(long id) => Send($$$"""{"type":"cfm","id":{{{id}}},"data":{{{_data[id]}}}}""");

        public ValueTask DisposeAsync() => _server.DisposeAsync();
    }
}
