using System.Buffers;
using System.Text;
using System.Text.Json;
using ConnMsg.Messaging;
using ConnMsg.WebSockets;

namespace ConnMsg.Tests.Messaging;

/// <summary>PROTOCOL.md §3: the Ind and Rej envelopes, whichever way the server writes them.</summary>
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

    [Theory]
    [InlineData("7", "unknown_op", "no handler for this op")]
    [InlineData("\"abc\"", "overloaded", "too many requests in flight on this connection")]
    [InlineData("", "invalid_argument", " !#$%()*,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_abcdefghijklmnopqrstuvwxyz{|}~")]
    [InlineData("12", "shutting_down", null)]
    [InlineData("3", "forbidden", "a \"quoted\" back\\slash")]
    [InlineData("4", "custom_code", "caf\u00e9 <b> & 'x' + `y`\n")]
    public void ARejIsByteForByteWhatTheJsonWriterWrites(string rawId, string code, string? reason)
    {
        byte[] frame = Bytes(MessageWriter.Rej(Encoding.UTF8.GetBytes(rawId), code, reason));

        var expected = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(expected))
        {
            w.WriteStartObject();
            w.WriteString("type", "rej");
            w.WritePropertyName("id");
            if (rawId.Length == 0)
            {
                w.WriteNullValue();
            }
            else
            {
                w.WriteRawValue(rawId);
            }

            w.WriteString("code", code);
            if (reason is not null)
            {
                w.WriteString("reason", reason);
            }

            w.WriteEndObject();
        }

        Assert.Equal(Encoding.UTF8.GetString(expected.WrittenSpan), Encoding.UTF8.GetString(Payload(frame)));
    }

    private static byte[] Bytes(OutboundFrame frame)
    {
        byte[] bytes = frame.Span.ToArray();
        frame.Release();
        Assert.Equal(0x81, bytes[0]); // FIN + text
        Assert.True(bytes[1] <= 126);
        return bytes;
    }

    private static ReadOnlySpan<byte> Payload(byte[] frame) => frame.AsSpan(frame[1] < 126 ? 2 : 4);
}
