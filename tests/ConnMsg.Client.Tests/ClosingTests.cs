using System.Net.WebSockets;
using ConnMsg.Client.Tests.Infrastructure;
using static ConnMsg.Client.Tests.Infrastructure.TestClients;

namespace ConnMsg.Client.Tests;

/// <summary>
/// The client's end: disposal, and giving up reconnecting. Nothing may be left waiting for a connection that will
/// never come, and no connection may outlive the client.
/// </summary>
public sealed class ClosingTests
{
    [Fact]
    public async Task RequestsWaitingForTheReconnectFailWithObjectDisposedWhenTheClientIsDisposed()
    {
        await using var gateway = await TestGateway.StartAsync();
        var reconnecting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var client = await ConnectAsync(gateway, Options() with
        {
            // The reconnect never gets past its first attempt: whatever waits for it waits until the dispose.
            BeforeReconnectAttempt = async (_, ct) =>
            {
                reconnecting.TrySetResult();
                await Task.Delay(Timeout.Infinite, ct);
            },
        });
        gateway.AbortConnections();
        await reconnecting.Task.Within();
        var request = client.RequestAsync("echo", Json("1"));
        var subscribing = client.SubscribeAsync("news");
        Assert.False(request.IsCompleted);
        Assert.False(subscribing.IsCompleted);

        await client.DisposeAsync().AsTask().Within();

        // As DisposeAsync promises, not at their timeout.
        await Assert.ThrowsAsync<ObjectDisposedException>(() => request).Within();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => subscribing).Within();
    }

    [Fact]
    public async Task RequestsWaitingForTheReconnectFailWithConnectionLostWhenReconnectingIsGivenUp()
    {
        await using var gateway = await TestGateway.StartAsync();
        var reconnecting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var refuse = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var client = await ConnectAsync(gateway, Options() with
        {
            ReconnectMaxAttempts = 1,
            BeforeReconnectAttempt = async (_, ct) =>
            {
                reconnecting.TrySetResult();
                await refuse.Task.WaitAsync(ct);
                throw new IOException("connection refused");
            },
        });
        gateway.AbortConnections();
        await reconnecting.Task.Within();
        var request = client.RequestAsync("echo", Json("1"));
        Assert.False(request.IsCompleted);

        refuse.SetResult(); // the one attempt fails: the client gives up and goes Closed

        await Assert.ThrowsAsync<ConnMsgConnectionLostException>(() => request).Within();
        Assert.Equal(ConnMsgConnectionState.Closed, client.State);
    }

    [Fact]
    public async Task RequestsMadeBeforeConnectFailWithConnectionLostWhenTheFirstConnectFails()
    {
        int port;
        await using (var gateway = await TestGateway.StartAsync())
        {
            port = gateway.WebSocketUri.Port;
        }

        await using var client = new ConnMsgClient(new Uri($"ws://127.0.0.1:{port}/ws"), Options());
        var request = client.RequestAsync("echo", Json("1")); // waits for the connection ConnectAsync is to open

        await Assert.ThrowsAsync<WebSocketException>(() => client.ConnectAsync()).Within();

        // The first connect is not retried, so nothing will ever open.
        var e = await Assert.ThrowsAsync<ConnMsgConnectionLostException>(() => request).Within();
        Assert.IsType<WebSocketException>(e.InnerException);
    }

    [Fact]
    public async Task DisposeDuringTheFirstConnectEndsTheConnectionAndConnectThrowsObjectDisposed()
    {
        var upgraded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var connectionEnd = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await RawWebSocketServer.StartAsync(async stream =>
        {
            // No $session: ConnectAsync waits for it (SessionWaitTimeout) with the connection open.
            upgraded.SetResult();
            connectionEnd.SetResult(await ReadUntilTheClientLeavesAsync(stream));
        });
        var client = new ConnMsgClient(server.WebSocketUri, Options() with { SessionWaitTimeout = TimeSpan.FromSeconds(10) });
        var connecting = client.ConnectAsync();
        await upgraded.Task.Within();

        await client.DisposeAsync().AsTask().Within();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => connecting).Within();
        Assert.Equal(ConnMsgConnectionState.Closed, client.State);
        Assert.NotEqual("ping", await connectionEnd.Task.Within());
    }

    /// <summary>Reads the client's frames until it closes (close frame) or drops (end of stream) the connection.</summary>
    private static async Task<string> ReadUntilTheClientLeavesAsync(Stream stream)
    {
        try
        {
            while (true)
            {
                var (opcode, _) = await RawWebSocketServer.ReadClientFrameAsync(stream);
                if (opcode == 0x8)
                {
                    return "close";
                }

                if (opcode == 0x9)
                {
                    // A keep-alive ping: the connection is alive. Reported at once rather than waiting any longer.
                    return "ping";
                }
            }
        }
        catch (Exception e) when (e is EndOfStreamException or IOException)
        {
            return "dropped";
        }
    }
}
