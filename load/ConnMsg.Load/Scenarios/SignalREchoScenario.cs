using System.Diagnostics;
using System.Globalization;
using ConnMsg.Load.Cli;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace ConnMsg.Load.Scenarios;

/// <summary>
/// <c>signalr</c>: C SignalR connections × P concurrent <c>Echo</c> invocations of the SignalR baseline hub,
/// driven with the SignalR .NET client over WebSockets (negotiation skipped), so the figure is what a .NET
/// SignalR user gets. Compare it with <c>reqcfm</c> of the same shape against ConnMsg.
/// </summary>
public sealed class SignalREchoScenario : Scenario
{
    private readonly int _connections;
    private readonly int _inFlight;
    private readonly int _size;
    private readonly CancellationTokenSource _stop = new();
    private HubConnection[] _hubs = [];
    private Task _load = Task.CompletedTask;
    private volatile bool _stopping;

    /// <summary>Reads <c>--connections</c>, <c>--inflight</c>, <c>--size</c>.</summary>
    public SignalREchoScenario(ScenarioOptions options, CommandLine cli)
        : base(options)
    {
        _connections = cli.Int("connections", 100);
        _inFlight = cli.Int("inflight", 16);
        _size = cli.Int("size", 64);
    }

    /// <inheritdoc />
    public override string Name => "signalr";

    /// <inheritdoc />
    public override string OperationUnit => "req/s";

    /// <inheritdoc />
    public override string LatencyMeaning => "InvokeAsync(\"Echo\") called → result returned";

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, string> Parameters => new Dictionary<string, string>
    {
        ["connections"] = _connections.ToString(CultureInfo.InvariantCulture),
        ["inflight"] = _inFlight.ToString(CultureInfo.InvariantCulture),
        ["size_bytes"] = _size.ToString(CultureInfo.InvariantCulture),
        ["client"] = "Microsoft.AspNetCore.SignalR.Client (JSON hub protocol, WebSockets)",
    };

    /// <inheritdoc />
    public override async Task SetupAsync(CancellationToken cancellationToken)
    {
        string url = Options.Target.HttpUrl;
        _hubs = new HubConnection[_connections];
        await Parallel.ForAsync(0, _connections, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            HubConnection hub = new HubConnectionBuilder()
                .WithUrl(url, HttpTransportType.WebSockets, o => o.SkipNegotiation = true)
                .Build();
            hub.On<string, int, int, int>("session", static (_, _, _, _) => { });
            await hub.StartAsync(ct);
            _hubs[i] = hub;
        });
    }

    /// <inheritdoc />
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // The data is a string of S − 2 characters, so that its JSON token is S bytes as in reqcfm.
        string data = new('x', Math.Max(0, _size - 2));
        _load = Task.WhenAll(_hubs.SelectMany(hub => Enumerable.Range(0, _inFlight).Select(_ => Task.Run(() => InvokeLoopAsync(hub, data), cancellationToken))));
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        await Task.WhenAny(_load, Task.Delay(TimeSpan.FromSeconds(10), cancellationToken));
        _stop.Cancel();
        await Parallel.ForEachAsync(_hubs, cancellationToken, async (hub, _) => await hub.DisposeAsync());
    }

    private async Task InvokeLoopAsync(HubConnection hub, string data)
    {
        while (!_stopping)
        {
            long start = Stopwatch.GetTimestamp();
            try
            {
                await hub.InvokeAsync<string>("Echo", data, _stop.Token);
                Latency.RecordTicks(Stopwatch.GetTimestamp() - start);
            }
            catch (Exception e) when (e is HubException or InvalidOperationException or IOException or OperationCanceledException)
            {
                Interlocked.Increment(ref ErrorCount);
                if (hub.State != HubConnectionState.Connected)
                {
                    return;
                }
            }
        }
    }
}
