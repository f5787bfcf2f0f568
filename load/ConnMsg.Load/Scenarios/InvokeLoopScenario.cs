using System.Diagnostics;
using System.Globalization;
using ConnMsg.Load.Cli;

namespace ConnMsg.Load.Scenarios;

/// <summary>
/// Request/response through a library's own client: C clients, each with P loops that await one echo after
/// another. This is how an application uses such a client, so it measures client and server together.
/// </summary>
/// <typeparam name="TClient">The library's connection type.</typeparam>
public abstract class InvokeLoopScenario<TClient> : Scenario
    where TClient : class
{
    private readonly CancellationTokenSource _stop = new();
    private TClient[] _clients = [];
    private Task _load = Task.CompletedTask;
    private volatile bool _stopping;

    /// <summary>Reads <c>--connections</c>, <c>--inflight</c>, <c>--size</c>.</summary>
    protected InvokeLoopScenario(ScenarioOptions options, CommandLine cli)
        : base(options)
    {
        Connections = cli.Int("connections", 100);
        InFlight = cli.Int("inflight", 16);
        Size = cli.Int("size", 64);
    }

    /// <summary>Clients (connections).</summary>
    protected int Connections { get; }

    /// <summary>Concurrent invocations per client.</summary>
    protected int InFlight { get; }

    /// <summary>Size in bytes of the data's JSON token, as in <c>reqcfm</c>.</summary>
    protected int Size { get; }

    /// <summary>Names the client library for the report.</summary>
    protected abstract string ClientDescription { get; }

    /// <inheritdoc />
    public override string OperationUnit => "req/s";

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, string> Parameters => new Dictionary<string, string>
    {
        ["connections"] = Connections.ToString(CultureInfo.InvariantCulture),
        ["inflight"] = InFlight.ToString(CultureInfo.InvariantCulture),
        ["size_bytes"] = Size.ToString(CultureInfo.InvariantCulture),
        ["client"] = ClientDescription,
    };

    /// <summary>Opens one client.</summary>
    protected abstract Task<TClient> ConnectAsync(CancellationToken cancellationToken);

    /// <summary>One echo of <paramref name="data"/>.</summary>
    protected abstract Task EchoAsync(TClient client, string data, CancellationToken cancellationToken);

    /// <summary>True while the client can still be used after a failed call.</summary>
    protected abstract bool IsUsable(TClient client);

    /// <summary>Closes one client.</summary>
    protected abstract ValueTask CloseAsync(TClient client);

    /// <inheritdoc />
    public override async Task SetupAsync(CancellationToken cancellationToken)
    {
        _clients = new TClient[Connections];
        await Parallel.ForAsync(0, Connections, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken },
            async (i, ct) => _clients[i] = await ConnectAsync(ct));
    }

    /// <inheritdoc />
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // A string of S − 2 characters, so that its JSON token is S bytes as in reqcfm.
        string data = new('x', Math.Max(0, Size - 2));
        _load = Task.WhenAll(_clients.SelectMany(c => Enumerable.Range(0, InFlight).Select(_ => Task.Run(() => LoopAsync(c, data), cancellationToken))));
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        await Task.WhenAny(_load, Task.Delay(TimeSpan.FromSeconds(10), cancellationToken));
        _stop.Cancel();
        await Parallel.ForEachAsync(_clients, cancellationToken, async (c, _) => await CloseAsync(c));
    }

    private async Task LoopAsync(TClient client, string data)
    {
        while (!_stopping)
        {
            long start = Stopwatch.GetTimestamp();
            try
            {
                await EchoAsync(client, data, _stop.Token);
                Latency.RecordTicks(Stopwatch.GetTimestamp() - start);
            }
            catch (Exception) when (_stopping)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Any failure of the library's call is a failed request; the loop goes on while the client can.
                Interlocked.Increment(ref ErrorCount);
                if (!IsUsable(client))
                {
                    return;
                }
            }
        }
    }
}
