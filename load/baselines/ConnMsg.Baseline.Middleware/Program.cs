using System.Net.WebSockets;
using ConnMsg.Baseline.Middleware;

// The comparison server: what a competent developer writes with the framework's own
// WebSocket middleware, System.Net.WebSockets and System.Text.Json (see README.md).
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
if (builder.Configuration["urls"] is null && builder.Configuration["ASPNETCORE_URLS"] is null)
{
    builder.WebHost.UseUrls("http://127.0.0.1:5081");
}

builder.Services.AddSingleton<TopicRegistry>();
builder.Services.AddSingleton<DemoService>();

var app = builder.Build();
app.UseWebSockets(new WebSocketOptions
{
    KeepAliveInterval = TimeSpan.FromSeconds(BaselineLimits.KeepAliveSeconds),
    KeepAliveTimeout = TimeSpan.FromSeconds(2 * BaselineLimits.KeepAliveSeconds),
});

app.MapGet("/healthz", () => "ok");
app.Map("/ws", async (HttpContext context, DemoService service) =>
{
    if (!context.WebSockets.IsWebSocketRequest)
    {
        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        await context.Response.WriteAsync("expected a WebSocket upgrade\n");
        return;
    }

    var offered = context.WebSockets.WebSocketRequestedProtocols;
    string? subProtocol = null;
    if (offered.Count > 0)
    {
        if (!offered.Contains(BaselineLimits.SubProtocol))
        {
            // PROTOCOL.md §2: offering only other subprotocols is refused.
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("subprotocol connmsg.v1 required\n");
            return;
        }

        subProtocol = BaselineLimits.SubProtocol;
    }

    using WebSocket socket = await context.WebSockets.AcceptWebSocketAsync(subProtocol);
    var connection = new BaselineConnection(socket, service);
    await connection.RunAsync(context.RequestAborted);
});

app.Run();
