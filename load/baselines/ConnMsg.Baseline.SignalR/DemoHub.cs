using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;

namespace ConnMsg.Baseline.SignalR;

/// <summary>The Appendix A demo operations as SignalR hub methods.</summary>
/// <remarks>A hub instance lives for one invocation; shared state is in <see cref="GroupCounter"/>.</remarks>
internal sealed class DemoHub : Hub
{
    private readonly GroupCounter _groups;

    /// <summary>Creates the hub for one invocation.</summary>
    public DemoHub(GroupCounter groups) => _groups = groups;

    /// <inheritdoc />
    public override async Task OnConnectedAsync()
    {
        // The counterpart of ConnMsg's $session Ind.
        await Clients.Caller.SendAsync("session", Context.ConnectionId, 15, 32 * 1024, 256);
    }

    /// <inheritdoc />
    public override Task OnDisconnectedAsync(Exception? exception)
    {
        _groups.RemoveConnection(Context.ConnectionId);
        return Task.CompletedTask;
    }

    /// <summary>Returns its argument, like ConnMsg's <c>echo</c>.</summary>
    public JsonElement Echo(JsonElement data) => data;

    /// <summary>Returns its argument, like ConnMsg's <c>$ping</c>.</summary>
    public JsonElement Ping(JsonElement data) => data;

    /// <summary>The server's time in ISO 8601.</summary>
    public string Time() => DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture);

    /// <summary>Answers after <paramref name="ms"/> milliseconds.</summary>
    public async Task<int> Sleep(int ms)
    {
        if (ms is < 0 or > 60000)
        {
            throw new HubException("invalid_argument: ms must be 0 … 60000");
        }

        await Task.Delay(ms);
        return ms;
    }

    /// <summary>Fails with the given code, like ConnMsg's <c>fail</c>.</summary>
    public void Fail(string code, string? reason) => throw new HubException(code + ": " + reason);

    /// <summary>Joins the group that stands for <paramref name="topic"/>.</summary>
    public async Task Subscribe(string topic)
    {
        await Groups.AddToGroupAsync(Context.ConnectionId, topic);
        _groups.Add(Context.ConnectionId, topic);
    }

    /// <summary>Leaves the group that stands for <paramref name="topic"/>.</summary>
    public async Task Unsubscribe(string topic)
    {
        await Groups.RemoveFromGroupAsync(Context.ConnectionId, topic);
        _groups.Remove(Context.ConnectionId, topic);
    }

    /// <summary>Sends an <c>ind</c> to the group; SignalR serialises it once per protocol for all members.</summary>
    public async Task<int> Publish(string topic, JsonElement data)
    {
        await Clients.Group(topic).SendAsync("ind", topic, data);
        return _groups.Count(topic);
    }

    /// <summary>The connection id and its subscriptions.</summary>
    public object Whoami() => new { id = Context.ConnectionId, subscriptions = _groups.GroupsOf(Context.ConnectionId) };
}
