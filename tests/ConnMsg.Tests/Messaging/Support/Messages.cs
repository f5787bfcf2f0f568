using System.Text.Json;
using ConnMsg.Tests.Infrastructure;

namespace ConnMsg.Tests.Messaging.Support;

/// <summary>Protocol-level helpers over <see cref="WsClient"/> used by the messaging tests.</summary>
public static class Messages
{
    private static int s_quietIds;

    /// <summary>The next message, which must be the answer to <paramref name="request"/> (Inds in between are skipped).</summary>
    public static async Task<JsonElement> AnswerAsync(this WsClient client, string request) => await client.RequestAsync(request);

    /// <summary>Asserts that the rej has <paramref name="code"/> and the raw <paramref name="rawId"/> token.</summary>
    public static void AssertRej(this JsonElement answer, string code, string rawId)
    {
        Assert.Equal("rej", answer.Type());
        Assert.Equal(code, answer.Str("code"));
        Assert.Equal(rawId, answer.Raw("id"));
    }

    /// <summary>
    /// Proves nothing else was queued for this client before now: sends a <c>$ping</c> and requires its <c>cfm</c> to be
    /// the very next message (the server answers in order on one connection, so a stray message would come first).
    /// </summary>
    public static async Task AssertNothingElseArrivesAsync(this WsClient client)
    {
        string id = $"\"quiet-{Interlocked.Increment(ref s_quietIds)}\"";
        await client.SendAsync($$"""{"type":"req","id":{{id}},"op":"$ping"}""");
        JsonElement next = await client.ReceiveJsonAsync();
        Assert.True(next.Type() == "cfm" && next.Raw("id") == id, $"expected only the $ping cfm, got {next.GetRawText()}");
    }

    /// <summary>Subscribes and returns the <c>cfm</c>'s data (or fails on a rej).</summary>
    public static async Task<JsonElement> SubscribeAsync(this WsClient client, string topic, long? since = null)
    {
        string sinceMember = since is long n ? $",\"since\":{n}" : "";
        JsonElement answer = await client.RequestAsync($$$"""{"type":"req","id":"sub-{{{topic}}}","op":"$subscribe","data":{"topic":"{{{topic}}}"{{{sinceMember}}}}}""");
        Assert.True(answer.Type() == "cfm", $"$subscribe {topic} was refused: {answer.GetRawText()}");
        return answer.TryGetProperty("data", out JsonElement data) ? data : default;
    }

    /// <summary>Publishes through the demo op and returns the number of subscribers reached.</summary>
    public static async Task<int> PublishAsync(this WsClient client, string topic, string dataJson)
    {
        JsonElement answer = await client.RequestAsync($$$"""{"type":"req","id":"pub","op":"publish","data":{"topic":"{{{topic}}}","data":{{{dataJson}}}}}""");
        Assert.True(answer.Type() == "cfm", $"publish was refused: {answer.GetRawText()}");
        return answer.GetProperty("data").GetProperty("subscribers").GetInt32();
    }

    /// <summary>The next <paramref name="count"/> messages, all of which must be Inds.</summary>
    public static async Task<List<JsonElement>> ReceiveIndsAsync(this WsClient client, int count)
    {
        var inds = new List<JsonElement>(count);
        while (inds.Count < count)
        {
            JsonElement m = await client.ReceiveJsonAsync();
            Assert.True(m.Type() == "ind", $"expected an ind, got {m.GetRawText()}");
            inds.Add(m);
        }

        return inds;
    }

    /// <summary>Waits for the server's close frame and completes the close handshake (so the server need not wait it out).</summary>
    public static async Task<int?> ReceiveCloseAndReplyAsync(this WsClient client, TimeSpan? timeout = null)
    {
        int? code = await client.ReceiveCloseAsync(timeout);
        if (client.Socket.State == System.Net.WebSockets.WebSocketState.CloseReceived)
        {
            await client.Socket.CloseOutputAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        }

        return code;
    }

    public static long Seq(this JsonElement ind) => ind.GetProperty("seq").GetInt64();
}
