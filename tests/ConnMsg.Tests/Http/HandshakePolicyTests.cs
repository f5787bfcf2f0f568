using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using ConnMsg.Http;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ConnMsg.Tests.Http;

/// <summary>PROTOCOL.md §7 policies that need their own server: allowed origins, the application's handshake hook, the handshake deadline.</summary>
[Collection(nameof(ConnMsg.Tests.Transport.TimingSensitive))]
public class HandshakePolicyTests
{
    [Fact]
    public async Task OriginOutsideAllowedOriginsGets403()
    {
        await using TestServer server = await TestServer.StartAsync(options: o => o.AllowedOrigins.Add("https://app.example"));
        RawHttpResponse refused = await RawHttp.SendAsync(server.Port, RawHttp.UpgradeRequest(server.Port, origin: "https://evil.example"));
        RawHttpResponse allowed = await RawHttp.SendAsync(server.Port, RawHttp.UpgradeRequest(server.Port, origin: "https://APP.example"));
        RawHttpResponse noOrigin = await RawHttp.SendAsync(server.Port, RawHttp.UpgradeRequest(server.Port));
        Assert.Equal(403, refused.Status);
        Assert.Equal(101, allowed.Status);
        Assert.Equal(101, noOrigin.Status);
    }

    [Fact]
    public async Task HandshakeHookRefusingWithUnauthorizedGets401AndForbiddenGets403()
    {
        await using TestServer server = await TestServer.StartAsync(configure: b => b.OnHandshake((head, _) =>
            new ValueTask<HandshakeVerdict>(head.GetHeader("Authorization") switch
            {
                "Bearer good" => HandshakeVerdict.Accept,
                "Bearer banned" => HandshakeVerdict.Forbidden("banned"),
                _ => HandshakeVerdict.Unauthorized(),
            })));
        int port = server.Port;
        RawHttpResponse none = await RawHttp.SendAsync(port, RawHttp.UpgradeRequest(port));
        RawHttpResponse banned = await RawHttp.SendAsync(port, RawHttp.UpgradeRequest(port, extra: "Authorization: Bearer banned\r\n"));
        RawHttpResponse good = await RawHttp.SendAsync(port, RawHttp.UpgradeRequest(port, extra: "Authorization: Bearer good\r\n"));
        Assert.Equal(401, none.Status);
        Assert.Equal(403, banned.Status);
        Assert.Equal("banned", banned.Body.Trim());
        Assert.Equal(101, good.Status);
    }

