using ConnMsg.Gateway;
using Microsoft.AspNetCore.Builder;

namespace ConnMsg.Client.Tests.Infrastructure;

/// <summary>The real gateway (Appendix A) on a loopback ephemeral port, one per test so that aborting its connections hits only that test.</summary>
internal sealed class TestGateway : IAsyncDisposable
{
    private TestGateway(WebApplication app, Uri webSocketUri)
    {
        App = app;
        WebSocketUri = webSocketUri;
    }

    public WebApplication App { get; }

    public Uri WebSocketUri { get; }

    /// <summary>History topics count seq from 0 instead of the clock, for tests that read a seq as the number published.</summary>
    public const string CountingFromZero = "--ConnMsg:HistorySeqFromClock=false";

    /// <param name="args">Extra command-line settings, e.g. <c>--Demo:ServerRequests=true</c>.</param>
    public static async Task<TestGateway> StartAsync(params string[] args)
    {
        var app = GatewayApp.Create(["--urls", "http://127.0.0.1:0", .. args]);
        await app.StartAsync();
        var http = new Uri(app.Urls.First());
        return new TestGateway(app, new Uri($"ws://127.0.0.1:{http.Port}/ws"));
    }

    /// <summary>Server-side abort of every live connection: the client sees an abrupt drop, not a close it asked for.</summary>
    public void AbortConnections() => GatewayApp.AbortConnections(App);

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
