using System.Reflection;
using ConnMsg.Gateway.Demo;
using ConnMsg.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace ConnMsg.Gateway;

/// <summary>Builds the ConnMsg gateway: a Kestrel host serving the demo service of PROTOCOL.md Appendix A.</summary>
public static class GatewayApp
{
    /// <summary>Default listen address when neither <c>--urls</c> nor configuration give one.</summary>
    public const string DefaultUrl = "http://127.0.0.1:8080";

    /// <summary>Creates the gateway, configured but not started. <c>--urls</c> (or <c>urls</c> in configuration) sets the endpoints; port 0 picks a free one.</summary>
    public static WebApplication Create(string[] args)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });

        // Every endpoint Kestrel binds (from --urls, ASPNETCORE_URLS or Kestrel:Endpoints) speaks ConnMsg.
        builder.WebHost.UseUrls(builder.Configuration["urls"] is { Length: > 0 } urls ? urls : DefaultUrl);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen => listen.UseConnMsg()));

        // Run socket completions and pipe continuations on the I/O thread instead of hopping to the thread pool: the
        // demo handlers never block, and each hop costs a context switch per read and per write. Applications whose
        // handlers may block synchronously should leave this off (Gateway:InlineScheduling=false).
        bool inline = builder.Configuration.GetValue("Gateway:InlineScheduling", true);
        builder.Services.Configure<SocketTransportOptions>(o => o.UnsafePreferInlineScheduling = inline);

        // Kestrel's socket transport (Gateway:Transport=kestrel, the default) or ConnMsg's (connmsg): less memory per held
        // connection and lower fan-out latency, but more CPU per delivered Ind in fan-out (README, "Transports").
        string transport = builder.Configuration["Gateway:Transport"] ?? "kestrel";
        switch (transport)
        {
            case "connmsg":
                builder.WebHost.UseConnMsgTransport();
                break;
            case "kestrel":
                break;
            default:
                throw new InvalidOperationException($"Gateway:Transport must be 'connmsg' or 'kestrel', not '{transport}'.");
        }

        ConnMsgBuilder connmsg = builder.Services.AddConnMsg();
        DemoService.Map(connmsg, builder.Configuration.GetValue("Demo:ServerRequests", false));
        MapStaticContent(connmsg);
        return builder.Build();
    }

    /// <summary>
    /// When <c>Gateway:InlineScheduling</c> is on (the default), asks the runtime to run socket completions on its epoll
    /// thread instead of queueing each one to the thread pool. Process-wide, and read once when the first socket is
    /// created: call it before the host starts. The executable calls it; tests that host the gateway in a process
    /// full of other sockets do not.
    /// </summary>
    /// <remarks>
    /// Kestrel's <c>UnsafePreferInlineScheduling</c> only removes the hops between its pipes; without this the epoll
    /// thread still hands every read to a pool thread, a context switch per batch of events. Measured on reqcfm
    /// 100 × 16 (server on one core): 2.48 → 1.92 server CPU-µs per request.
    /// </remarks>
    public static void PreferInlineSocketCompletions(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        const string variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
        if (app.Configuration.GetValue("Gateway:InlineScheduling", true) && Environment.GetEnvironmentVariable(variable) is null)
        {
            Environment.SetEnvironmentVariable(variable, "1");
        }
    }

    /// <summary>Drops every live connection without a close handshake: lets tests simulate a network failure.</summary>
    public static void AbortConnections(WebApplication app) => app.Services.GetRequiredService<IConnMsgServer>().AbortAll();

    private static void MapStaticContent(ConnMsgBuilder connmsg)
    {
        Assembly assembly = typeof(GatewayApp).Assembly;
        foreach (string name in assembly.GetManifestResourceNames())
        {
            const string prefix = "web/";
            if (!name.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            using Stream stream = assembly.GetManifestResourceStream(name)!;
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            string file = name[prefix.Length..];
            string path = file == "index.html" ? "/" : "/" + file;
            connmsg.MapStatic(path, ContentType(file), memory.ToArray());
            if (file == "index.html")
            {
                connmsg.MapStatic("/index.html", ContentType(file), memory.ToArray());
            }
        }
    }

    private static string ContentType(string file) => Path.GetExtension(file) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".ts" => "text/plain; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        ".json" => "application/json",
        _ => "application/octet-stream",
    };
}
