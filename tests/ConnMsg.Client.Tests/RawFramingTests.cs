using System.Text;
using System.Text.Json;
using ConnMsg.Client.Tests.Infrastructure;
using static ConnMsg.Client.Tests.Infrastructure.TestClients;

namespace ConnMsg.Client.Tests;

/// <summary>
/// The own transport's receive path against frames cut into writes the way a test chooses: byte by byte, and many
/// frames in one write. The server side is Kestrel with the upgrade answered by hand.
/// </summary>
public sealed class RawFramingTests
{
    private const string Session = """{"type":"ind","topic":"$session","data":{"id":"s","keepAlive":15,"maxMessage":65536,"maxInFlight":256}}""";

    [Fact]
    public async Task FramesWrittenOneBytePerWriteAreReassembledAcrossEveryBoundary()
    {
        var pongPayload = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await RawWebSocketServer.StartAsync(async stream =>
        {
            await WriteByteByByteAsync(stream, RawWebSocketServer.Text(Session));
            var (opcode, payload) = await RawWebSocketServer.ReadClientFrameAsync(stream);
            Assert.Equal(0x1, opcode);
            using var request = JsonDocument.Parse(payload);
            string id = request.RootElement.GetProperty("id").GetRawText();

            // A 16-bit-length answer in two fragments with a ping between them, every byte its own write.
            string data = new('q', 300);
            byte[] answer = Encoding.UTF8.GetBytes($$"""{"type":"cfm","id":{{id}},"data":"{{data}}"}""");
            var frames = RawWebSocketServer.Frame(0x1, answer.AsSpan(0, 200), fin: false)
                .Concat(RawWebSocketServer.Frame(0x9, "are you there"u8))
                .Concat(RawWebSocketServer.Frame(0x0, answer.AsSpan(200)))
                .ToArray();
            await WriteByteByByteAsync(stream, frames);
            var pong = await RawWebSocketServer.ReadClientFrameAsync(stream);
            Assert.Equal(0xA, pong.Opcode);
            pongPayload.SetResult(Encoding.UTF8.GetString(pong.Payload));
            await ReadUntilCloseAsync(stream);
        });
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options() with { Reconnect = false });

        Assert.Equal("s", client.Session?.Id);
        Assert.Equal(new string('q', 300), await client.RequestAsync<string>("anything", (object?)null).Within());
        Assert.Equal("are you there", await pongPayload.Task.Within());
    }

    [Fact]
    public async Task ManyFramesInOneWriteAreAllDispatched()
    {
        const int Count = 200;
        await using var server = await RawWebSocketServer.StartAsync(async stream =>
        {
            await stream.WriteAsync(RawWebSocketServer.Text(Session));
            var ids = new List<string>();
            while (ids.Count < Count)
            {
                var (_, payload) = await RawWebSocketServer.ReadClientFrameAsync(stream);
                using var request = JsonDocument.Parse(payload);
                ids.Add(request.RootElement.GetProperty("id").GetRawText());
            }

            // Every answer in one write, in reverse order: correlation is by id, never by position.
            var all = ids.AsEnumerable().Reverse()
                .SelectMany(id => RawWebSocketServer.Text($$"""{"type":"cfm","id":{{id}},"data":{{id}}}"""))
                .ToArray();
            await stream.WriteAsync(all);
            await stream.FlushAsync();
            await ReadUntilCloseAsync(stream);
        });
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options() with { Reconnect = false });

        var answers = await Task.WhenAll(Enumerable.Range(0, Count).Select(_ => client.RequestAsync("anything", default(ReadOnlyMemory<byte>)))).Within();
        var distinct = answers.Select(Text).ToHashSet();
        Assert.Equal(Count, distinct.Count);
    }

    [Fact]
    public async Task ContinuationFrameOutsideAFragmentedMessageClosesWith1002()
    {
        var closeCode = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await RawWebSocketServer.StartAsync(async stream =>
        {
            await stream.WriteAsync(RawWebSocketServer.Text(Session));
            await RawWebSocketServer.ReadClientFrameAsync(stream);
            await stream.WriteAsync(RawWebSocketServer.Frame(0x0, "{}"u8));
            await stream.FlushAsync();
            while (true)
            {
                var (opcode, payload) = await RawWebSocketServer.ReadClientFrameAsync(stream);
                if (opcode == 0x8)
                {
                    closeCode.SetResult((payload[0] << 8) | payload[1]);
                    return;
                }
            }
        });
        await using var client = await ConnMsgClient.ConnectAsync(server.WebSocketUri, Options() with { Reconnect = false });

        await Assert.ThrowsAsync<ConnMsgConnectionLostException>(() => client.RequestAsync("anything", default(ReadOnlyMemory<byte>))).Within();
        Assert.Equal(1002, await closeCode.Task.Within());
    }

    private static async Task WriteByteByByteAsync(Stream stream, byte[] bytes)
    {
        for (int i = 0; i < bytes.Length; i++)
        {
            await stream.WriteAsync(bytes.AsMemory(i, 1));
            await stream.FlushAsync();
        }
    }

    private static async Task ReadUntilCloseAsync(Stream stream)
    {
        try
        {
            while ((await RawWebSocketServer.ReadClientFrameAsync(stream)).Opcode != 0x8)
            {
            }
        }
        catch (EndOfStreamException)
        {
        }
        catch (IOException)
        {
        }
    }
}
