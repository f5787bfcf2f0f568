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
}
