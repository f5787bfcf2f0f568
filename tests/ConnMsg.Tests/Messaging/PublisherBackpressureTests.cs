using System.Text;
using System.Text.Json;
using ConnMsg.Diagnostics;
using ConnMsg.Messaging;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;
using ConnMsg.WebSockets;

namespace ConnMsg.Tests.Messaging;

/// <summary>
/// The fan-out flow control. <see cref="IIndPublisher"/> from application code: a publish completes at once while its
/// subscribers keep up, and only after the drains had a turn once one has fallen more than
/// <see cref="ConnMsgOptions.PublisherYieldBytes"/> behind, so a publisher that awaits each publish cannot outrun its
/// subscribers' writes; it never waits for a peer to read. A client publishing with <c>publish</c> requests is held back
/// the same way, at its read loop. Each yield is counted on <c>/metrics</c>.
/// </summary>
public sealed class PublisherBackpressureTests
{
    private const int MaxOutboundBytes = 4 * 1024 * 1024;
    private static readonly string Pad = new('x', 8 * 1024);

    /// <summary>More than an 8 KiB Ind's frame header and envelope add to its data.</summary>
    private const int MaxIndOverhead = 256;

    /// <summary>
    /// The keep-alive of the servers with a stalled subscriber: longer than any run. That subscriber reads nothing, so
    /// it never answers a ping, and the server closes it (1001) once nothing came from it for 2 × KeepAliveInterval,
    /// 30 s after its <c>$subscribe</c> by default (PROTOCOL §2); a CPU-starved run can publish for longer than that,
    /// and its publishes then reach no subscriber.
    /// </summary>
    private static readonly TimeSpan KeepAliveBeyondAnyRun = TimeSpan.FromHours(1);

    [Fact]
    public async Task APublishToSubscribersThatKeepUpCompletesSynchronously()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WsClient subscriber = await WsClient.ConnectAsync(server.WebSocketUri);
        await subscriber.SubscribeAsync("prompt");
        IIndPublisher publisher = HistoryTests.Publisher(server);

