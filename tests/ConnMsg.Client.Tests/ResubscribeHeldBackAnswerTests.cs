using System.Net.WebSockets;
using System.Text.Json;
using ConnMsg.Client.Tests.Infrastructure;
using static ConnMsg.Client.Tests.Infrastructure.ResubscribeScript;
using static ConnMsg.Client.Tests.Infrastructure.TestClients;

namespace ConnMsg.Client.Tests;

/// <summary>
/// Re-subscription after a reconnect (PROTOCOL §5.2) whose answer the server holds back: the connection opens to
/// requests only once every topic is re-subscribed, and the topics confirmed meanwhile live on it. A scripted server
/// decides when each answer goes, which the gateway cannot be made to do.
/// </summary>
public sealed class ResubscribeHeldBackAnswerTests
{
    [Fact]
    public async Task TopicUnsubscribedWhileTheReconnectStillResubscribesOthersIsUnsubscribedOnTheNewConnection()
    {
        var drop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseB = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var beforeMarker = new TaskCompletionSource<List<string>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ScriptedServer.StartAsync(async (socket, index) =>
        {
            await ScriptedServer.SendAsync(socket, Session);
            if (index == 0)
            {
                await ScriptedServer.SendAsync(socket, Cfm(await ReceiveJsonAsync(socket)));
                await ConfirmThenDropAsync(socket, drop.Task);
                return;
            }

            // The new connection: topic.a is confirmed at once, topic.b's $subscribe is held back, so the connection
            // is not yet open to requests while topic.a is live on it.
            var seen = new List<string>();
            Task<JsonElement>? receiving = null;
            string? heldCfm = null;
            try
            {
                while (true)
                {
                    receiving ??= ReceiveJsonAsync(socket);
                    if (heldCfm is not null && await Task.WhenAny(receiving, releaseB.Task) != receiving)
                    {
                        await ScriptedServer.SendAsync(socket, heldCfm);
                        heldCfm = null;
                        continue;
                    }

                    var message = await receiving;
                    receiving = null;
                    string op = message.GetProperty("op").GetString()!;
                    if (op == "probe.marker")
                    {
                        beforeMarker.SetResult(seen);
                    }
                    else
                    {
                        seen.Add($"{op} {message.GetProperty("data").GetProperty("topic").GetString()}");
                    }

                    if (op == "$subscribe" && seen[^1].EndsWith("topic.b", StringComparison.Ordinal))
                    {
                        heldCfm = Cfm(message);
                    }
                    else
                    {
                        await ScriptedServer.SendAsync(socket, Cfm(message));
                    }
                }
            }
            catch (WebSocketException)
            {
                // The client closed.
            }
        });
        var logger = new TestLogger();
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options(logger));
        var a = await client.SubscribeAsync("topic.a").Within();
        await using var b = await client.SubscribeAsync("topic.b").Within();

        drop.SetResult();
        await logger.WaitForAsync(16, m => m.StartsWith("Resubscribed topic.a ", StringComparison.Ordinal)).Within();
        Assert.Equal(ConnMsgConnectionState.Reconnecting, client.State); // topic.b is still on its way
        await a.DisposeAsync().AsTask().Within();
        releaseB.SetResult();
        await client.RequestAsync("probe.marker", default).Within(); // sent once the new connection is open

        var seen = await beforeMarker.Task.Within();
        Assert.Contains("$unsubscribe topic.a", seen);
    }
}