    [Fact]
    public async Task HandshakeHookThatThrowsOrRefusesAContinuationGets500AndTheNextHandshakeIsServed()
    {
        await using TestServer server = await TestServer.StartAsync(configure: b => b.OnHandshake((head, _) => head.GetHeader("Authorization") switch
        {
            "Bearer throws" => throw new InvalidOperationException("the policy store is down"),
            "Bearer broken" => ConnMsg.Tests.Messaging.Support.RefusingTaskSource<HandshakeVerdict>.TaskOfT,
            _ => new ValueTask<HandshakeVerdict>(HandshakeVerdict.Accept),
        }));
        int port = server.Port;
        RawHttpResponse throws = await RawHttp.SendAsync(port, RawHttp.UpgradeRequest(port, extra: "Authorization: Bearer throws\r\n"));
        RawHttpResponse broken = await RawHttp.SendAsync(port, RawHttp.UpgradeRequest(port, extra: "Authorization: Bearer broken\r\n"));
        RawHttpResponse good = await RawHttp.SendAsync(port, RawHttp.UpgradeRequest(port, extra: "Authorization: Bearer good\r\n"));
        Assert.Equal(500, throws.Status);
        Assert.DoesNotContain("policy store", throws.Body);
        Assert.Equal(500, broken.Status);
        Assert.Equal(101, good.Status);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task HandshakeHookThatDoesNotDecideWithinTheHandshakeTimeoutGets503(bool hookHonoursItsToken)
    {
        await using TestServer server = await TestServer.StartAsync(o => o.HandshakeTimeout = TimeSpan.FromMilliseconds(500), b => b.OnHandshake(async (_, ct) =>
        {
            // A policy store that never answers: one hook gives up when its token says so, the other not even then.
            await (hookHonoursItsToken ? Task.Delay(Timeout.Infinite, ct) : new TaskCompletionSource().Task);
            return HandshakeVerdict.Accept;
        }));
        var clock = Stopwatch.StartNew();
        RawHttpResponse r = await RawHttp.SendAsync(server.Port, RawHttp.UpgradeRequest(server.Port));
        clock.Stop();
        Assert.Equal(503, r.Status);
        Assert.Null(r.Header("Sec-WebSocket-Accept"));
        Assert.InRange(clock.ElapsedMilliseconds, 400, 4000);
        (_, string metrics) = await HttpGet.GetAsync(server.HttpBase, "metrics");
        Assert.Contains("connmsg_handshakes_refused_total{reason=\"hook_timeout\"} 1\n", metrics);
    }

    [Fact]
    public async Task HandshakeHookThatFailsAfterItsDeadlineIsLoggedAndItsFailureNeverGoesUnobserved()
    {
        const int LateHookFailureEvent = 1010;
        var recorder = new ScopedLogRecorder();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var unobserved = new List<Exception>();
        EventHandler<UnobservedTaskExceptionEventArgs> watch = (_, e) =>
        {
            if (e.Exception.InnerExceptions.Any(x => x.Message == "the policy store failed late"))
            {
                lock (unobserved)
                {
                    unobserved.Add(e.Exception);
                }
            }
        };
        TaskScheduler.UnobservedTaskException += watch;
        try
        {
            await using TestServer server = await TestServer.StartAsync(o => o.HandshakeTimeout = TimeSpan.FromMilliseconds(300), b =>
            {
                b.Services.AddSingleton<ILoggerProvider>(recorder);
                b.OnHandshake(async (_, _) =>
                {
                    // Ignores its token: still deciding when the client has been told 503, then fails.
                    await release.Task;
                    throw new InvalidOperationException("the policy store failed late");
                });
            });

            RawHttpResponse r = await RawHttp.SendAsync(server.Port, RawHttp.UpgradeRequest(server.Port));
            Assert.Equal(503, r.Status);
            release.SetResult();

            ScopedLogRecorder.Entry entry = await recorder.FirstAsync(LateHookFailureEvent).Within("the late failure of the hook to be logged", TimeSpan.FromSeconds(5));
            Assert.Equal("the policy store failed late", entry.Exception?.Message);
            Assert.Contains("127.0.0.1", entry.Message);

            // Had nothing observed it, the faulted hook task would reach UnobservedTaskException once collected.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            lock (unobserved)
            {
                Assert.Empty(unobserved);
            }
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= watch;
        }
    }

    [Fact]
    public async Task HandshakeHookTokenFiresWhenTheClientLeaves()
    {
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var canceled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The deadline is far away: only the client's departure can fire the token within the test's patience.
        await using TestServer server = await TestServer.StartAsync(o => o.HandshakeTimeout = TimeSpan.FromSeconds(60), b => b.OnHandshake(async (_, ct) =>
        {
            using (ct.Register(() => canceled.TrySetResult()))
            {
                asked.TrySetResult();
                await canceled.Task;
            }

            return HandshakeVerdict.Accept;
        }));
        using (var tcp = new TcpClient { NoDelay = true })
        {
            await tcp.ConnectAsync(System.Net.IPAddress.Loopback, server.Port);
            await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes(RawHttp.UpgradeRequest(server.Port)));
            await asked.Task.Within("the hook to be asked");
        } // FIN while the hook deliberates

        await canceled.Task.Within("the hook's token to fire once the client has left");
        await Eventually.TrueAsync(() => Metrics(server).Contains("connmsg_handshakes_abandoned_total 1\n"), "the departure to be counted as an abandoned handshake");
        Assert.DoesNotContain("connmsg_handshakes_refused_total{", Metrics(server));
    }

    public static TheoryData<string, string, bool> Departures => new()
    {
        { "connects and closes (a TCP health check)", "", false },
        { "sends half a request and closes", "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: webs", false },
        { "sends half a request and resets", "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: webs", true },
        { "connects and resets (a port scan)", "", true },
    };

    [Theory]
    [MemberData(nameof(Departures))]
    public async Task ClientThatLeavesBeforeItsRequestEndsIsCountedAsAbandonedNotAsATimeout(string name, string sent, bool reset)
    {
        // The deadline is far away: nothing in this test can time out.
        await using TestServer server = await TestServer.StartAsync(options: o => o.HandshakeTimeout = TimeSpan.FromSeconds(60));
        using (var tcp = new TcpClient { NoDelay = true })
        {
            await tcp.ConnectAsync(System.Net.IPAddress.Loopback, server.Port);
            if (sent.Length > 0)
            {
                await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes(sent));
            }

            if (reset)
            {
                tcp.Client.LingerState = new LingerOption(true, 0);
            }
        }

