using System.Text;
using System.Text.Json;
using ConnMsg.Messaging;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;

namespace ConnMsg.Tests.Messaging;

/// <summary>
/// PROTOCOL.md §5.3 "replays … then goes live, with no gap and no duplicate", while publishes race with the subscribe.
/// Publishers keep publishing until the server has taken the subscription and a little after, so it always lands mid-stream.
/// </summary>
public sealed class HistoryRaceTests
{
    private const int Prepublished = 100;
    private const int PublisherCount = 2;
    private const int MaxRacing = 20_000;

    [Fact]
    public async Task SubscribeWithSinceRacingPublishesSeesEverySeqAfterSinceExactlyOnce()
    {
        await using TestServer server = await StartAsync();
        for (int round = 0; round < 6; round++)
        {
            string topic = $"history.race.since.{round}";
            long since = 37 + round * 11;
            (JsonElement cfm, List<long> seqs, long last) = await RaceAsync(server, topic, $$"""{"topic":"{{topic}}","since":{{since}}}""");

            Assert.True(cfm.GetProperty("data").GetProperty("recovered").GetBoolean(), $"round {round}: {cfm.GetRawText()}");
            AssertContiguous(seqs, since + 1, last, round);
        }
    }

    [Fact]
    public async Task SubscribeWithoutSinceRacingPublishesSeesEverySeqAfterTheReportedOneExactlyOnce()
    {
        await using TestServer server = await StartAsync();
        for (int round = 0; round < 6; round++)
        {
            string topic = $"history.race.live.{round}";
            (JsonElement cfm, List<long> seqs, long last) = await RaceAsync(server, topic, $$"""{"topic":"{{topic}}"}""");

            long reported = cfm.GetProperty("data").GetProperty("seq").GetInt64();
            Assert.True(reported >= Prepublished, $"round {round}: cfm reported seq {reported}");
            AssertContiguous(seqs, reported + 1, last, round);
        }
    }

    private static Task<TestServer> StartAsync() => TestServer.StartAsync(o =>
    {
        o.HistorySeqFromClock = false; // seq reads as the number of Inds published
        o.HistoryCapacity = MaxRacing + Prepublished + 1000; // the window always reaches back: recovery must succeed
        o.MaxOutboundBytes = 64L * 1024 * 1024;
    });

    /// <summary>
    /// Publishes <see cref="Prepublished"/> Inds, starts racing publishers, subscribes with <paramref name="subscribeData"/>,
    /// lets the publishers go on a little after the server took the subscription, then reads until the last seq published.
    /// </summary>
    private static async Task<(JsonElement Cfm, List<long> Seqs, long Last)> RaceAsync(TestServer server, string topic, string subscribeData)
    {
        IIndPublisher publisher = HistoryTests.Publisher(server);
        await HistoryTests.PublishManyAsync(server, topic, Prepublished);
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);

        long published = Prepublished;
        byte[] data = Encoding.UTF8.GetBytes("""{"tick":true}""");
        Task[] publishers = Enumerable.Range(0, PublisherCount).Select(_ => Task.Run(async () =>
        {
            // Until the server has taken the subscription (subscriber count is set under the topic's lock, together with
            // the replay and the cfm), then 200 more: the subscribe always lands in the middle of the stream.
            int after = 0;
            while (Interlocked.Read(ref published) < Prepublished + MaxRacing && (server.Server.SubscriberCount(topic) == 0 || after++ < 200))
            {
                await publisher.PublishAsync(topic, data);
                Interlocked.Increment(ref published);
                await Task.Yield(); // let the server's connections run between publishes
            }
        })).ToArray();

        await Eventually.TrueAsync(() => Interlocked.Read(ref published) >= Prepublished + 50, "the racing publishers to be under way");
        await client.SendAsync($$"""{"type":"req","id":"race","op":"$subscribe","data":{{subscribeData}}}""");

        var seqs = new List<long>();
        JsonElement cfm = default;
        long? last = null;
        while (last is null || seqs.Count == 0 || seqs[^1] < last)
        {
            JsonElement m = await client.ReceiveJsonAsync();
            if (m.Type() == "ind")
            {
                seqs.Add(m.Seq());
            }
            else
            {
                Assert.Equal("cfm", m.Type());
                Assert.Equal("\"race\"", m.Raw("id"));
                cfm = m;
                await Task.WhenAll(publishers).Within("the publishers to stop");
                last = Interlocked.Read(ref published);
            }
        }

        Assert.True(Interlocked.Read(ref published) < Prepublished + MaxRacing, "the publishers hit their cap before the subscription was taken: the race did not happen");
        await client.AssertNothingElseArrivesAsync();
        return (cfm, seqs, last.Value);
    }

    private static void AssertContiguous(List<long> seqs, long first, long last, int round)
    {
        Assert.True(seqs.Count > 0 && seqs[0] == first, $"round {round}: first seq {(seqs.Count > 0 ? seqs[0] : -1)}, expected {first}");
        for (int i = 1; i < seqs.Count; i++)
        {
            Assert.True(seqs[i] == seqs[i - 1] + 1, $"round {round}: seq {seqs[i]} follows {seqs[i - 1]} (gap or duplicate)");
        }

        Assert.Equal(last, seqs[^1]);
    }
}
