using ConnMsg.Load.Bench;
using ConnMsg.Load.Cli;
using ConnMsg.Load.Reporting;
using ConnMsg.Load.Scenarios;

namespace ConnMsg.Load;

/// <summary>The driver's command line: picks a subcommand and runs it.</summary>
public static class Commands
{
    /// <summary>Runs the command in <paramref name="args"/>; returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        try
        {
            var cli = new CommandLine(args.Skip(1));
            if (args[0] == "bench")
            {
                return await BenchCommand.RunAsync(cli, cancel.Token);
            }

            Scenario? scenario = CreateScenario(args[0], cli);
            if (scenario is null)
            {
                Console.Error.WriteLine($"unknown command '{args[0]}'\n\n{Usage}");
                return 2;
            }

            foreach (string unknown in cli.Unread())
            {
                Console.Error.WriteLine($"warning: option --{unknown} is not used by {args[0]}");
            }

            ScenarioResult result = await ScenarioRunner.RunAsync(scenario, cancel.Token);
            ReportWriter.Write(result, scenario.Options.OutDirectory);
            Console.WriteLine(MarkdownReport.ForRun(result));
            Console.WriteLine($"report: {Path.Combine(Path.GetFullPath(scenario.Options.OutDirectory), "report.html")}");
            return 0;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            Console.Error.WriteLine("\ncancelled");
            return 130;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException or System.Net.Sockets.SocketException)
        {
            Console.Error.WriteLine($"\nerror: {e.Message}");
            return 1;
        }
    }

    private static Scenario? CreateScenario(string name, CommandLine cli) => name switch
    {
        "reqcfm" => new ReqCfmScenario(ScenarioOptions.From(cli, name, "http://127.0.0.1:8080/ws"), cli),
        "fanout" => new FanoutScenario(ScenarioOptions.From(cli, name, "http://127.0.0.1:8080/ws"), cli),
        "connect" => new ConnectScenario(ScenarioOptions.From(cli, name, "http://127.0.0.1:8080/ws"), cli),
        "soak" => new SoakScenario(ScenarioOptions.From(cli, name, "http://127.0.0.1:8080/ws"), cli),
        "client" => new ClientEchoScenario(ScenarioOptions.From(cli, name, "http://127.0.0.1:8080/ws"), cli),
        "signalr" => new SignalREchoScenario(ScenarioOptions.From(cli, name, "http://127.0.0.1:5082/hub", "/hub"), cli),
        _ => null,
    };

    private const string Usage = """
        ConnMsg.Load — load driver for ConnMsg servers (loopback targets only)

        usage: ConnMsg.Load <command> [options]

        commands
          reqcfm   C connections x P echo requests in flight, S-byte data      --connections 100 --inflight 16 --size 64 [--op echo]
          fanout   N subscribers on one topic, publisher(s) at a rate or flat   --subscribers 1000 --publishers 1 --rate 0 [--pub-inflight 8] [--size 0] [--topic bench.fanout]
          connect  connection storm to N held connections                       --connections 10000 --parallel 100 [--hold 3]
          soak     paced echo + fan-out + connection churn for a long window    --connections 50 --rate 5000 --subscribers 100 --pub-rate 100 --churn 10
          client   echo through the ConnMsg .NET client (src/ConnMsg.Client)  --connections 100 --inflight 16 --size 64
          signalr  SignalR hub Echo with the SignalR .NET client                --connections 100 --inflight 16 --size 64 (target default http://127.0.0.1:5082/hub)
          bench    build, start each server pinned to core 0, run the standard set pinned to core 1, write one combined report
                   [--quick] [--warmup 25] [--duration 30] [--servers connmsg,connmsg-transport,middleware,floor,signalr]
                   [--only WORKLOAD,…] [--rounds 1] [--subscribers 1000] [--connections 10000] [--no-build] [--out DIR]
                   --rounds N repeats every run N times and reports medians, and each ratio's range over the rounds

        options of every scenario
          --target URL       http://127.0.0.1:8080/ws (reqcfm, fanout, connect, soak)
          --warmup S         seconds of warm-up, not measured (10)
          --duration S       measured seconds (20)
          --server-pid PID   read the server's CPU and RSS from /proc during the run
          --label TEXT       names the run in the report
          --out DIR          report folder (load/reports/<timestamp>-<scenario>/)
        """;
}
