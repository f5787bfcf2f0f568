using System.Buffers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using ConnMsg.Client.Internal;
using ConnMsg.Client.Tests.Infrastructure;
using static ConnMsg.Client.Tests.Infrastructure.TestClients;

namespace ConnMsg.Client.Tests;

/// <summary>
/// <see cref="ConnMsgClientOptions.MaxPendingSendBytes"/> against a real peer that stops reading its socket (small
/// socket buffers, so the kernel soon takes no more): the client's queue stays bounded, requests wait in line, and
/// every waiting request is either delivered in order or fails the way the client fails requests anyway.
/// </summary>
public sealed class SendBackpressureTests
{
    private const string Session = """{"type":"ind","topic":"$session","data":{"id":"s","keepAlive":15,"maxMessage":1048576,"maxInFlight":100000}}""";
    private const int Limit = 64 * 1024;
    private const int PaddingBytes = 8 * 1024;

    /// <summary>Far more than the limit plus what the small kernel buffers of both ends can hold.</summary>
    private const int Count = 200;

    private static readonly string s_padding = new('p', PaddingBytes);

    [Fact]
    public void TheLimitDefaultsToFourMebibytesAndMustBePositive()
    {
        Assert.Equal(4 * 1024 * 1024, ConnMsgClientOptions.Default.MaxPendingSendBytes);
        Assert.Equal(1, (ConnMsgClientOptions.Default with { MaxPendingSendBytes = 1 }).MaxPendingSendBytes);
        Assert.Throws<ArgumentOutOfRangeException>(() => ConnMsgClientOptions.Default with { MaxPendingSendBytes = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => ConnMsgClientOptions.Default with { MaxPendingSendBytes = -1 });
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WhileThePeerReadsNothingQueuedBytesStayWithinTheLimitAndLaterRequestsWaitUnsent(bool useClientWebSocket)
    {
        using var peer = StalledPeer.Start();
        var (client, socket, _) = await ConnectAsync(peer, useClientWebSocket);
        await using (client)
        using (socket)
        {
            var requests = Enumerable.Range(0, Count).Select(n => Request(client, n)).ToArray();

            Assert.InRange(client.PendingSendBytes, 1, Limit);
            Assert.InRange(client.SendWaiterCount, 1, Count - 1);

            // Nothing is answered, and nothing may slip past the bound while the peer keeps not reading.
            var any = Task.WhenAny(requests);
            Assert.NotSame(any, await Task.WhenAny(any, Task.Delay(300)));
            Assert.InRange(client.PendingSendBytes, 1, Limit);
            Assert.InRange(client.SendWaiterCount, 1, Count - 1);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WhenThePeerResumesReadingEveryWaitingRequestIsDeliveredOnceAndInOrder(bool useClientWebSocket)
    {
        using var peer = StalledPeer.Start();
        var (client, socket, stream) = await ConnectAsync(peer, useClientWebSocket);
        await using (client)
        using (socket)
        {
            var requests = Enumerable.Range(0, Count).Select(n => Request(client, n)).ToArray();
            Assert.True(client.SendWaiterCount > 0);

            var delivered = await ReadRequestsAsync(stream, Count).Within();
            Assert.Equal(Enumerable.Range(0, Count), delivered.Select(r => r.N));
            await AnswerAsync(stream, delivered);

            var answers = await Task.WhenAll(requests).Within();
            Assert.Equal(Enumerable.Range(0, Count), answers);
            Assert.Equal(0, client.SendWaiterCount);
            Assert.Equal(0, client.PendingSendBytes);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ASmallerLaterRequestThatWouldFitDoesNotOvertakeALargerOneWaitingForRoom(bool useClientWebSocket)
    {
        using var peer = StalledPeer.Start();
        var (client, socket, stream) = await ConnectAsync(peer, useClientWebSocket);
        await using (client)
        using (socket)
        {
            // 40 KiB queued (the stalled socket holds its write), 48 KiB more does not fit under 64 KiB, 8 KiB would.
            var first = Request(client, 0, padding: 40 * 1024);
            var large = Request(client, 1, padding: 48 * 1024);
            Assert.Equal(1, client.SendWaiterCount);
            var small = Request(client, 2, padding: 1024);
            Assert.Equal(2, client.SendWaiterCount);

            var delivered = await ReadRequestsAsync(stream, 3).Within();
            Assert.Equal(new[] { 0, 1, 2 }, delivered.Select(r => r.N));
            await AnswerAsync(stream, delivered);
            int[] answers = await Task.WhenAll(first, large, small).Within();
            Assert.Equal([0, 1, 2], answers);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AWaitingRequestWhoseTokenFiresFailsWithOperationCanceledGivesItsSlotBackAndIsNeverSent(bool useClientWebSocket)
    {
        using var peer = StalledPeer.Start();
        var (client, socket, stream) = await ConnectAsync(peer, useClientWebSocket);
        await using (client)
        using (socket)
        {
            var requests = Enumerable.Range(0, Count).Select(n => Request(client, n)).ToList();
            Assert.True(client.SendWaiterCount > 0);
            int freeSlots = client.CurrentConnection!.FreeSlots;

            using var cts = new CancellationTokenSource();
            var cancelled = Request(client, Count, cancellationToken: cts.Token);
            Assert.Equal(freeSlots - 1, client.CurrentConnection!.FreeSlots);

            await cts.CancelAsync();
            var error = await Assert.ThrowsAsync<OperationCanceledException>(() => cancelled).Within();
            Assert.Equal(cts.Token, error.CancellationToken);
            Assert.Equal(freeSlots, client.CurrentConnection!.FreeSlots);

            // A later request still waits behind the others and is delivered in its turn.
            requests.Add(Request(client, Count + 1));
            var delivered = await ReadRequestsAsync(stream, Count + 1).Within();
            Assert.Equal(Enumerable.Range(0, Count).Append(Count + 1), delivered.Select(r => r.N));
            await AnswerAsync(stream, delivered);
            Assert.Equal(Enumerable.Range(0, Count).Append(Count + 1), await Task.WhenAll(requests).Within());
        }
    }

    [Fact]
    public async Task AWaitingRequestThatOutlivesItsTimeoutFailsWithTimeoutExceptionAndIsNeverSent()
    {
        using var peer = StalledPeer.Start();
        var (client, socket, stream) = await ConnectAsync(peer, useClientWebSocket: false);
        await using (client)
        using (socket)
        {
            var requests = Enumerable.Range(0, Count).Select(n => Request(client, n)).ToList();
            int freeSlots = client.CurrentConnection!.FreeSlots;
            var timedOut = Request(client, Count, TimeSpan.FromMilliseconds(200));
            Assert.True(client.SendWaiterCount > 1);

            await Assert.ThrowsAsync<TimeoutException>(() => timedOut).Within();
            Assert.Equal(freeSlots, client.CurrentConnection!.FreeSlots);

            requests.Add(Request(client, Count + 1));
            var delivered = await ReadRequestsAsync(stream, Count + 1).Within();
            Assert.Equal(Enumerable.Range(0, Count).Append(Count + 1), delivered.Select(r => r.N));
            await AnswerAsync(stream, delivered);
            await Task.WhenAll(requests).Within();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ConnectionLossReleasesWaitingRequestsWithConnectionLost(bool useClientWebSocket)
    {
        using var peer = StalledPeer.Start();
        var (client, socket, _) = await ConnectAsync(peer, useClientWebSocket);
        await using (client)
        {
            var transport = client.CurrentConnection!.Transport;
            var requests = Enumerable.Range(0, Count).Select(n => Request(client, n)).ToArray();
            Assert.True(transport.SendWaiterCount > 0);

            // Unread data makes the close a reset: the client sees a dead connection, not a close handshake.
            socket.Close();

            foreach (var request in requests)
            {
                await Assert.ThrowsAsync<ConnMsgConnectionLostException>(() => request).Within();
            }

            Assert.Equal(0, transport.SendWaiterCount);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task MessagesLargerThanTheLimitAreStillSentOneAtATime(bool useClientWebSocket)
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await TestClients.ConnectAsync(gateway, Options() with
        {
            MaxPendingSendBytes = 1024,
            UseClientWebSocket = useClientWebSocket,
        });

        var texts = Enumerable.Range(0, 20).Select(i => new string((char)('a' + i), 16 * 1024)).ToArray();
        var echoed = await Task.WhenAll(texts.Select(t => client.RequestAsync<string>("echo", t))).Within();
        Assert.Equal(texts, echoed);
    }

    [Fact]
    public async Task QueuingUnderTheLimitAllocatesNothing()
    {
        using var peer = StalledPeer.Start();
        var (client, socket, _) = await ConnectAsync(peer, useClientWebSocket: false);
        await using (client)
        using (socket)
        {
            var transport = client.CurrentConnection!.Transport;
            byte[] payload = """{"type":"req","id":1,"op":"x"}"""u8.ToArray();
            var messages = new OutboundMessage[110];
            for (int i = 0; i < messages.Length; i++)
            {
                byte[] buffer = ArrayPool<byte>.Shared.Rent(payload.Length);
                payload.CopyTo(buffer, 0);
                messages[i] = new OutboundMessage(buffer, payload.Length);
            }

            // Corked, so the measured thread only queues (writing belongs to the socket, not to the bound).
            transport.Cork();
            try
            {
                for (int i = 0; i < 10; i++)
                {
                    Assert.Equal(SendOutcome.Queued, transport.TrySend(messages[i]));
                }

                long before = GC.GetAllocatedBytesForCurrentThread();
                int queued = 0;
                for (int i = 10; i < messages.Length; i++)
                {
                    queued += transport.TrySend(messages[i]) == SendOutcome.Queued ? 1 : 0;
                }

                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                Assert.Equal(100, queued);
                Assert.Equal(0, allocated);
            }
            finally
            {
                transport.Uncork();
            }
        }
    }

    private static async Task<(ConnMsgClient Client, Socket Socket, NetworkStream Stream)> ConnectAsync(StalledPeer peer, bool useClientWebSocket)
    {
        var accepted = peer.AcceptAsync(Session);
        var client = await ConnMsgClient.ConnectAsync(peer.WebSocketUri, Options() with
        {
            MaxPendingSendBytes = Limit,
            UseClientWebSocket = useClientWebSocket,
            Reconnect = false,
            KeepAliveInterval = Timeout.InfiniteTimeSpan,
            RequestTimeout = TimeSpan.FromSeconds(60),
            SocketSendBufferSize = 4 * 1024,
        }).Within();
        var (socket, stream) = await accepted.Within();
        return (client, socket, stream);
    }

    /// <summary>A request carrying <paramref name="n"/> and <paramref name="padding"/> bytes of padding (8 KiB); its answer's data is the number the peer echoes.</summary>
    private static async Task<int> Request(ConnMsgClient client, int n, TimeSpan? timeout = null, CancellationToken cancellationToken = default, int padding = PaddingBytes)
    {
        var data = Json($$"""{"n":{{n}},"pad":"{{(padding == PaddingBytes ? s_padding : new string('p', padding))}}"}""");
        var answer = timeout is { } t
            ? client.RequestAsync("x", data, t, cancellationToken)
            : client.RequestAsync("x", data, cancellationToken);
        using var doc = JsonDocument.Parse(await answer);
        return doc.RootElement.GetInt32();
    }

    /// <summary>Reads <paramref name="count"/> request frames (skipping control frames) and returns their ids and numbers in arrival order.</summary>
    private static async Task<List<(long Id, int N)>> ReadRequestsAsync(Stream stream, int count)
    {
        var requests = new List<(long, int)>();
        while (requests.Count < count)
        {
            var (opcode, payload) = await RawWebSocketServer.ReadClientFrameAsync(stream);
            if (opcode != 0x1)
            {
                continue;
            }

            using var doc = JsonDocument.Parse(payload);
            requests.Add((doc.RootElement.GetProperty("id").GetInt64(), doc.RootElement.GetProperty("data").GetProperty("n").GetInt32()));
        }

        return requests;
    }

    private static async Task AnswerAsync(Stream stream, List<(long Id, int N)> requests)
    {
        var frames = new MemoryStream();
        foreach (var (id, n) in requests)
        {
            frames.Write(RawWebSocketServer.Text($$"""{"type":"cfm","id":{{id}},"data":{{n}}}"""));
        }

        await stream.WriteAsync(frames.ToArray());
        await stream.FlushAsync();
    }
}