        string metrics = "";
        await Eventually.TrueAsync(() => (metrics = Metrics(server)).Contains("connmsg_handshakes_abandoned_total 1\n"), $"{name}: the departure to be counted");
        Assert.DoesNotContain("connmsg_handshakes_refused_total{", metrics);
    }

    [Fact]
    public async Task ClientThatStaysSilentIsStillCountedAsATimeout()
    {
        await using TestServer server = await TestServer.StartAsync(options: o => o.HandshakeTimeout = TimeSpan.FromMilliseconds(300));
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, server.Port);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(8));
        try
        {
            Assert.Equal(0, await tcp.GetStream().ReadAsync(new byte[16], cts.Token)); // the server drops it at the deadline
        }
        catch (IOException)
        {
        }

        string metrics = "";
        await Eventually.TrueAsync(() => (metrics = Metrics(server)).Contains("connmsg_handshakes_refused_total{reason=\"timeout\"} 1\n"), "the timeout to be counted");
        Assert.Contains("connmsg_handshakes_abandoned_total 0\n", metrics);
    }

    private static string Metrics(TestServer server) => HttpGet.GetAsync(server.HttpBase, "metrics").GetAwaiter().GetResult().Body;

    [Fact]
    public async Task HandshakeHookIsNotAskedAboutAnInvalidUpgrade()
    {
        int calls = 0;
        await using TestServer server = await TestServer.StartAsync(configure: b => b.OnHandshake((_, _) =>
        {
            Interlocked.Increment(ref calls);
            return new ValueTask<HandshakeVerdict>(HandshakeVerdict.Accept);
        }));
        RawHttpResponse r = await RawHttp.SendAsync(server.Port, RawHttp.UpgradeRequest(server.Port, key: null));
        Assert.Equal(400, r.Status);
        Assert.Equal(0, Volatile.Read(ref calls));
    }

    [Theory]
    [InlineData("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: webs")]
    [InlineData("")]
    public async Task ClientThatSendsHalfARequestIsDroppedAfterTheHandshakeTimeout(string half)
    {
        await using TestServer server = await TestServer.StartAsync(options: o => o.HandshakeTimeout = TimeSpan.FromMilliseconds(300));
        using var tcp = new TcpClient { NoDelay = true };
        // The server's deadline starts when it accepts, so the clock starts before the connect: started after it, a test
        // thread delayed past the deadline (a busy pool in a parallel run) saw the drop "after 1 ms".
        var clock = Stopwatch.StartNew();
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, server.Port);
        await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes(half));

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(8));
        var buffer = new byte[256];
        int n;
        try
        {
            n = await tcp.GetStream().ReadAsync(buffer, cts.Token);
        }
        catch (IOException)
        {
            n = 0; // a reset is as good as EOF here
        }

        clock.Stop();
        Assert.Equal(0, n); // nothing is answered to a request that never finished: the socket just ends
        Assert.InRange(clock.ElapsedMilliseconds, 250, 5000);
    }

    [Fact]
    public async Task ABodyThatDoesNotArriveIsWaitedForOnlyUntilTheHandshakeTimeout()
    {
        await using TestServer server = await TestServer.StartAsync(options: o => o.HandshakeTimeout = TimeSpan.FromMilliseconds(500));
        using var tcp = new TcpClient { NoDelay = true };
        var clock = Stopwatch.StartNew();
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, server.Port);
        NetworkStream stream = tcp.GetStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(8));
        await stream.WriteAsync("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf!"u8.ToArray(), cts.Token);

        RawHttpResponse r = await RawHttp.ReadResponseAsync(stream, cts.Token);
        Assert.Equal(404, r.Status); // answered at once; the rest of the body is then waited for, within the time limit
        Assert.Equal(0, await stream.ReadAsync(new byte[1], cts.Token));
        clock.Stop();
        Assert.InRange(clock.ElapsedMilliseconds, 400, 5000);
    }

    [Fact]
    public async Task ClientThatCompletesItsRequestInTimeIsUpgradedDespiteAShortHandshakeTimeout()
    {
        await using TestServer server = await TestServer.StartAsync(options: o => o.HandshakeTimeout = TimeSpan.FromMilliseconds(300));
        RawHttpResponse r = await RawHttp.SendAsync(server.Port, RawHttp.UpgradeRequest(server.Port));
        Assert.Equal(101, r.Status);
    }

    [Fact]
    public async Task AClientThatDoesNotReadItsResponseIsDroppedAfterTheHandshakeTimeout()
    {
        // 64 MiB is far more than the loopback socket buffers hold, so the server's write waits on the client.
        byte[] body = new byte[64 * 1024 * 1024];
        // The time limit also covers writing the 64 MiB: 300 ms could pass on a loaded machine before a byte was sent.
        await using TestServer server = await TestServer.StartAsync(o => o.HandshakeTimeout = TimeSpan.FromSeconds(1),
            c => c.MapStatic("/big", "application/octet-stream", body));
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, server.WebSocketUri.Port);
        System.Net.Sockets.NetworkStream stream = tcp.GetStream();
        await stream.WriteAsync("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());

        // Read at a trickle (all of it would take about 10 s): the server gives up long before and drops the connection;
        // what still arrives is what the kernel had buffered.
        long received = 0;
        bool reset = false;
        var chunk = new byte[64 * 1024];
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            int n;
            while ((n = await stream.ReadAsync(chunk, patience.Token)) > 0)
            {
                received += n;
                await Task.Delay(10, patience.Token);
            }
        }
        catch (IOException)
        {
            reset = true;
        }

        Assert.InRange(received, 1, body.Length / 2);
        if (Environment.GetEnvironmentVariable("CONNMSG_TEST_TRANSPORT") is "connmsg")
        {
            // ConnMsg's transport writes straight into the kernel, whose buffers held 2.8 MB of this response when an
            // abort ended with a FIN; a reset gives the client nothing beyond what it had received before the abort.
            Assert.True(reset, $"the abort ended with a FIN after {received} bytes instead of a reset");
        }
    }
}
