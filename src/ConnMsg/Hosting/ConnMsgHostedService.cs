using ConnMsg.Messaging;
using Microsoft.Extensions.Hosting;

namespace ConnMsg.Hosting;

/// <summary>
/// Drains the server (PROTOCOL.md §6) when the host begins to stop. <see cref="IHostedLifecycleService.StoppingAsync"/>
/// runs before any hosted service's <c>StopAsync</c>, so the drain happens while Kestrel still serves the open
/// connections, whatever order the services were registered in.
/// </summary>
internal sealed class ConnMsgHostedService : IHostedLifecycleService
{
    private readonly ConnMsgApplication _application;

    public ConnMsgHostedService(ConnMsgApplication application) => _application = application;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => _application.DrainAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
