using System.Text;
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
