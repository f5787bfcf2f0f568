using System.Text;

namespace ConnMsg.Bench.Infrastructure;

/// <summary>The messages every suite uses, so the numbers of different suites talk about the same bytes.</summary>
internal static class Payloads
{
    public static readonly byte[] EchoRequest = """{"type":"req","id":42,"op":"echo","data":{"text":"hello, world","n":7}}"""u8.ToArray();

    public static readonly byte[] SmallRequest = """{"type":"req","id":42,"op":"orders.get","data":{"orderId":"A-1001","fields":["status","total"]}}"""u8.ToArray();

    /// <summary>Members in the reverse of the usual order, plus an unknown member that must be skipped.</summary>
    public static readonly byte[] ReorderedRequest =
        """{"data":{"orderId":"A-1001","fields":["status","total"]},"trace":{"span":"7f3a","sampled":true},"op":"orders.get","id":"req-42","type":"req"}"""u8.ToArray();

    /// <summary>A request whose data is about 4 KiB of nested objects, strings (some non-ASCII) and numbers.</summary>
    public static readonly byte[] LargeRequest = BuildLarge(4096);

    /// <summary>The data of <see cref="EchoRequest"/>, as raw JSON.</summary>
    public static readonly byte[] SmallData = """{"text":"hello, world","n":7}"""u8.ToArray();

    /// <summary>A browser's upgrade request (Chromium's header set).</summary>
    public static readonly byte[] UpgradeRequest = Encoding.ASCII.GetBytes(
        "GET /ws HTTP/1.1\r\n" +
        "Host: localhost:5080\r\n" +
        "Connection: Upgrade\r\n" +
        "Pragma: no-cache\r\n" +
        "Cache-Control: no-cache\r\n" +
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n" +
        "Upgrade: websocket\r\n" +
        "Origin: http://localhost:5080\r\n" +
        "Sec-WebSocket-Version: 13\r\n" +
        "Accept-Encoding: gzip, deflate, br, zstd\r\n" +
        "Accept-Language: en-US,en;q=0.9\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
        "Sec-WebSocket-Protocol: connmsg.v1\r\n" +
        "\r\n");

    /// <summary>Text of <paramref name="length"/> bytes: JSON-like ASCII with about one multi-byte character in eight.</summary>
    public static byte[] MixedText(int length)
    {
        string[] words = ["price", "€12.50", "naïve", "Grüße", "status", "日本語", "ok", "😀", "total", "ünïcödé"];
        var sb = new StringBuilder();
        int i = 0;
        while (Encoding.UTF8.GetByteCount(sb.ToString()) < length)
        {
            sb.Append("{\"k\":\"").Append(words[i++ % words.Length]).Append("\"},");
        }

        byte[] bytes = Encoding.UTF8.GetBytes(sb.ToString());
        // Cut on a code point boundary so the text stays valid.
        int end = length;
        while (end > 0 && end < bytes.Length && (bytes[end] & 0xC0) == 0x80)
        {
            end--;
        }

        return bytes.AsSpan(0, end).ToArray();
    }

    /// <summary>ASCII JSON text of <paramref name="length"/> bytes.</summary>
    public static byte[] AsciiText(int length)
    {
        var sb = new StringBuilder();
        int i = 0;
        while (sb.Length < length)
        {
            sb.Append("{\"id\":").Append(i++).Append(",\"name\":\"item\",\"ok\":true},");
        }

        return Encoding.ASCII.GetBytes(sb.ToString(0, length));
    }

    private static byte[] BuildLarge(int approximateLength)
    {
        var sb = new StringBuilder("""{"type":"req","id":"c0ffee-0001","op":"orders.place","data":{"customer":"Zoë Müller","items":[""");
        int i = 0;
        while (sb.Length < approximateLength - 80)
        {
            if (i > 0)
            {
                sb.Append(',');
            }

            sb.Append("{\"sku\":\"SKU-").Append(1000 + i).Append("\",\"qty\":").Append(i % 7 + 1)
              .Append(",\"price\":").Append(9.99 + i).Append(",\"note\":\"größe M, colour «blue»\"}");
            i++;
        }

        sb.Append("""],"express":true}}""");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }
}
