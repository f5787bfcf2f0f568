using System.Net;
using System.Net.WebSockets;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;

namespace ConnMsg.Tests.Http;

/// <summary>
/// PROTOCOL.md §6 and §7 while the server drains (graceful shutdown begun, connections still open): the port still
/// answers, a new upgrade is refused with 503 and counted as <c>draining</c>, and <c>/healthz</c> answers 503.
/// </summary>
public sealed class DrainingHandshakeTests
{
    [Fact]
    public async Task AnUpgradeWhileTheServerDrainsGets503AndIsCountedAndLoggedAsDraining()
    {
        await using DrainingServer draining = await DrainingServer.StartAsync();
        int port = draining.Probe.Server.Port;

        RawHttpResponse r = await RawHttp.SendAsync(port, RawHttp.UpgradeRequest(port));
        Assert.Equal(503, r.Status);
        Assert.Equal("close", r.Header("Connection"));
        Assert.Null(r.Header("Sec-WebSocket-Accept"));
        Assert.Equal("server is shutting down", r.Body.TrimEnd('\n'));
        await draining.Probe.AssertOneRefusalAsync(503, "draining");
    }

    [Fact]
    public async Task AClientWebSocketConnectingWhileTheServerDrainsIsRefusedWith503()
    {
        await using DrainingServer draining = await DrainingServer.StartAsync();

        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("connmsg.v1");
        socket.Options.CollectHttpResponseDetails = true;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAnyAsync<WebSocketException>(() => socket.ConnectAsync(draining.Probe.Server.WebSocketUri, cts.Token));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, socket.HttpStatusCode);
    }

    [Fact]
    public async Task HealthzAnswers503WhileTheServerDrainsAndIsNoRefusal()
    {
        await using DrainingServer draining = await DrainingServer.StartAsync();

        (HttpStatusCode status, string body) = await HttpGet.GetAsync(draining.Probe.Server.HttpBase, "healthz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("draining", body.TrimEnd('\n'));
        // An answer about the server, not a handshake turned away.
        Assert.DoesNotContain("connmsg_handshakes_refused_total{", (await HttpGet.GetAsync(draining.Probe.Server.HttpBase, "metrics")).Body);
    }

    /// <summary>
    /// A server held in its drain for as long as the test runs: one request stays in flight, so the drain cannot end
    /// before its timeout, which is longer than any test. Disposing lets the request finish and waits for the stop.
    /// </summary>
    private sealed class DrainingServer : IAsyncDisposable
    {
        private readonly TaskCompletionSource _release;
        private readonly WsClient _client;
        private readonly Task _stopping;

        private DrainingServer(RefusalProbe probe, TaskCompletionSource release, WsClient client, Task stopping)
        {
            Probe = probe;
            _release = release;
            _client = client;
            _stopping = stopping;
        }

        public RefusalProbe Probe { get; }

        public static async Task<DrainingServer> StartAsync()
        {
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            RefusalProbe probe = await RefusalProbe.StartAsync(
                o => o.DrainTimeout = TimeSpan.FromSeconds(30),
                c => c.MapRequest("held", async request =>
                {
                    await release.Task;
                    request.Confirm();
                }));
            WsClient client = await WsClient.ConnectAsync(probe.Server.WebSocketUri);
            await client.SendAsync("""{"type":"req","id":1,"op":"held"}""");
            await Eventually.TrueAsync(() => probe.Server.Server.MessagingMetrics.InFlight == 1, "the request is in flight");

            Task stopping = probe.Server.App.StopAsync();
            await Eventually.TrueAsync(() => probe.Server.Server.IsDraining, "the server is draining", TimeSpan.FromSeconds(5));
            return new DrainingServer(probe, release, client, stopping);
        }

        public async ValueTask DisposeAsync()
        {
            _release.TrySetResult();
            try
            {
                // The held request's answer, then the drain's close, answered so that the stop need not wait out
                // CloseTimeout for it.
                Assert.Equal("cfm", (await _client.ReceiveJsonAsync()).Type());
                Assert.Equal(1001, await _client.ReceiveCloseAndReplyAsync());
                await _stopping.Within("the server to stop", TimeSpan.FromSeconds(20));
            }
            finally
            {
                await _client.DisposeAsync();
                await Probe.DisposeAsync();
            }
        }
    }
}
