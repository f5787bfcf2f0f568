using System.Net.WebSockets;
using System.Text.Json;

namespace ConnMsg.Client.Tests.Infrastructure;

/// <summary>The scripted server's side of the re-subscription tests: the messages it sends and the scripts its connections share.</summary>
internal static class ResubscribeScript
{
    public const string Session = """{"type":"ind","topic":"$session","data":{"id":"s","keepAlive":15,"maxMessage":65536,"maxInFlight":256}}""";

    public static async Task<JsonElement> ReceiveJsonAsync(WebSocket socket)
        => JsonDocument.Parse(await ScriptedServer.ReceiveAsync(socket)).RootElement;

    public static string Cfm(JsonElement request) => $$"""{"type":"cfm","id":{{request.GetProperty("id").GetRawText()}}}""";

    /// <summary>A cfm that names the request (so it is its one answer) but whose data is not valid JSON.</summary>
    public static string MalformedCfm(JsonElement request) => $$"""{"type":"cfm","id":{{request.GetProperty("id").GetRawText()}},"data":[1,}""";

    /// <summary>A rej that names the request (so it is its one answer) but has no <c>code</c>, which PROTOCOL §3 requires.</summary>
    public static string MalformedRej(JsonElement request) => $$"""{"type":"rej","id":{{request.GetProperty("id").GetRawText()}},"reason":"no code"}""";

    /// <summary>
    /// Answers every request up to the client's <c>probe.marker</c> with what <paramref name="answer"/> makes of it
    /// (given the request, its op and topic), the marker with a cfm; returns the ones before the marker as "op topic",
    /// in the order they arrived.
    /// </summary>
    public static async Task<List<string>> RequestsUntilMarkerAsync(WebSocket socket, Func<JsonElement, string, string?, string> answer)
    {
        var seen = new List<string>();
        while (true)
        {
            var request = await ReceiveJsonAsync(socket);
            string op = request.GetProperty("op").GetString()!;
            if (op == "probe.marker")
            {
                await ScriptedServer.SendAsync(socket, Cfm(request));
                return seen;
            }

            string? topic = request.GetProperty("data").GetProperty("topic").GetString();
            await ScriptedServer.SendAsync(socket, answer(request, op, topic));
            seen.Add($"{op} {topic}");
        }
    }

    public static string Rej(JsonElement request, string code) => $$"""{"type":"rej","id":{{request.GetProperty("id").GetRawText()}},"code":"{{code}}"}""";

    /// <summary>Confirms every request until the client closes.</summary>
    public static async Task AnswerUntilClosedAsync(WebSocket socket)
    {
        try
        {
            while (true)
            {
                await ScriptedServer.SendAsync(socket, Cfm(await ReceiveJsonAsync(socket)));
            }
        }
        catch (WebSocketException)
        {
            // The client closed (ScriptedServer.ReceiveAsync reports its close frame this way) or went away.
        }
    }

    /// <summary>The first connection's script: confirms the one request it gets (the subscription), then drops when told.</summary>
    public static async Task ConfirmThenDropAsync(WebSocket socket, Task drop)
    {
        await ScriptedServer.SendAsync(socket, Cfm(await ReceiveJsonAsync(socket)));
        await drop;
        socket.Abort();
    }
}
