using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ConnMsg.Tests.Http;

/// <summary>
/// The handshake's Debug lines (refused, timed out) name the peer, and a server that logs at Information or above pays
/// nothing for that name: a port scan or a misconfigured client can send refusals at a high rate.
/// </summary>
public sealed class RefusalLogTests
{
    private const int HandshakeRefusedEvent = 1001;
    private const int HandshakeTimedOutEvent = 1002;

    public static TheoryData<string, bool> Refusals() => new()
    {
        { "unsupported version", false },
        { "unsupported version", true },
        { "bad upgrade", false },
        { "bad upgrade", true },
        { "timeout", false },
        { "timeout", true },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task ARefusedHandshakeFormatsThePeersAddressOnlyWhenDebugIsEnabled(string refusal, bool debug)
    {
        // The connection's RemoteEndPoint is swapped for one that counts how often it is turned into text, by connection
        // middleware in front of ConnMsg, as TLS sits there: whatever the handler does with the address shows.
        var endPoints = new ConcurrentQueue<CountingEndPoint>();
        var recorder = new ScopedLogRecorder();
        await using TestServer server = await TestServer.StartAsync(
            o => o.HandshakeTimeout = refusal == "timeout" ? TimeSpan.FromMilliseconds(300) : TimeSpan.FromSeconds(10),
            b =>
            {
                b.Services.AddSingleton<ILoggerProvider>(recorder);
                if (debug)
                {
                    b.Services.AddLogging(l => l.AddFilter("ConnMsg", LogLevel.Debug));
                }
            },
            listen: l => l.Use(next => context =>
            {
                var counting = new CountingEndPoint((IPEndPoint)context.RemoteEndPoint!);
                endPoints.Enqueue(counting);
                context.RemoteEndPoint = counting;
                return next(context);
            }));

        // Each refusal is logged before the server answers or closes, so once the client has seen that, the line was
        // either written or skipped.
        int port = server.Port;
        switch (refusal)
        {
            case "unsupported version":
                Assert.Equal(505, (await RawHttp.SendAsync(port, "GET /ws HTTP/1.0\r\nHost: x\r\n\r\n")).Status);
                break;
            case "bad upgrade":
                Assert.Equal(426, (await RawHttp.SendAsync(port, RawHttp.UpgradeRequest(port, version: "8"))).Status);
                break;
            default:
                await SendPartialHeadAndAwaitTheEndAsync(port);
                break;
        }

        CountingEndPoint endPoint = Assert.Single(endPoints);
        int eventId = refusal == "timeout" ? HandshakeTimedOutEvent : HandshakeRefusedEvent;
        if (debug)
        {
            // The control: the counter sees the formatting that a written line does.
            ScopedLogRecorder.Entry entry = await recorder.FirstAsync(eventId).Within("the refusal to be logged", TimeSpan.FromSeconds(5));
            Assert.Contains("127.0.0.1", entry.Message);
            Assert.True(endPoint.Formatted > 0, "a written line formats the peer's address");
        }
        else
        {
            Assert.DoesNotContain(recorder.Entries, e => e.EventId == eventId);
            Assert.Equal(0, endPoint.Formatted);
        }
    }

    private static async Task SendPartialHeadAndAwaitTheEndAsync(int port)
    {
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        NetworkStream stream = tcp.GetStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /ws HTTP/1.1\r\nHost: x\r\n"), cts.Token);
        try
        {
            Assert.Equal(0, await stream.ReadAsync(new byte[1], cts.Token));
        }
        catch (IOException)
        {
            // A reset ends the connection as well.
        }
    }

    /// <summary>An address that counts how often it is turned into text.</summary>
    private sealed class CountingEndPoint(IPEndPoint inner) : EndPoint
    {
        private int _formatted;

        public int Formatted => Volatile.Read(ref _formatted);

        public override AddressFamily AddressFamily => inner.AddressFamily;

        public override string ToString()
        {
            Interlocked.Increment(ref _formatted);
            return inner.ToString();
        }
    }
}
