using ConnMsg.Hosting;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ConnMsg.Tests.Http;

/// <summary>
/// A server of its own whose refusals are read back as an operator sees them: the Prometheus counter by reason, and the
/// Debug line (event 1001). Its own, so that each count starts at zero.
/// </summary>
internal sealed class RefusalProbe : IAsyncDisposable
{
    public const int HandshakeRefusedEvent = 1001;

    private RefusalProbe(TestServer server, ScopedLogRecorder log)
    {
        Server = server;
        Log = log;
    }

    public TestServer Server { get; }

    public ScopedLogRecorder Log { get; }

    public static async Task<RefusalProbe> StartAsync(Action<ConnMsgOptions>? options = null, Action<ConnMsgBuilder>? configure = null)
    {
        var log = new ScopedLogRecorder();
        TestServer server = await TestServer.StartAsync(options, b =>
        {
            b.Services.AddSingleton<ILoggerProvider>(log);
            b.Services.AddLogging(l => l.AddFilter("ConnMsg", LogLevel.Debug));
            configure?.Invoke(b);
        });
        return new RefusalProbe(server, log);
    }

    /// <summary>
    /// Asserts that the one refusal so far was counted under <paramref name="reason"/> and logged with the peer, the
    /// status and that reason. Both happen before the answer is written, so they are there once a client has it.
    /// </summary>
    public async Task AssertOneRefusalAsync(int status, string reason)
    {
        string metrics = (await HttpGet.GetAsync(Server.HttpBase, "metrics")).Body;
        Assert.Contains($"connmsg_handshakes_refused_total{{reason=\"{reason}\"}} 1\n", metrics);
        ScopedLogRecorder.Entry entry = await Log.FirstAsync(HandshakeRefusedEvent).Within("the refusal to be logged", TimeSpan.FromSeconds(5));
        Assert.Contains("127.0.0.1", entry.Message);
        Assert.Contains($"{status} {reason}", entry.Message);
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}
