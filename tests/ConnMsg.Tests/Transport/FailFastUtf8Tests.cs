using System.Text;

namespace ConnMsg.Tests.Transport;

/// <summary>
/// Autobahn 6.4.x, strict: invalid UTF-8 fails the connection as soon as the invalid bytes arrive, even when the frame
/// that carries them is not complete yet; valid text that arrives in pieces is unaffected.
/// </summary>
public class FailFastUtf8Tests : IClassFixture<RawServerFixture>
{
    private readonly RawServerFixture _fixture;

    public FailFastUtf8Tests(RawServerFixture fixture) => _fixture = fixture;

    [Fact]
    public async Task InvalidUtf8AtTheStartOfAnIncompleteFrameClosesWith1007BeforeTheFrameEnds()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        byte[] payload = new byte[4000];
        payload.AsSpan().Fill((byte)'a');
        payload[10] = 0xFF; // never valid in UTF-8
        byte[] frame = ClientFrames.Frame(ClientFrames.Text, payload);

        // Only the header and the first 100 payload bytes: the rest never comes.
        await ws.SendAsync(frame.AsSpan(0, 4 + 100).ToArray());
        Assert.Equal((ushort)1007, await ws.ReceiveCloseCodeAsync());
    }

    [Fact]
    public async Task InvalidUtf8InAnIncompleteContinuationFrameClosesWith1007()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        await ws.SendFrameAsync(ClientFrames.Text, Encoding.UTF8.GetBytes("{\"type\":"), fin: false);
        byte[] payload = new byte[2000];
        payload.AsSpan().Fill((byte)'b');
        payload[50] = 0xC0; // overlong lead byte
        byte[] frame = ClientFrames.Frame(ClientFrames.Continuation, payload, fin: true);
        await ws.SendAsync(frame.AsSpan(0, 4 + 200).ToArray());
        Assert.Equal((ushort)1007, await ws.ReceiveCloseCodeAsync());
    }

    [Fact]
    public async Task ValidTextFrameArrivingInManyPiecesIsEchoedIntact()
    {
        await using RawWebSocket ws = await _fixture.ConnectAsync();
        string text = string.Concat(Enumerable.Repeat("h\u00e9llo \u20ac \U0001F600 ", 300));
        string request = $"{{\"type\":\"req\",\"id\":1,\"op\":\"echo\",\"data\":\"{text}\"}}";
        byte[] frame = ClientFrames.TextFrame(request);

        // Pieces of 7 bytes split code points and the mask cycle at every offset the server sees.
        for (int i = 0; i < frame.Length; i += 7)
        {
            await ws.SendAsync(frame.AsSpan(i, Math.Min(7, frame.Length - i)).ToArray());
        }

        string answer = await ws.ReceiveTextAsync();
        Assert.Contains(text, answer);
        Assert.StartsWith("{\"type\":\"cfm\",\"id\":1", answer);
    }
}
