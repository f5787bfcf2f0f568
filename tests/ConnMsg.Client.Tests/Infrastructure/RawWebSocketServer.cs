using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace ConnMsg.Client.Tests.Infrastructure;

/// <summary>
/// A Kestrel endpoint that answers the WebSocket upgrade itself and hands the script the raw upgraded stream, so a
/// test controls exactly how the server's frames are cut into writes (one byte per write, many frames per write).
/// </summary>
internal sealed class RawWebSocketServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RawWebSocketServer(WebApplication app, Uri webSocketUri)
    {
        _app = app;
        WebSocketUri = webSocketUri;
    }

    public Uri WebSocketUri { get; }

    public static async Task<RawWebSocketServer> StartAsync(Func<Stream, Task> script)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Map("/ws", async context =>
        {
            var upgrade = context.Features.Get<IHttpUpgradeFeature>()!;
            string key = context.Request.Headers["Sec-WebSocket-Key"].ToString();
            string accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
            context.Response.Headers["Upgrade"] = "websocket";
            context.Response.Headers["Connection"] = "Upgrade";
            context.Response.Headers["Sec-WebSocket-Accept"] = accept;
            context.Response.Headers["Sec-WebSocket-Protocol"] = "connmsg.v1";
            await using var stream = await upgrade.UpgradeAsync();
            await script(stream);
        });
        await app.StartAsync();
        var http = new Uri(app.Urls.First());
        return new RawWebSocketServer(app, new Uri($"ws://127.0.0.1:{http.Port}/ws"));
    }

    /// <summary>An unmasked server frame (RFC 6455 §5.2).</summary>
    public static byte[] Frame(byte opcode, ReadOnlySpan<byte> payload, bool fin = true)
    {
        var frame = new List<byte> { (byte)((fin ? 0x80 : 0) | opcode) };
        if (payload.Length <= 125)
        {
            frame.Add((byte)payload.Length);
        }
        else if (payload.Length <= ushort.MaxValue)
        {
            frame.AddRange([126, (byte)(payload.Length >> 8), (byte)payload.Length]);
        }
        else
        {
            frame.Add(127);
            for (int shift = 56; shift >= 0; shift -= 8)
            {
                frame.Add((byte)((long)payload.Length >> shift));
            }
        }

        frame.AddRange(payload.ToArray());
        return [.. frame];
    }

    public static byte[] Text(string json, bool fin = true) => Frame(0x1, Encoding.UTF8.GetBytes(json), fin);

    /// <summary>Reads one masked client frame and returns its opcode and unmasked payload.</summary>
    public static async Task<(byte Opcode, byte[] Payload)> ReadClientFrameAsync(Stream stream)
    {
        byte[] head = new byte[2];
        await stream.ReadExactlyAsync(head);
        long length = head[1] & 0x7F;
        if (length == 126)
        {
            byte[] ext = new byte[2];
            await stream.ReadExactlyAsync(ext);
            length = (ext[0] << 8) | ext[1];
        }
        else if (length == 127)
        {
            byte[] ext = new byte[8];
            await stream.ReadExactlyAsync(ext);
            length = 0;
            foreach (byte b in ext)
            {
                length = (length << 8) | b;
            }
        }

        if ((head[1] & 0x80) == 0)
        {
            throw new InvalidDataException("A client frame must be masked (RFC 6455 §5.1).");
        }

        byte[] mask = new byte[4];
        await stream.ReadExactlyAsync(mask);
        byte[] payload = new byte[length];
        await stream.ReadExactlyAsync(payload);
        for (int i = 0; i < payload.Length; i++)
        {
            payload[i] ^= mask[i % 4];
        }

        return ((byte)(head[0] & 0x0F), payload);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
