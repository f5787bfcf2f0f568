namespace ConnMsg.Load.Bench;

/// <summary>A server the bench can build, start and drive.</summary>
/// <param name="Name">Short name used in labels (<c>connmsg</c>, <c>middleware</c>, <c>signalr</c>).</param>
/// <param name="Title">Display name.</param>
/// <param name="Project">What the bench builds, relative to the repository root: the .csproj, or a native server's C source.</param>
/// <param name="Dll">The built assembly, relative to the repository root, started with <c>dotnet</c>; null for a native server.</param>
/// <param name="Port">The loopback port it is started on.</param>
/// <param name="Path">The WebSocket (or hub) path.</param>
/// <param name="Args">Extra command-line arguments it is started with.</param>
public sealed record ServerSpec(string Name, string Title, string Project, string? Dll, int Port, string Path, string[]? Args = null)
{
    /// <summary>
    /// A native server's executable, relative to the repository root: the bench compiles it from <see cref="Project"/>
    /// with gcc and starts it directly. Null for a .NET server.
    /// </summary>
    public string? Executable { get; init; }

    /// <summary>The driver scenarios it implements; null when it implements every one the bench runs against it.</summary>
    public IReadOnlyList<string>? Scenarios { get; init; }

    /// <summary>What the bench starts, relative to the repository root: <see cref="Executable"/>, else <see cref="Dll"/>.</summary>
    public string Artifact => Executable ?? Dll ?? throw new InvalidOperationException($"server {Name} has neither an executable nor a dll");

    /// <summary>True when it implements the driver scenario <paramref name="scenario"/>.</summary>
    public bool Supports(string scenario) => Scenarios is null || Scenarios.Contains(scenario);

    /// <summary>The <c>--urls</c> value it is started with.</summary>
    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>The driver's <c>--target</c>.</summary>
    public string Target => Url + Path;

    /// <summary>The ConnMsg gateway under test.</summary>
    public static ServerSpec ConnMsg { get; } = new("connmsg", "ConnMsg gateway", "src/ConnMsg.Gateway/ConnMsg.Gateway.csproj",
        "src/ConnMsg.Gateway/bin/Release/net10.0/ConnMsg.Gateway.dll", 8080, "/ws");

    /// <summary>The same gateway over ConnMsg's own socket transport instead of Kestrel's (<c>Gateway:Transport=connmsg</c>).</summary>
    public static ServerSpec ConnMsgTransport { get; } = new("connmsg-transport", "ConnMsg gateway, own transport", "src/ConnMsg.Gateway/ConnMsg.Gateway.csproj",
        "src/ConnMsg.Gateway/bin/Release/net10.0/ConnMsg.Gateway.dll", 8081, "/ws", ["--Gateway:Transport=connmsg"]);

    /// <summary>The UseWebSockets + System.Text.Json baseline.</summary>
    public static ServerSpec Middleware { get; } = new("middleware", "Middleware baseline", "load/baselines/ConnMsg.Baseline.Middleware/ConnMsg.Baseline.Middleware.csproj",
        "load/baselines/ConnMsg.Baseline.Middleware/bin/Release/net10.0/ConnMsg.Baseline.Middleware.dll", 5081, "/ws");

    /// <summary>The SignalR hub baseline.</summary>
    public static ServerSpec SignalR { get; } = new("signalr", "SignalR baseline", "load/baselines/ConnMsg.Baseline.SignalR/ConnMsg.Baseline.SignalR.csproj",
        "load/baselines/ConnMsg.Baseline.SignalR/bin/Release/net10.0/ConnMsg.Baseline.SignalR.dll", 5082, "/hub");

    /// <summary>
    /// The floor reference (<c>load/floor/wsfloor.c</c>): one thread, epoll, echo answered without a JSON parser, so its
    /// CPU per request is the least a server can spend on this machine. It implements only echo and the handshake.
    /// </summary>
    public static ServerSpec Floor { get; } = new("floor", "C epoll floor (no JSON parser)", "load/floor/wsfloor.c", null, 5083, "/ws")
    {
        Executable = "load/floor/bin/wsfloor",
        Scenarios = ["reqcfm", "connect"],
    };

    // Last: static properties initialise in order, and this one reads the others.
    /// <summary>Every server the bench knows, in report order.</summary>
    public static IReadOnlyList<ServerSpec> All { get; } = [ConnMsg, ConnMsgTransport, Middleware, Floor, SignalR];
}
