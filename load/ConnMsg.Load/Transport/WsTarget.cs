using System.Net;

namespace ConnMsg.Load.Transport;

/// <summary>A parsed <c>--target</c>: a loopback endpoint plus the HTTP path and host header.</summary>
/// <param name="EndPoint">Where to connect.</param>
/// <param name="Host">The <c>Host</c> header value.</param>
/// <param name="Path">The request path, e.g. <c>/ws</c>.</param>
public sealed record WsTarget(IPEndPoint EndPoint, string Host, string Path)
{
    /// <summary>
    /// Parses <c>http://</c>, <c>ws://</c> or bare <c>host:port/path</c> targets. Only loopback addresses are
    /// accepted: this driver generates load and must never point at anything but this machine.
    /// </summary>
    /// <exception cref="ArgumentException">The target is malformed or not a loopback address.</exception>
    public static WsTarget Parse(string text, string defaultPath = "/ws")
    {
        if (!text.Contains("://", StringComparison.Ordinal))
        {
            text = "http://" + text;
        }

        var uri = new Uri(text);
        if (uri.Scheme is not ("http" or "ws"))
        {
            throw new ArgumentException($"target scheme must be http or ws (TLS is not driven by this tool): {text}");
        }

        IPAddress address = uri.IsLoopback && !IPAddress.TryParse(uri.Host.Trim('[', ']'), out _)
            ? IPAddress.Loopback
            : IPAddress.Parse(uri.Host.Trim('[', ']'));
        if (!IPAddress.IsLoopback(address))
        {
            throw new ArgumentException($"target must be a loopback address (127.0.0.0/8 or ::1): {text}");
        }

        string path = uri.AbsolutePath is "" or "/" ? defaultPath : uri.AbsolutePath;
        return new WsTarget(new IPEndPoint(address, uri.Port), uri.Authority, path);
    }

    /// <summary>The target as an http URL, as SignalR's client wants it.</summary>
    public string HttpUrl => $"http://{Host}{Path}";
}