        for (int n = 0; n < 20; n++)
        {
            ValueTask<int> publish = publisher.PublishAsync("prompt", Encoding.UTF8.GetBytes($$"""{"n":{{n}}}"""));
            Assert.True(publish.IsCompletedSuccessfully, $"publish {n} did not complete synchronously");
            Assert.Equal(1, await publish);
            Assert.Equal(n.ToString(), (await subscriber.ReceiveIndsAsync(1))[0].GetProperty("data").GetProperty("n").GetRawText());
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task APublishQueuedBehindASubscriberFarBehindCompletesOnlyAfterYieldingAndBeforeThatSubscriberIsCut(bool typed)
    {
        (int firstYield, int firstPending) = await PublishUntilPendingAsync(typed, yieldBytes: 64 * 1024);
        Assert.True(firstYield >= 0, "no publish yielded, though the stalled subscriber's queue kept growing");
        Assert.True(firstPending >= firstYield, $"no publish was seen pending after the first yield (publish {firstYield})");
    }

    [Theory]
    [InlineData(64 * 1024)]
    [InlineData(1024 * 1024)]
    public async Task APublisherYieldsOnlyOnceTheSubscribersQueueHoldsMoreThanPublisherYieldBytes(int yieldBytes)
    {
        // The rule is checked against the subscriber's queue itself, publish by publish (PublishUntilPendingAsync): how
        // much the sockets absorb before the queue starts to grow varies from run to run with the kernel's send buffer.
        (int firstYield, _) = await PublishUntilPendingAsync(typed: false, yieldBytes);
        Assert.True(firstYield >= yieldBytes / (Pad.Length + MaxIndOverhead),
            $"the first yield came at publish {firstYield}, before {yieldBytes} B of Inds had been published");
    }

    [Fact]
    public async Task APublishingClientIsReadNoFurtherUntilTheDrainsRanOnceASubscriberFallsBehind()
    {
        await using TestServer server = await TestServer.StartAsync(o =>
        {
            o.MaxMessageSize = 16 * 1024;
            o.MaxOutboundBytes = MaxOutboundBytes;
            o.PublisherYieldBytes = 64 * 1024;
            o.CloseTimeout = TimeSpan.FromSeconds(15);
            o.KeepAliveInterval = KeepAliveBeyondAnyRun;
        });
        using RawWsClient stalled = await SubscribeStalledAsync(server);
        WebSocketConnection subscriber = Assert.Single(server.Server.Connections).Transport;
        await using WsClient publisher = await WsClient.ConnectAsync(server.WebSocketUri);

        // One publish per read, each answered before the next. The read loop that handled a publish which queued past
        // 64 KiB counts a yield before it reads again, so by the next publish's Cfm the count shows it. The subscriber is
        // cut only at MaxOutboundBytes (4 MiB); how much the sockets absorb first varies, so the queue itself is watched.
        long queuedAfterPrevious = 0;
        for (int n = 0; ; n++)
        {
            await publisher.SendAsync($$"""{"type":"req","id":{{n}},"op":"publish","data":{"topic":"stalled","data":{"n":{{n}},"pad":"{{Pad}}"} } }""");
            JsonElement cfm = await publisher.ReceiveJsonAsync();
            Assert.Equal(n.ToString(), cfm.Raw("id"));
            Assert.Equal(1, cfm.GetProperty("data").GetProperty("subscribers").GetInt32());
            if (server.Server.TransportMetrics.PublisherYields > 0)
            {
                Assert.True(n >= 8, $"the publisher yielded after {n + 1} publishes, before 64 KiB could have queued");
                break;
            }

            Assert.True(queuedAfterPrevious <= 64 * 1024,
                $"publish {n - 1} left {queuedAfterPrevious} B queued for the stalled subscriber, and its publisher was read again without yielding");
            queuedAfterPrevious = subscriber.QueuedBytes;
        }

        // The read loop counts a yield only after it has drained the Cfm of the publish that caused it, so the last
        // publish's yield may still be on its way: once it is, /metrics reports what the counter holds.
        long reported = -1;
        await Eventually.TrueAsync(() =>
        {
            reported = PublisherYieldsAsync(server).GetAwaiter().GetResult();
            return reported == server.Server.TransportMetrics.PublisherYields;
        }, "/metrics to report the yields counted");
        Assert.True(reported > 0);
    }

    /// <summary>
    /// A subscriber to <c>stalled</c> that reads nothing after its subscribe, with a small receive buffer so the sockets
    /// fill soon. Its server must keep it alive (<see cref="KeepAliveBeyondAnyRun"/>).
    /// </summary>
    private static async Task<RawWsClient> SubscribeStalledAsync(TestServer server)
    {
        RawWsClient stalled = await RawWsClient.ConnectAsync(server.WebSocketUri, receiveBufferSize: 4096);
        await stalled.SendTextAsync("""{"type":"req","id":1,"op":"$subscribe","data":{"topic":"stalled"}}""");
        await Eventually.TrueAsync(() => server.Server.SubscriberCount("stalled") == 1, "the subscription is live");
        return stalled;
    }

    private static async Task<long> PublisherYieldsAsync(TestServer server)
    {
        (_, string metrics) = await HttpGet.GetAsync(server.HttpBase, "metrics");
        const string Name = "connmsg_publisher_yields_total ";
        int at = metrics.IndexOf("\n" + Name, StringComparison.Ordinal);
        Assert.True(at >= 0, "/metrics has no " + Name.Trim());
        int start = at + 1 + Name.Length;
        return long.Parse(metrics.AsSpan(start, metrics.IndexOf('\n', start) - start));
    }

    /// <summary>
    /// Publishes ~8 KiB Inds to a subscriber that reads nothing until a publish does not complete at once. Until the first
    /// yield it checks, publish by publish, that the publisher is held back exactly when the subscriber's queue passed
    /// <paramref name="yieldBytes"/>. Returns the numbers of the first publish that yielded (by the yield counter) and of
    /// the first seen pending, or -1s when none did. Every publish must reach the subscriber: it is cut only at
    /// MaxOutboundBytes.
    /// </summary>
    private static async Task<(int FirstYield, int FirstPending)> PublishUntilPendingAsync(bool typed, long yieldBytes)
    {
        await using TestServer server = await TestServer.StartAsync(o =>
        {
            o.MaxOutboundBytes = MaxOutboundBytes;
            o.PublisherYieldBytes = yieldBytes;
            o.CloseTimeout = TimeSpan.FromSeconds(15);
            o.KeepAliveInterval = KeepAliveBeyondAnyRun;
        });
        using RawWsClient stalled = await SubscribeStalledAsync(server);
        WebSocketConnection subscriber = Assert.Single(server.Server.Connections).Transport;
        TransportMetrics metrics = server.Server.TransportMetrics;
        IIndPublisher publisher = HistoryTests.Publisher(server);

        // Once the sockets are full the stalled subscriber's drain waits in a flush, and what is published queues behind it.
        // A publish that yields completes once its continuation has run: held until the test has looked, or a free thread
        // (of the pool, or of xunit's context) could run it first, and a starved test would never see a publish pending.
        var held = new HeldPosts();
        int firstYield = -1;
        for (int n = 0; n < 10_000; n++)
        {
            long queuedBefore = subscriber.QueuedBytes;
            long yieldsBefore = metrics.PublisherYields;
            ValueTask<int> publish = held.Call(() => typed
                ? publisher.PublishAsync("stalled", new AddResult(n, Pad), MessagingTestJsonContext.Default.AddResult)
                : publisher.PublishAsync("stalled", Encoding.UTF8.GetBytes($$"""{"n":{{n}},"pad":"{{Pad}}"}""")));
            // Read before the held continuation runs (a yielded publish lets the drains run). Only this publisher adds to
            // the queue, and the drain only takes from it, so the queue the publish was checked against lies between these
            // two readings.
            bool pending = !publish.IsCompleted;
            long queuedAfter = subscriber.QueuedBytes;
            Assert.Equal(pending, held.HasPosted); // a publish waits for nothing but its yield
            held.RunPosted();
            Assert.True(await publish == 1, $"publish {n} no longer reached the stalled subscriber: it was cut (first yield: publish {firstYield})");
            bool yielded = metrics.PublisherYields > yieldsBefore;

            if (firstYield < 0)
            {
                if (yielded)
                {
                    Assert.True(queuedBefore + Pad.Length + MaxIndOverhead > yieldBytes,
                        $"publish {n} yielded, though only {queuedBefore} B were queued before its Ind (threshold {yieldBytes} B)");
                    firstYield = n;
                }
                else
                {
                    Assert.True(queuedAfter <= yieldBytes, $"publish {n} left {queuedAfter} B queued, more than {yieldBytes} B, and did not yield");
                }
            }

            if (pending)
            {
                Assert.True(yielded, $"publish {n} returned pending but no yield was counted for it");
                return (firstYield, n);
            }
        }

        return (firstYield, -1);
    }
}
