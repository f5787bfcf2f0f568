using ConnMsg.Baseline.SignalR;

// The SignalR comparison server: the Appendix A operations as hub methods, fan-out through groups.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
if (builder.Configuration["urls"] is null && builder.Configuration["ASPNETCORE_URLS"] is null)
{
    builder.WebHost.UseUrls("http://127.0.0.1:5082");
}

builder.Services.AddSignalR(o =>
{
    o.KeepAliveInterval = TimeSpan.FromSeconds(15);
    o.ClientTimeoutInterval = TimeSpan.FromSeconds(30);
    // The load driver keeps many invocations in flight per connection, as the ConnMsg clients do.
    o.MaximumParallelInvocationsPerClient = 256;
});
builder.Services.AddSingleton<GroupCounter>();

var app = builder.Build();
app.MapGet("/healthz", () => "ok");
app.MapHub<DemoHub>("/hub");
app.Run();
