using System.Text;
using System.Text.Json;
using ConnMsg.Messaging;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;

namespace ConnMsg.Tests.Messaging;

/// <summary>
/// PROTOCOL.md §5.3 "replays … then goes live, with no gap and no duplicate", while publishes race with the subscribe.
/// Publishers keep publishing until the server has taken the subscription and a little after, so it lands mid-stream;
/// a round in which the server took it only after the publishers' cap (a cold or loaded machine) is run again.
/// </summary>
public sealed class HistoryRaceTests
{
    private const int Prepublished = 100;
    private const int PublisherCount = 2;
    private const int MaxRacing = 20_000;
    private const int RacedRounds = 6;
    private const int MaxRounds = 20;
    private const int PublishedAfterSubscribe = 200;

    [Fact]
    public async Task SubscribeWithSinceRacingPublishesSeesEverySeqAfterSinceExactlyOnce()
    {
        await using TestServer server = await StartAsync();
        await RaceRoundsAsync(async round =>
        {
            string topic = $"history.race.since.{round}";
            long since = 37 + round % 6 * 11; // below Prepublished, so always within what was published
            Race race = await RaceAsync(server, topic, $$"""{"topic":"{{topic}}","since":{{since}}}""");

            Assert.True(race.Cfm.GetProperty("data").GetProperty("recovered").GetBoolean(), $"round {round}: {race.Cfm.GetRawText()}");
            AssertContiguous(race.Seqs, since + 1, race.Last, round);
            return race.Raced;
        });
    }

    [Fact]
    public async Task SubscribeWithoutSinceRacingPublishesSeesEverySeqAfterTheReportedOneExactlyOnce()
    {
        await using TestServer server = await StartAsync();
        await RaceRoundsAsync(async round =>
        {
            string topic = $"history.race.live.{round}";
            Race race = await RaceAsync(server, topic, $$"""{"topic":"{{topic}}"}""");

            long reported = race.Cfm.GetProperty("data").GetProperty("seq").GetInt64();
            Assert.True(reported >= Prepublished, $"round {round}: cfm reported seq {reported}");
            AssertContiguous(race.Seqs, reported + 1, race.Last, round);
            return race.Raced;
        });
    }

    /// <summary>
    /// Runs rounds until <see cref="RacedRounds"/> of them had the subscribe land mid-stream. A round whose subscribe the
    /// server took only after the publishers' cap (a cold or loaded machine) still checks the rules, but does not count.
    /// </summary>
    private static async Task RaceRoundsAsync(Func<int, Task<bool>> round)
    {
        int raced = 0;
        int rounds = 0;
        while (raced < RacedRounds && rounds < MaxRounds)
        {
            if (await round(rounds++))
            {
                raced++;
            }
        }

        Assert.True(raced == RacedRounds, $"the subscribe landed mid-stream in only {raced} of {rounds} rounds: the race was not exercised");
    }

    private static Task<TestServer> StartAsync() => TestServer.StartAsync(o =>
    {
        o.HistorySeqFromClock = false; // seq reads as the number of Inds published
        o.HistoryCapacity = MaxRacing + Prepublished + PublisherCount * (PublishedAfterSubscribe + 1) + 1000; // the window always reaches back: recovery must succeed
        o.HistoryCapacityBytes = 64L * 1024 * 1024; // and is not cut short by bytes (about 80 per Ind)
        o.MaxOutboundBytes = 64L * 1024 * 1024;
    });

    /// <summary>What a round saw: the cfm, the seqs of the Inds that followed it, the last seq published, and whether
    /// the server took the subscription while the publishers were still going.</summary>
    private readonly record struct Race(JsonElement Cfm, List<long> Seqs, long Last, bool Raced);

    /// <summary>
    /// Publishes <see cref="Prepublished"/> Inds, starts racing publishers, subscribes with <paramref name="subscribeData"/>,
    /// lets the publishers go on a little after the server took the subscription, then reads until the last seq published.
    /// </summary>
    private static async Task<Race> RaceAsync(TestServer server, string topic, string subscribeData)
    {
        IIndPublisher publisher = HistoryTests.Publisher(server);
        await HistoryTests.PublishManyAsync(server, topic, Prepublished);
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);

        long published = Prepublished;
        int capped = 0;
        byte[] data = Encoding.UTF8.GetBytes("""{"tick":true}""");
        Task[] publishers = Enumerable.Range(0, PublisherCount).Select(_ => Task.Run(async () =>
        {
            // Until the server has taken the subscription (subscriber count is set under the topic's lock, together with
            // the replay and the cfm), so that it lands in the middle of the stream.
            while (server.Server.SubscriberCount(topic) == 0)
            {
                if (Interlocked.Read(ref published) >= Prepublished + MaxRacing)
                {
                    // The server is slower to take it than the history window is long: stop, and let the round not count.
                    Volatile.Write(ref capped, 1);
                    await Eventually.TrueAsync(() => server.Server.SubscriberCount(topic) > 0, "the server to take the subscription");
                    break;
                }

                await PublishOneAsync();
            }

            // Then some more, so that Inds always follow the cfm.
            for (int i = 0; i < PublishedAfterSubscribe; i++)
            {
                await PublishOneAsync();
            }

            async Task PublishOneAsync()
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

        await client.AssertNothingElseArrivesAsync();
        return new Race(cfm, seqs, last.Value, Raced: Volatile.Read(ref capped) == 0);
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
