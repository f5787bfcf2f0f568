using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ConnMsg.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;

namespace ConnMsg.Tests.Tls;

/// <summary>PROTOCOL.md §2: wss:// is the same protocol under TLS, terminated by the server (Kestrel's UseHttps before UseConnMsg).</summary>
public class WssTests
{
    [Fact]
    public async Task EchoWorksOverTlsTerminatedByTheServer()
    {
        using X509Certificate2 certificate = SelfSigned("localhost");
        await using TestServer server = await TestServer.StartAsync(listen: l => l.UseHttps(certificate));

        using var client = new ClientWebSocket();
        client.Options.AddSubProtocol("connmsg.v1");
        client.Options.RemoteCertificateValidationCallback = (_, cert, _, _) => cert?.GetCertHashString() == certificate.GetCertHashString();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(new Uri($"wss://localhost:{server.Port}/ws"), cts.Token);
        Assert.Equal("connmsg.v1", client.SubProtocol);

        string session = await ReceiveAsync(client, cts.Token);
        Assert.Contains("\"topic\":\"$session\"", session);

        await client.SendAsync(Encoding.UTF8.GetBytes("""{"type":"req","id":"tls","op":"echo","data":[1,"two"]}"""), WebSocketMessageType.Text, true, cts.Token);
        Assert.Equal("""{"type":"cfm","id":"tls","data":[1,"two"]}""", await ReceiveAsync(client, cts.Token));

        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
    }

    private static async Task<string> ReceiveAsync(ClientWebSocket client, CancellationToken cancellationToken)
    {
        var buffer = new byte[8192];
        using var message = new MemoryStream();
        while (true)
        {
            WebSocketReceiveResult result = await client.ReceiveAsync(buffer, cancellationToken);
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return Encoding.UTF8.GetString(message.ToArray());
            }
        }
    }

    private static X509Certificate2 SelfSigned(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using X509Certificate2 created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        // Kestrel needs the private key in a form SslStream can use on Linux: round-trip through PKCS#12.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }
}
