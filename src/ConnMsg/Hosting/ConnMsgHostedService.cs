using ConnMsg.Messaging;
using Microsoft.Extensions.Hosting;

namespace ConnMsg.Hosting;

/// <summary>
/// Drains the server before Kestrel stops (PROTOCOL.md §6). Registered after the web host, so it is stopped before it.
/// </summary>
internal sealed class ConnMsgHostedService : IHostedService
{
    private readonly ConnMsgApplication _application;

    public ConnMsgHostedService(ConnMsgApplication application) => _application = application;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => _application.DrainAsync(cancellationToken);
}
