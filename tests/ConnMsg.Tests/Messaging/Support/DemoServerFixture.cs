using ConnMsg.Tests.Infrastructure;

namespace ConnMsg.Tests.Messaging.Support;

/// <summary>One demo server shared by the tests of a class whose tests each use their own connections and topics.</summary>
public sealed class DemoServerFixture : IAsyncLifetime
{
    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
