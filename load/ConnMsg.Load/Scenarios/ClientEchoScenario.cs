using ConnMsg.Client;
using ConnMsg.Load.Cli;

namespace ConnMsg.Load.Scenarios;

/// <summary>
/// <c>client</c>: C <see cref="ConnMsgClient"/> connections × P concurrent <c>echo</c> requests through the
/// ConnMsg .NET client (src/ConnMsg.Client), the counterpart of <see cref="SignalREchoScenario"/>: the same
/// shape, a library client on both sides, so their ratio compares what an application gets from each.
/// </summary>
public sealed class ClientEchoScenario : InvokeLoopScenario<ConnMsgClient>
{
    /// <summary>Reads <c>--connections</c>, <c>--inflight</c>, <c>--size</c>.</summary>
    public ClientEchoScenario(ScenarioOptions options, CommandLine cli)
        : base(options, cli)
    {
    }

    /// <inheritdoc />
    public override string Name => "client";

    /// <inheritdoc />
    public override string LatencyMeaning => "RequestAsync<string>(\"echo\") called → result returned";

    /// <inheritdoc />
    protected override string ClientDescription => "ConnMsg.Client (ConnMsgClient, default options: own RFC 6455 socket transport)";

    /// <inheritdoc />
    protected override Task<ConnMsgClient> ConnectAsync(CancellationToken cancellationToken)
    {
        var uri = new Uri($"ws://{Options.Target.Host}{Options.Target.Path}");
        // No reconnect: a dropped connection during a measurement is a failure to report, not to paper over.
        return ConnMsgClient.ConnectAsync(uri, ConnMsgClientOptions.Default with { Reconnect = false }, cancellationToken);
    }

    /// <inheritdoc />
    protected override Task EchoAsync(ConnMsgClient client, string data, CancellationToken cancellationToken) =>
        client.RequestAsync<string>("echo", data, cancellationToken);

    /// <inheritdoc />
    protected override bool IsUsable(ConnMsgClient client) => client.State == ConnMsgConnectionState.Open;

    /// <inheritdoc />
    protected override ValueTask CloseAsync(ConnMsgClient client) => client.DisposeAsync();
}
