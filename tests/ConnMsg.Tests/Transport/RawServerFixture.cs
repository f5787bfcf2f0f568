using ConnMsg.Tests.Infrastructure;

namespace ConnMsg.Tests.Transport;

/// <summary>One real listener with default options, shared by the tests of a class.</summary>
public sealed class RawServerFixture : IAsyncLifetime
{
    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();

    public Task<RawWebSocket> ConnectAsync() => RawWebSocket.ConnectAsync(Server);
}
