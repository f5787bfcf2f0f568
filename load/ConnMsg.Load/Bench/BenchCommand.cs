using System.Diagnostics;
using System.Globalization;
using ConnMsg.Load.Cli;
using ConnMsg.Load.Reporting;
using ConnMsg.Load.Scenarios;

namespace ConnMsg.Load.Bench;

/// <summary>
/// <c>bench</c>: builds the servers (in Release; the native floor with gcc), then for every planned run starts the server pinned to core 0,
/// runs the driver as a child process pinned to core 1, stops the server, and finally writes one combined report.
/// A fresh server per run keeps the runs independent (memory per connection in particular).
/// </summary>
public static class BenchCommand
{
    private const int ServerCore = 0;
    private const int DriverCore = 1;

    /// <summary>Runs the bench; returns 0 when at least one run produced a result.</summary>
    public static async Task<int> RunAsync(CommandLine cli, CancellationToken cancellationToken)
    {
        string repoRoot = ReportPaths.RepositoryRoot();
        string stamp = DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        BenchOptions options = BenchOptions.From(cli, Path.Combine(ReportPaths.DefaultRoot(), stamp + "-bench"));
        Directory.CreateDirectory(options.OutDirectory);
        foreach (string unknown in cli.Unread())
        {
            Console.Error.WriteLine($"warning: option --{unknown} is not used by bench");
        }

        var unavailable = new Dictionary<string, string>();
        var servers = new List<ServerSpec>();
        foreach (string name in options.Servers)
        {
            ServerSpec? spec = ServerSpec.All.FirstOrDefault(s => s.Name == name);
            if (spec is null)
            {
                Console.Error.WriteLine($"unknown server '{name}' ({string.Join(", ", ServerSpec.All.Select(s => s.Name))})");
                return 2;
            }

            string? problem = null;
            if (spec.Executable is not null && !options.NoBuild && NativeToolchainProblem(spec) is string missing)
            {
                // A native server is an extra reference, so by default it is skipped on a machine that cannot build it;
                // named in --servers it was asked for, and a bench without it would not be what was asked.
                if (options.ServersExplicit)
                {
                    Console.Error.WriteLine($"[bench] error: --servers names {spec.Name}, but {missing}");
                    return 2;
                }

                problem = $"{missing}, so it was skipped";
            }

            problem ??= options.NoBuild ? null : await BuildAsync(spec, repoRoot, options.OutDirectory, cancellationToken);
            problem ??= File.Exists(Path.Combine(repoRoot, spec.Artifact)) ? null : $"{spec.Artifact} does not exist";
            if (problem is null)
            {
                servers.Add(spec);
            }
            else
            {
                unavailable[spec.Name] = problem;
                Console.Error.WriteLine($"[bench] {spec.Title} unavailable: {problem}");
            }
        }

        IReadOnlyList<BenchRun> plan = BenchPlan.Create(options, servers);
        Console.Error.WriteLine($"[bench] {plan.Count} runs, {options.WarmupSeconds:0.#} s warm-up + {options.DurationSeconds:0.#} s measured each; servers on core {ServerCore}, driver on core {DriverCore}");
        var outcomes = new List<BenchOutcome>();
        foreach (BenchRun run in plan)
        {
            outcomes.Add(await RunOneAsync(run, repoRoot, options, cancellationToken));
            // Lets the kernel settle the previous run's sockets before the next server binds.
            await Task.Delay(1000, cancellationToken);
        }

        CombinedReport.Write(options, outcomes, unavailable);
        Console.WriteLine(CombinedReport.Markdown(options, outcomes, unavailable));
        Console.WriteLine($"combined report: {Path.Combine(Path.GetFullPath(options.OutDirectory), "bench.html")}");
        return outcomes.Any(o => o.Result is not null) ? 0 : 1;
    }

    private static async Task<BenchOutcome> RunOneAsync(BenchRun run, string repoRoot, BenchOptions options, CancellationToken cancellationToken)
    {
        string round = options.Rounds > 1 ? $"-r{run.Round}" : "";
        string directory = Path.Combine(options.OutDirectory, $"{run.Server.Name}-{run.Id}{round}");
        Directory.CreateDirectory(directory);
        Console.Error.WriteLine($"\n[bench] {run.Server.Title}: {run.Title}" + (options.Rounds > 1 ? $" (round {run.Round} of {options.Rounds})" : ""));
        ServerProcess server;
        try
        {
            server = await ServerProcess.StartAsync(run.Server, repoRoot, ServerCore, Path.Combine(directory, "server.log"), cancellationToken);
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"[bench] could not start {run.Server.Name}: {e.Message}");
            return new BenchOutcome(run, null, e.Message, directory);
        }

