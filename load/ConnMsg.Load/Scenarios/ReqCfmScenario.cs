using System.Globalization;
using ConnMsg.Load.Cli;
using ConnMsg.Load.Protocol;
using ConnMsg.Load.Reporting;
using ConnMsg.Load.Transport;

namespace ConnMsg.Load.Scenarios;

/// <summary>
/// <c>reqcfm</c>: C connections × P <c>echo</c> requests in flight each, S bytes of data per request; measures
/// requests per second and request → cfm latency.
/// </summary>
public sealed class ReqCfmScenario : Scenario
{
    private readonly int _connections;
    private readonly int _inFlight;
    private readonly int _size;
    private readonly string _op;
    private RawWsConnection[] _open = [];
    private EchoWorker[] _workers = [];
    private readonly CancellationTokenSource _stop = new();

    /// <summary>Reads <c>--connections</c>, <c>--inflight</c>, <c>--size</c>, <c>--op</c>.</summary>
    public ReqCfmScenario(ScenarioOptions options, CommandLine cli)
        : base(options)
    {
        _connections = cli.Int("connections", 100);
        _inFlight = cli.Int("inflight", 16);
        _size = cli.Int("size", 64);
        _op = cli.String("op", "echo");
    }

    /// <inheritdoc />
    public override string Name => "reqcfm";

    /// <inheritdoc />
    public override string OperationUnit => "req/s";

    /// <inheritdoc />
    public override string LatencyMeaning => $"{_op} request written → cfm read";

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, string> Parameters => new Dictionary<string, string>
    {
        ["connections"] = _connections.ToString(CultureInfo.InvariantCulture),
        ["inflight"] = _inFlight.ToString(CultureInfo.InvariantCulture),
        ["size_bytes"] = _size.ToString(CultureInfo.InvariantCulture),
        ["op"] = _op,
        ["client"] = "raw pipelined Socket client",
    };

    /// <inheritdoc />
    public override async Task SetupAsync(CancellationToken cancellationToken)
    {
        _open = await ConnectionPool.OpenAsync(Options.Target, _connections, 32, 16 * 1024, cancellationToken);
        byte[] data = RequestWriter.MakeStringPayload(_size);
        _workers = new EchoWorker[_connections];
        for (int i = 0; i < _connections; i++)
        {
            _workers[i] = new EchoWorker(_open[i], _op, data, _inFlight, Latency, () => Interlocked.Increment(ref ErrorCount));
            _workers[i].Listen(_stop.Token);
        }
    }

    /// <inheritdoc />
    public override Task StartAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(_workers.Select(w => w.StartAsync()));

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (EchoWorker worker in _workers)
        {
            worker.Stop();
        }

        // Let what is in flight come back, so the server ends idle rather than mid-write.
        var deadline = DateTime.UtcNow.AddSeconds(3);
        while (_workers.Any(w => w.Outstanding > 0) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, cancellationToken);
        }

        await ConnectionPool.CloseAllAsync(_open, _workers.Select(w => w.ReceiveLoop), TimeSpan.FromSeconds(3));
        _stop.Cancel();
    }

    /// <inheritdoc />
    public override void AddResults(ScenarioResult result, MeasuredWindow window)
    {
        int faulted = _open.Count(c => c.Fault is not null);
        if (faulted > 0)
        {
            result.Notes.Add($"{faulted} connection(s) ended with a fault, e.g.: {_open.First(c => c.Fault is not null).Fault}");
        }
    }
}
