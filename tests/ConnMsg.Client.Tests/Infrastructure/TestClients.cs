using System.Text;
using System.Text.Json;

namespace ConnMsg.Client.Tests.Infrastructure;

/// <summary>Client settings and helpers shared by the tests.</summary>
internal static class TestClients
{
    /// <summary>Upper bound for anything awaited in a test; a hang fails the test instead of the run.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    public static ConnMsgClientOptions Options(TestLogger? logger = null) => new()
    {
        RequestTimeout = TimeSpan.FromSeconds(15),
        ReconnectInitialDelay = TimeSpan.FromMilliseconds(20),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
        Logger = logger,
    };

    public static Task<ConnMsgClient> ConnectAsync(TestGateway gateway, ConnMsgClientOptions? options = null)
        => ConnMsgClient.ConnectAsync(gateway.WebSocketUri, options ?? Options());

    public static Task<T> Within<T>(this Task<T> task) => task.WaitAsync(Patience);

    public static Task Within(this Task task) => task.WaitAsync(Patience);

    public static ReadOnlyMemory<byte> Json(string json) => Encoding.UTF8.GetBytes(json);

    public static string Text(ReadOnlyMemory<byte> utf8) => Encoding.UTF8.GetString(utf8.Span);

    /// <summary>Publishes <c>{"n":n}</c> on <paramref name="topic"/> through the demo op; returns the subscriber count.</summary>
    public static async Task<int> PublishAsync(ConnMsgClient client, string topic, int n)
    {
        var answer = await client.RequestAsync("publish", Json($$$"""{"topic":"{{{topic}}}","data":{"n":{{{n}}}}}"""));
        using var doc = JsonDocument.Parse(answer);
        return doc.RootElement.GetProperty("subscribers").GetInt32();
    }

    /// <summary>Publishes, retrying while the connection is being re-established (a retried publish may publish twice).</summary>
    public static async Task PublishWithRetryAsync(ConnMsgClient client, string topic, int n)
    {
        while (true)
        {
            try
            {
                await PublishAsync(client, topic, n);
                return;
            }
            catch (ConnMsgConnectionLostException)
            {
            }
        }
    }

    /// <summary>The topic's current seq, asked with a raw <c>$subscribe</c> (PROTOCOL §5.3: the cfm carries <c>{"seq":current}</c>).</summary>
    public static async Task<long> CurrentSeqAsync(ConnMsgClient client, string topic)
    {
        var answer = await client.RequestAsync("$subscribe", Json($$"""{"topic":"{{topic}}"}"""));
        using var doc = JsonDocument.Parse(answer);
        return doc.RootElement.GetProperty("seq").GetInt64();
    }

    public static int N(ConnMsgInd ind)
    {
        using var doc = JsonDocument.Parse(ind.Data);
        return doc.RootElement.GetProperty("n").GetInt32();
    }

    public static string UniqueTopic(string prefix) => $"{prefix}{Guid.NewGuid():N}";
}
