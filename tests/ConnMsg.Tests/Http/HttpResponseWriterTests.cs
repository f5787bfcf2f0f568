using System.IO.Pipelines;
using System.Text;
using ConnMsg.Http;

namespace ConnMsg.Tests.Http;

/// <summary>The plain responses written on the WebSocket port (RFC 9112 §4).</summary>
public class HttpResponseWriterTests
{
    [Theory]
    [InlineData(200, "OK")]
    [InlineData(400, "Bad Request")]
    [InlineData(401, "Unauthorized")]
    [InlineData(403, "Forbidden")]
    [InlineData(404, "Not Found")]
    [InlineData(426, "Upgrade Required")]
    [InlineData(431, "Request Header Fields Too Large")]
    [InlineData(500, "Internal Server Error")]
    [InlineData(503, "Service Unavailable")]
    [InlineData(505, "HTTP Version Not Supported")]
    public async Task EveryStatusTheServerAnswersWithCarriesItsReasonPhrase(int status, string reason)
    {
        var pipe = new Pipe();
        HttpResponseWriter.WriteResponse(pipe.Writer, HttpResponse.Text(status, "x"), headOnly: false);
        await pipe.Writer.CompleteAsync();
        ReadResult read = await pipe.Reader.ReadAsync();
        string text = Encoding.ASCII.GetString(read.Buffer);
        Assert.StartsWith($"HTTP/1.1 {status} {reason}\r\n", text);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("connmsg.v1")]
    public async Task SwitchingProtocolsCarriesTheAcceptValueOfRfc6455sExampleKey(string? subProtocol)
    {
        // RFC 6455 §1.3: the key "dGhlIHNhbXBsZSBub25jZQ==" is answered with "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
        var pipe = new Pipe();
        HttpResponseWriter.WriteSwitchingProtocols(pipe.Writer, "dGhlIHNhbXBsZSBub25jZQ==", subProtocol);
        await pipe.Writer.CompleteAsync();
        ReadResult read = await pipe.Reader.ReadAsync();
        string expected = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            + (subProtocol is null ? "" : $"Sec-WebSocket-Protocol: {subProtocol}\r\n") + "\r\n";
        Assert.Equal(expected, Encoding.ASCII.GetString(read.Buffer));
    }
}
