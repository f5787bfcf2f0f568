using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using ConnMsg.Client.Tests.Infrastructure;
using static ConnMsg.Client.Tests.Infrastructure.TestClients;

namespace ConnMsg.Client.Tests;

/// <summary>
/// The client's own RFC 6455 transport against real servers: the gateway for traffic, a scripted ASP.NET Core peer
/// (the BCL's server-side WebSocket) for what a correct gateway never sends.
/// </summary>
public sealed class SocketTransportTests
{
    private const string Session = """{"type":"ind","topic":"$session","data":{"id":"s","keepAlive":15,"maxMessage":65536,"maxInFlight":256}}""";

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task ConcurrentRequestsAreAnsweredOnEitherTransportAndContinuationMode(bool useClientWebSocket, bool asynchronousContinuations)
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway, Options() with
        {
            UseClientWebSocket = useClientWebSocket,
            RunContinuationsAsynchronously = asynchronousContinuations,
        });
        Assert.Equal(useClientWebSocket ? typeof(Internal.ClientWebSocketTransport) : typeof(Internal.SocketTransport), client.TransportType);

        // Far more than maxInFlight, with sizes across the 7/16-bit length boundaries of a frame.
        var requests = Enumerable.Range(0, 1000).Select(async i =>
        {
            string text = new('x', i % 300);
            string echoed = (await client.RequestAsync<string>("echo", text))!;
            return echoed == text;
        }).ToArray();

        Assert.All(await Task.WhenAll(requests).Within(), Assert.True);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WithAsynchronousContinuationsCodeThatBlocksOnAnotherRequestDoesNotStallTheConnection(bool useClientWebSocket)
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway, Options() with
        {
            UseClientWebSocket = useClientWebSocket,
            RunContinuationsAsynchronously = true,
        });

        string inner = await Task.Run(async () =>
        {
            await client.RequestAsync<string>("echo", "outer");

            // Sync-over-async right where the first answer resumed us: the receive loop must be free to read the
            // second answer (with inline continuations this would wait for the request timeout).
#pragma warning disable xUnit1031 // blocking on purpose
            return client.RequestAsync<string>("echo", "inner").GetAwaiter().GetResult()!;
#pragma warning restore xUnit1031
        }).Within();

        Assert.Equal("inner", inner);
    }

    [Fact]
    public async Task DefaultsUseTheOwnTransportAndConfigureWebSocketFallsBackToClientWebSocket()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using (var fast = await ConnectAsync(gateway))
        {
            Assert.Equal(typeof(Internal.SocketTransport), fast.TransportType);
        }

        await using (var forced = await ConnectAsync(gateway, Options() with { UseClientWebSocket = true }))
        {
            Assert.Equal(typeof(Internal.ClientWebSocketTransport), forced.TransportType);
        }

        var configured = Options() with { ConfigureWebSocket = o => o.SetRequestHeader("X-Test", "1") };
        await using (var compatible = await ConnectAsync(gateway, configured))
        {
            Assert.Equal(typeof(Internal.ClientWebSocketTransport), compatible.TransportType);
            Assert.Equal("\"hi\"", Text(await compatible.RequestAsync("echo", Json("\"hi\"")).Within()));
        }
    }

    [Fact]
    public async Task WssWorksThroughTheOwnTransport()
    {
        using var certificate = SelfSigned("localhost");
        await using var server = await StartTlsEchoServerAsync(certificate);
        string thumbprint = certificate.GetCertHashString();
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options() with
        {
            RemoteCertificateValidation = (_, cert, _, _) => cert?.GetCertHashString() == thumbprint,
        });

        Assert.Equal(typeof(Internal.SocketTransport), client.TransportType);
        Assert.Equal("s", client.Session?.Id);
        string text = new('t', 40_000); // several TLS records each way
        Assert.Equal(text, await client.RequestAsync<string>("echo", text).Within());
        var many = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => client.RequestAsync<string>("echo", i.ToString()))).Within();
        Assert.Equal(Enumerable.Range(0, 100).Select(i => i.ToString()), many);
    }

    [Fact]
    public async Task WssRefusesAnUntrustedCertificateWithWebSocketException()
    {
        using var certificate = SelfSigned("localhost");
        await using var server = await StartTlsEchoServerAsync(certificate);
        await using var client = new ConnMsgClient(server.WebSocketUri, Options());

        await Assert.ThrowsAsync<WebSocketException>(() => client.ConnectAsync()).Within();
    }

    /// <summary>A TLS peer that answers every request with a cfm echoing its data.</summary>
    private static Task<ScriptedServer> StartTlsEchoServerAsync(X509Certificate2 certificate) => ScriptedServer.StartAsync(async (socket, _) =>
    {
        await ScriptedServer.SendAsync(socket, Session);
        try
        {
            while (true)
            {
                using var request = JsonDocument.Parse(await ScriptedServer.ReceiveAsync(socket));
                string id = request.RootElement.GetProperty("id").GetRawText();
                string data = request.RootElement.GetProperty("data").GetRawText();
                await ScriptedServer.SendAsync(socket, $$"""{"type":"cfm","id":{{id}},"data":{{data}}}""");
            }
        }
        catch (WebSocketException)
        {
            // The client closed.
        }
    }, new Microsoft.AspNetCore.Builder.WebSocketOptions(), certificate);

    [Fact]
    public async Task LargeRequestAndAnswerNeedA64BitFrameLength()
    {
        await using var gateway = await TestGateway.StartAsync("--ConnMsg:MaxMessageSize=200000");
        await using var client = await ConnectAsync(gateway, Options() with { MaxMessageSize = 200_000 });

        string text = new('y', 70_000);
        Assert.Equal(text, await client.RequestAsync<string>("echo", text).Within());
    }

    [Fact]
    public async Task FragmentedTextMessageFromTheServerIsReassembled()
    {
        await using var server = await ScriptedServer.StartAsync(async socket =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            using var request = JsonDocument.Parse(await ScriptedServer.ReceiveAsync(socket));
            string id = request.RootElement.GetProperty("id").GetRawText();
            byte[] answer = Encoding.UTF8.GetBytes($$"""{"type":"cfm","id":{{id}},"data":"héllo, fragmented wörld"}""");

            // Split inside a two-byte UTF-8 sequence on purpose: only the whole message must be valid.
            int first = Array.IndexOf(answer, (byte)0xC3) + 1;
            await socket.SendAsync(answer.AsMemory(0, first), WebSocketMessageType.Text, false, CancellationToken.None);
            await socket.SendAsync(answer.AsMemory(first, 10), WebSocketMessageType.Text, false, CancellationToken.None);
            await socket.SendAsync(answer.AsMemory(first + 10), WebSocketMessageType.Text, true, CancellationToken.None);
            await ScriptedServer.ReceiveAsync(socket).ContinueWith(_ => { });
        });
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options());

        Assert.Equal("héllo, fragmented wörld", await client.RequestAsync<string>("anything", (object?)null).Within());
    }

    [Fact]
    public async Task InvalidUtf8FromTheServerClosesWith1007()
        => Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, await SendBadMessageAndReadCloseAsync(
            socket => socket.SendAsync(new byte[] { (byte)'"', 0xFF, 0xFE, (byte)'"' }, WebSocketMessageType.Text, true, CancellationToken.None)));

    [Fact]
    public async Task BinaryMessageFromTheServerClosesWith1003()
        => Assert.Equal(WebSocketCloseStatus.InvalidMessageType, await SendBadMessageAndReadCloseAsync(
            socket => socket.SendAsync(new byte[] { 1, 2, 3 }, WebSocketMessageType.Binary, true, CancellationToken.None)));

    [Fact]
    public async Task MessageOverMaxIncomingMessageSizeClosesWith1009()
        => Assert.Equal(WebSocketCloseStatus.MessageTooBig, await SendBadMessageAndReadCloseAsync(
            socket => ScriptedServer.SendAsync(socket, $$"""{"type":"ind","topic":"t","data":"{{new string('z', 5000)}}"}"""),
            Options() with { MaxIncomingMessageSize = 4096 }));

    [Fact]
    public async Task ServerCloseFailsInFlightRequestsWithItsCodeAndReason()
    {
        await using var server = await ScriptedServer.StartAsync(async socket =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            await ScriptedServer.ReceiveAsync(socket);
            await socket.CloseOutputAsync(WebSocketCloseStatus.EndpointUnavailable, "going away", CancellationToken.None);
        });
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options() with { Reconnect = false });

        var e = await Assert.ThrowsAsync<ConnMsgConnectionLostException>(() => client.RequestAsync<string>("anything", (object?)null)).Within();
        Assert.Contains("1001", e.InnerException?.Message ?? e.Message);
        Assert.Contains("going away", e.InnerException?.Message ?? e.Message);
    }

    [Fact]
    public async Task ServerPingsAreAnsweredWithPongsSoTheServerKeepsTheConnection()
    {
        await using var server = await ScriptedServer.StartAsync(async (socket, _) =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            using var request = JsonDocument.Parse(await ScriptedServer.ReceiveAsync(socket));
            string id = request.RootElement.GetProperty("id").GetRawText();

            // The observation window: the server pings every 50 ms and aborts the connection if a pong is 100 ms late
            // (it sees pongs only while a receive is pending, so one is).
            var receiving = ScriptedServer.ReceiveAsync(socket);
            await Task.WhenAny(receiving, Task.Delay(TimeSpan.FromMilliseconds(600)));
            await ScriptedServer.SendAsync(socket, $$"""{"type":"cfm","id":{{id}},"data":"still connected"}""");
            await receiving.ContinueWith(_ => { });
        }, new Microsoft.AspNetCore.Builder.WebSocketOptions { KeepAliveInterval = TimeSpan.FromMilliseconds(50), KeepAliveTimeout = TimeSpan.FromMilliseconds(100) });
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options() with { Reconnect = false, KeepAliveInterval = Timeout.InfiniteTimeSpan });

        Assert.Equal("still connected", await client.RequestAsync<string>("anything", (object?)null).Within());
    }

    [Fact]
    public async Task KeepAliveTimeoutDropsAConnectionWhosePeerNeverAnswersPings()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async socket =>
        {
            await ScriptedServer.SendAsync(socket, Session);

            // Never reads, so the client's pings are never answered.
            await release.Task;
        });
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var client = new ConnMsgClient(server.WebSocketUri, Options() with
        {
            Reconnect = false,
            KeepAliveInterval = TimeSpan.FromMilliseconds(50),
            KeepAliveTimeout = TimeSpan.FromMilliseconds(100),
        });
        await using (client)
        {
            client.StateChanged += (_, e) =>
            {
                if (e.Current == ConnMsgConnectionState.Closed)
                {
                    closed.TrySetResult(e.Error);
                }
            };
            await client.ConnectAsync().Within();

            var error = await closed.Task.Within();
            Assert.Contains("keep-alive", error?.InnerException?.Message ?? error?.Message);
        }

        release.SetResult();
    }

    [Fact]
    public async Task UnreachableServerThrowsWebSocketExceptionWithTheOwnTransport()
    {
        int port;
        await using (var gateway = await TestGateway.StartAsync())
        {
            port = gateway.WebSocketUri.Port;
        }

        await using var client = new ConnMsgClient(new Uri($"ws://127.0.0.1:{port}/ws"), Options() with { UseClientWebSocket = false });
        await Assert.ThrowsAsync<WebSocketException>(() => client.ConnectAsync()).Within();
    }

    [Fact]
    public async Task UpgradeRefusedByTheServerThrowsWithItsStatus()
    {
        await using var gateway = await TestGateway.StartAsync();
        var uri = new UriBuilder(gateway.WebSocketUri) { Path = "/not-a-websocket-endpoint" }.Uri;
        await using var client = new ConnMsgClient(uri, Options());
        var e = await Assert.ThrowsAsync<WebSocketException>(() => client.ConnectAsync()).Within();
        Assert.Contains("'404'", e.Message);
    }

    private static X509Certificate2 SelfSigned(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }

    /// <summary>Connects, sends one request so one is in flight, lets the server misbehave, and returns the close code the server received.</summary>
    private static async Task<WebSocketCloseStatus?> SendBadMessageAndReadCloseAsync(Func<WebSocket, Task> misbehave, ConnMsgClientOptions? options = null)
    {
        var closeStatus = new TaskCompletionSource<WebSocketCloseStatus?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async socket =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            await ScriptedServer.ReceiveAsync(socket);
            await misbehave(socket);
            var buffer = new byte[1024];
            while ((await socket.ReceiveAsync(buffer, CancellationToken.None)).MessageType != WebSocketMessageType.Close)
            {
            }

            closeStatus.TrySetResult(socket.CloseStatus);
        });
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, (options ?? Options()) with { Reconnect = false });

        await Assert.ThrowsAsync<ConnMsgConnectionLostException>(() => client.RequestAsync<string>("anything", (object?)null)).Within();
        return await closeStatus.Task.Within();
    }
}
