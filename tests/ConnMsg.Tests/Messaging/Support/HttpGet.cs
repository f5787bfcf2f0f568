using System.Net;

namespace ConnMsg.Tests.Messaging.Support;

/// <summary>Plain HTTP requests to the server's port (/healthz, /metrics).</summary>
public static class HttpGet
{
    public static async Task<(HttpStatusCode Status, string Body)> GetAsync(Uri httpBase, string path)
    {
        using var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        using HttpResponseMessage response = await http.GetAsync(new Uri(httpBase, path));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
