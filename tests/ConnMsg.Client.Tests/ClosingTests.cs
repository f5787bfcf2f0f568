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
}
