using System.Diagnostics;
using System.Net.Sockets;

namespace ConnMsg.Load.Bench;

/// <summary>A server under test started by the bench, pinned to core 0, its output going to a log file.</summary>
/// <remarks>Thread-safety: owned by the bench command; not shared.</remarks>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    private ServerProcess(Process process, StreamWriter log)
    {
        _process = process;
        _log = log;
    }

    /// <summary>The server's process id (for <c>--server-pid</c>).</summary>
    public int Pid => _process.Id;

    /// <summary>True while it runs.</summary>
    public bool IsRunning => !_process.HasExited;

    /// <summary>Starts <paramref name="server"/> from <paramref name="repoRoot"/> and waits until it accepts connections.</summary>
    /// <exception cref="IOException">It exited or did not listen within 60 s.</exception>
    public static async Task<ServerProcess> StartAsync(ServerSpec server, string repoRoot, int? core, string logPath, CancellationToken cancellationToken)
    {
        if (await IsListeningAsync(server.Port, cancellationToken))
        {
            throw new IOException($"port {server.Port} is already in use: stop whatever listens there before running the bench");
        }

        string artifact = Path.Combine(repoRoot, server.Artifact);
        string[] arguments = ["--urls", server.Url, .. server.Args ?? []];
        ProcessStartInfo info = server.Executable is null
            ? Pinning.Dotnet(core, [artifact, .. arguments])
            : Pinning.Native(core, artifact, arguments);
        info.WorkingDirectory = Path.GetDirectoryName(artifact)!;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        var log = new StreamWriter(logPath) { AutoFlush = true };
        var process = Process.Start(info) ?? throw new IOException($"could not start {server.Name}");
        Pinning.ApplyAffinity(process, core);
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var started = new ServerProcess(process, log);
        try
        {
            await started.WaitUntilListeningAsync(server, cancellationToken);
        }
        catch
        {
            await started.DisposeAsync();
            throw;
        }

        return started;
    }

    /// <summary>Stops the server (kills it: the bench needs no graceful drain) and closes its log.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            if (log.BaseStream.CanWrite)
            {
                log.WriteLine(line);
            }
        }
    }

    private static async Task<bool> IsListeningAsync(int port, CancellationToken cancellationToken)
    {
        try
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await probe.ConnectAsync("127.0.0.1", port, cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private async Task WaitUntilListeningAsync(ServerSpec server, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (_process.HasExited)
            {
                throw new IOException($"{server.Name} exited with code {_process.ExitCode} during start-up (see its log)");
            }

            try
            {
                using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await probe.ConnectAsync("127.0.0.1", server.Port, cancellationToken);
                // Give the host a moment past binding to finish starting its pipeline.
                await Task.Delay(500, cancellationToken);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(200, cancellationToken);
            }
        }

        throw new IOException($"{server.Name} did not listen on port {server.Port} within 60 s");
    }
}
