using ConnMsg.Client.Tests.Infrastructure;
using static ConnMsg.Client.Tests.Infrastructure.ResubscribeScript;

namespace ConnMsg.Client.Tests;

/// <summary>
/// Re-subscription after a reconnect (PROTOCOL §5.2) that fails in a way no other rule of the client names: a <c>rej</c>
/// that breaks PROTOCOL §3, or a <c>$subscribe</c> over the new connection's <c>maxMessage</c> (PROTOCOL §5.1). The
/// server did not make it live, so nothing is taken back; that topic alone fails, as on a retry after
/// <c>overloaded</c>, and the reconnect opens with the others. A scripted server decides each answer and limit.
/// </summary>
public sealed class ResubscribeUnforeseenFailureTests
{
    /// <summary>A topic whose <c>$subscribe</c> fits the first connection's limit but not <see cref="SmallSession"/>'s.</summary>
    private static readonly string LongTopic = "topic.a." + new string('x', 240);

    /// <summary>A <c>$session</c> whose <c>maxMessage</c> is too small for <see cref="LongTopic"/>'s <c>$subscribe</c>, not for the other requests.</summary>
    private const string SmallSession = """{"type":"ind","topic":"$session","data":{"id":"s","keepAlive":15,"maxMessage":200,"maxInFlight":256}}""";

    [Fact]
    public async Task ResubscriptionAnsweredWithAMalformedRejFailsThatTopicAloneAndTheReconnectOpensWithTheOthers()
    {
        var outcome = await OneFailingResubscription.ReconnectAsync("topic.a", Session, static (request, op, topic) =>
            op == "$subscribe" && topic == "topic.a" ? MalformedRej(request) : Cfm(request));

        Assert.Contains("code missing", Assert.IsType<ConnMsgException>(outcome.Failure.Error).Message);
        Assert.DoesNotContain("$unsubscribe topic.a", outcome.SeenBeforeMarker); // refused, so never live
    }

    [Fact]
    public async Task ResubscriptionOverTheNewConnectionsMaxMessageFailsThatTopicAloneAndTheReconnectOpensWithTheOthers()
    {
        var outcome = await OneFailingResubscription.ReconnectAsync(LongTopic, SmallSession, static (request, _, _) => Cfm(request));

        Assert.Equal(200, Assert.IsType<ConnMsgMessageTooLargeException>(outcome.Failure.Error).Limit);
        Assert.Equal(["$subscribe topic.b"], outcome.SeenBeforeMarker); // nothing of it was sent
    }
}