        await using (server)
        {
            string self = typeof(BenchCommand).Assembly.Location;
            var args = new List<string> { self, run.Scenario };
            args.AddRange(run.Arguments);
            args.AddRange([
                "--target", run.Server.Target,
                "--server-pid", server.Pid.ToString(CultureInfo.InvariantCulture),
                "--warmup", options.WarmupSeconds.ToString(CultureInfo.InvariantCulture),
                "--duration", options.DurationSeconds.ToString(CultureInfo.InvariantCulture),
                "--label", run.Server.Name,
                "--out", directory,
            ]);
            ProcessStartInfo info = Pinning.Dotnet(DriverCore, args);
            // The driver's Markdown goes to a file; its live progress line (stderr) stays on the console.
            info.RedirectStandardOutput = true;
            using Process driver = Process.Start(info) ?? throw new IOException("could not start the driver");
            Pinning.ApplyAffinity(driver, DriverCore);
            Task<string> stdout = driver.StandardOutput.ReadToEndAsync(cancellationToken);
            try
            {
                await driver.WaitForExitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                driver.Kill(entireProcessTree: true);
                throw;
            }

            await File.WriteAllTextAsync(Path.Combine(directory, "driver.log"), await stdout, cancellationToken);
            string resultPath = Path.Combine(directory, "result.json");
            if (driver.ExitCode != 0 || !File.Exists(resultPath))
            {
                string error = $"driver exited with code {driver.ExitCode}" + (server.IsRunning ? "" : " (the server had exited)");
                Console.Error.WriteLine($"[bench] {error}");
                return new BenchOutcome(run, null, error, directory);
            }

            return new BenchOutcome(run, ReportWriter.Read(resultPath), null, directory);
        }
    }

    private static async Task<string?> BuildAsync(ServerSpec spec, string repoRoot, string outDirectory, CancellationToken cancellationToken)
    {
        string project = Path.Combine(repoRoot, spec.Project);
        if (!File.Exists(project))
        {
            return $"{spec.Project} does not exist";
        }

        if (spec.Executable is not null)
        {
            string executable = Path.Combine(repoRoot, spec.Executable);
            Directory.CreateDirectory(Path.GetDirectoryName(executable)!);
            Console.Error.WriteLine($"[bench] building {spec.Project} (gcc -O2) …");
            return await RunBuildAsync(spec, "gcc", ["-O2", "-Wall", "-Wextra", "-o", executable, project], repoRoot, outDirectory, cancellationToken);
        }

        Console.Error.WriteLine($"[bench] building {spec.Project} (Release) …");
        return await RunBuildAsync(spec, "dotnet", ["build", project, "-c", "Release", "-nologo", "-v", "quiet"], repoRoot, outDirectory, cancellationToken);
    }

    /// <summary>Why a native server cannot be built here (it needs Linux for epoll, and gcc), or null when it can.</summary>
    private static string? NativeToolchainProblem(ServerSpec spec)
    {
        if (!OperatingSystem.IsLinux())
        {
            return $"{spec.Project} needs Linux (epoll)";
        }

        bool haveGcc = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Combine(directory, "gcc")));
        return haveGcc ? null : $"gcc is not on PATH to build {spec.Project}";
    }

    private static async Task<string?> RunBuildAsync(ServerSpec spec, string tool, string[] arguments, string repoRoot, string outDirectory, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(tool) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = repoRoot };
        foreach (string a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        using Process build = Process.Start(info) ?? throw new IOException($"could not start {tool}");
        Task<string> output = build.StandardOutput.ReadToEndAsync(cancellationToken);
        Task<string> errors = build.StandardError.ReadToEndAsync(cancellationToken);
        await build.WaitForExitAsync(cancellationToken);
        string log = Path.Combine(outDirectory, $"build-{spec.Name}.log");
        await File.WriteAllTextAsync(log, await output + await errors, cancellationToken);
        return build.ExitCode == 0 ? null : $"build failed (exit {build.ExitCode}, see {log})";
    }
}
