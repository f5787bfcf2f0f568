using System.Text;
using System.Text.Json;
using ConnMsg.Messaging;
using ConnMsg.WebSockets;

namespace ConnMsg.Tests.Messaging;

/// <summary>PROTOCOL.md §3: the Ind envelope, whichever way the server writes it.</summary>
public sealed class MessageWriterTests
{
    public static TheoryData<string, long, string> Inds => new()
    {
        { "a", 0, "" },
        { "prices.EURUSD", 0, """{"bid":1.0842}""" },
        { "history.orders", 1, "\"filled\"" },
        { "AZaz09._-:/x", long.MaxValue, "[1,2,3]" },
        { "$session", 0, """{"id":"c1"}""" },
    };

    [Theory]
    [MemberData(nameof(Inds))]
    public void AnIndWrittenAsPlainBytesIsByteForByteTheOneTheJsonWriterWrites(string topic, long seq, string data)
    {
        // validateData: true takes the JSON writer's path, which is the reference here.
        byte[] plain = Bytes(MessageWriter.Ind(topic, seq, Encoding.UTF8.GetBytes(data), validateData: false));
        byte[] written = Bytes(MessageWriter.Ind(topic, seq, Encoding.UTF8.GetBytes(data), validateData: true));

        Assert.Equal(Encoding.UTF8.GetString(written), Encoding.UTF8.GetString(plain));
        using JsonDocument ind = JsonDocument.Parse(plain.AsMemory(2)); // a text frame of < 126 bytes: 2-byte header
        Assert.Equal("ind", ind.RootElement.GetProperty("type").GetString());
        Assert.Equal(topic, ind.RootElement.GetProperty("topic").GetString());
        Assert.Equal(seq > 0, ind.RootElement.TryGetProperty("seq", out JsonElement s) && s.GetInt64() == seq);
        Assert.Equal(data.Length > 0, ind.RootElement.TryGetProperty("data", out JsonElement d) && d.GetRawText() == data);
    }

    [Theory]
    [InlineData("quote\"d")]
    [InlineData("caf\u00e9")]
    [InlineData("a+b<c>")]
    public void AnIndWhoseTopicNeedsEscapingIsStillValidJsonThatSpellsTheTopic(string topic)
    {
        byte[] frame = Bytes(MessageWriter.Ind(topic, 0, "1"u8, validateData: false));

        using JsonDocument ind = JsonDocument.Parse(frame.AsMemory(2));
        Assert.Equal(topic, ind.RootElement.GetProperty("topic").GetString());
        Assert.Equal(1, ind.RootElement.GetProperty("data").GetInt32());
    }

    private static byte[] Bytes(OutboundFrame frame)
    {
        byte[] bytes = frame.Span.ToArray();
        frame.Release();
        Assert.Equal(0x81, bytes[0]); // FIN + text
        Assert.True(bytes[1] < 126);
        return bytes;
    }
}
