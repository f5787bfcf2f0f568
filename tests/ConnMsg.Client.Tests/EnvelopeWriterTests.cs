using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using ConnMsg.Client.Internal;

namespace ConnMsg.Client.Tests;

/// <summary>The outbound envelope encoder: <c>type</c> first, exact bytes (PROTOCOL §3).</summary>
public sealed class EnvelopeWriterTests
{
    private static string Text(OutboundMessage message)
    {
        try
        {
            return Encoding.UTF8.GetString(message.Memory.Span);
        }
        finally
        {
            message.Return();
        }
    }

    [Fact]
    public void RequestIsEncodedTypeFirst()
    {
        var message = EnvelopeWriter.WriteRequest(7, "orders.place", """{"sku":"A1","qty":2}"""u8.ToArray(),
            static (w, s) => w.WriteRawValue(s));

        Assert.Equal("""{"type":"req","id":7,"op":"orders.place","data":{"sku":"A1","qty":2}}""", Text(message));
    }

    [Fact]
    public void RequestWithoutDataOmitsData()
    {
        Assert.Equal("""{"type":"req","id":1,"op":"time"}""", Text(EnvelopeWriter.WriteRequest<object?>(1, "time", null, null)));
    }

    [Theory]
    [InlineData("echo")]
    [InlineData("$subscribe")]
    [InlineData("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-:/")]
    public void RequestIsTheBytesAJsonWriterWrites(string op)
    {
        foreach (long id in new[] { 0L, 9L, 10L, 1234567890123L, (1L << 53) - 1, long.MaxValue })
        {
            var expected = new ArrayBufferWriter<byte>();
            using (var w = new Utf8JsonWriter(expected, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                w.WriteStartObject();
                w.WriteString("type", "req");
                w.WriteNumber("id", id);
                w.WriteString("op", op);
                w.WriteString("data", "x\"é");
                w.WriteEndObject();
            }

            Assert.Equal(Encoding.UTF8.GetString(expected.WrittenSpan), Text(EnvelopeWriter.WriteRequest(id, op, "x\"é", static (w, s) => w.WriteStringValue(s))));
        }
    }

    [Fact]
    public void RequestOpThatNeedsEscapingIsEscaped()
    {
        // NameGuard refuses such an op before it gets here; the encoder still never writes broken JSON.
        Assert.Equal("""{"type":"req","id":1,"op":"a\"b"}""", Text(EnvelopeWriter.WriteRequest<object?>(1, "a\"b", null, null)));
    }

    [Fact]
    public void RequestDataWriterThatWritesNoValueIsRefused()
    {
        Assert.Throws<InvalidOperationException>(() => EnvelopeWriter.WriteRequest(1, "echo", 0, static (w, s) => { }));

        Assert.Equal("""{"type":"req","id":2,"op":"echo","data":5}""", Text(EnvelopeWriter.WriteRequest(2, "echo", 5, static (w, s) => w.WriteNumberValue(s))));
    }

    [Fact]
    public void CfmEchoesTheIdTokenVerbatim()
    {
        Assert.Equal("""{"type":"cfm","id":"abc","data":[1]}""", Text(EnvelopeWriter.WriteCfm("\"abc\""u8, "[1]"u8)));
    }

    [Fact]
    public void RejWithoutIdWritesNull()
    {
        Assert.Equal("""{"type":"rej","id":null,"code":"bad_message","reason":"x"}""", Text(EnvelopeWriter.WriteRej(default, "bad_message", "x")));
    }

    [Fact]
    public void NonAsciiIsNotEscaped()
    {
        // Escaping would only inflate messages towards maxMessage.
        var message = EnvelopeWriter.WriteRequest(2, "echo", "é✓", static (w, s) => w.WriteStringValue(s));

        Assert.Equal("""{"type":"req","id":2,"op":"echo","data":"é✓"}""", Text(message));
    }

    [Fact]
    public void FailedEncodeLeavesTheWriterUsable()
    {
        Assert.ThrowsAny<JsonException>(() => EnvelopeWriter.WriteRequest(3, "echo", "{oops"u8.ToArray(), static (w, s) => w.WriteRawValue(s)));

        Assert.Equal("""{"type":"req","id":4,"op":"echo","data":5}""", Text(EnvelopeWriter.WriteRequest(4, "echo", 5, static (w, s) => w.WriteNumberValue(s))));
    }
}
