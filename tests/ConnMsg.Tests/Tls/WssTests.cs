using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ConnMsg.Gateway.Demo;
using ConnMsg.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ConnMsg.Tests.Tls;

/// <summary>PROTOCOL.md §2: wss:// is the same protocol under TLS, terminated by the server (Kestrel's UseHttps before UseConnMsg).</summary>
public class WssTests
{
    [Fact]
    public async Task EchoWorksOverTlsTerminatedByTheServer()
    {
        using X509Certificate2 certificate = SelfSigned("localhost");
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l =>
        {
            l.UseHttps(certificate);
            l.UseConnMsg();
        }));
        DemoService.Map(builder.Services.AddConnMsg());
        await using WebApplication app = builder.Build();
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

        using var client = new ClientWebSocket();
        client.Options.AddSubProtocol("connmsg.v1");
        client.Options.RemoteCertificateValidationCallback = (_, cert, _, _) => cert?.GetCertHashString() == certificate.GetCertHashString();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(new Uri($"wss://localhost:{address.Port}/ws"), cts.Token);
        Assert.Equal("connmsg.v1", client.SubProtocol);

        string session = await ReceiveAsync(client, cts.Token);
        Assert.Contains("\"topic\":\"$session\"", session);

        await client.SendAsync(Encoding.UTF8.GetBytes("""{"type":"req","id":"tls","op":"echo","data":[1,"two"]}"""), WebSocketMessageType.Text, true, cts.Token);
        Assert.Equal("""{"type":"cfm","id":"tls","data":[1,"two"]}""", await ReceiveAsync(client, cts.Token));

        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
        await app.StopAsync(cts.Token);
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
