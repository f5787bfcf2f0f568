using ConnMsg.Load.Cli;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace ConnMsg.Load.Scenarios;

/// <summary>
/// <c>signalr</c>: C SignalR connections × P concurrent <c>Echo</c> invocations of the SignalR baseline hub,
/// with the SignalR .NET client over WebSockets (negotiation skipped): what a .NET SignalR user gets.
/// Compared with <see cref="ClientEchoScenario"/> of the same shape against ConnMsg.
/// </summary>
public sealed class SignalREchoScenario : InvokeLoopScenario<HubConnection>
{
    /// <summary>Reads <c>--connections</c>, <c>--inflight</c>, <c>--size</c>.</summary>
    public SignalREchoScenario(ScenarioOptions options, CommandLine cli)
        : base(options, cli)
    {
    }

    /// <inheritdoc />
    public override string Name => "signalr";

    /// <inheritdoc />
    public override string LatencyMeaning => "InvokeAsync<string>(\"Echo\") called → result returned";

    /// <inheritdoc />
    protected override string ClientDescription => "Microsoft.AspNetCore.SignalR.Client (JSON hub protocol, WebSockets)";

    /// <inheritdoc />
    protected override async Task<HubConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        HubConnection hub = new HubConnectionBuilder()
            .WithUrl(Options.Target.HttpUrl, HttpTransportType.WebSockets, o => o.SkipNegotiation = true)
            .Build();
        hub.On<string, int, int, int>("session", static (_, _, _, _) => { });
        await hub.StartAsync(cancellationToken);
        return hub;
    }

    /// <inheritdoc />
    protected override Task EchoAsync(HubConnection client, string data, CancellationToken cancellationToken) =>
        client.InvokeAsync<string>("Echo", data, cancellationToken);

    /// <inheritdoc />
    protected override bool IsUsable(HubConnection client) => client.State == HubConnectionState.Connected;

    /// <inheritdoc />
    protected override ValueTask CloseAsync(HubConnection client) => client.DisposeAsync();
}
