using System.Threading.Channels;
using ConnMsg.Client.Tests.Infrastructure;
using static ConnMsg.Client.Tests.Infrastructure.TestClients;

namespace ConnMsg.Client.Tests;

/// <summary>Subscriptions (PROTOCOL §5.2, §5.3) against the real gateway.</summary>
public sealed class SubscriptionTests
{
    [Fact]
    public async Task HandlerReceivesIndsInPublishOrder()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var subscriber = await ConnectAsync(gateway);
        await using var publisher = await ConnectAsync(gateway);
        string topic = UniqueTopic("news.");
        var received = Channel.CreateUnbounded<ConnMsgInd>();

        await using var subscription = await subscriber.SubscribeAsync(topic, ind => received.Writer.TryWrite(ind)).Within();
        for (int n = 1; n <= 50; n++)
        {
            Assert.Equal(1, await PublishAsync(publisher, topic, n).Within());
        }

        for (int n = 1; n <= 50; n++)
        {
            var ind = await received.Reader.ReadAsync().AsTask().Within();
            Assert.Equal(topic, ind.Topic);
            Assert.Null(ind.Seq); // not a history topic
            Assert.Equal(n, N(ind));
        }
    }

    [Fact]
    public async Task AsyncHandlerGetsTypedData()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);
        string topic = UniqueTopic("typed.");
        var got = new TaskCompletionSource<Counter>(TaskCreationOptions.RunContinuationsAsynchronously);

        await using var subscription = await client.SubscribeAsync(topic, async (ind, ct) =>
        {
            await Task.Yield();
            got.TrySetResult(ind.GetData(TestJsonContext.Default.Counter)!);
        }).Within();
        await PublishAsync(client, topic, 9).Within();

        Assert.Equal(new Counter(9), await got.Task.Within());
    }

    [Fact]
    public async Task SubscriptionIsAnAsyncEnumerable()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);
        string topic = UniqueTopic("stream.");

        var subscription = await client.SubscribeAsync(topic).Within();
        for (int n = 1; n <= 3; n++)
        {
            await PublishAsync(client, topic, n).Within();
        }

        var seen = new List<int>();
        await foreach (var ind in subscription)
        {
            seen.Add(N(ind));
            if (seen.Count == 3)
            {
                // Disposing ends the stream; the loop must then terminate on its own.
                await subscription.DisposeAsync();
            }
        }

        Assert.Equal([1, 2, 3], seen);
    }

    [Fact]
    public async Task ListenAsyncSubscribesForTheEnumerationOnly()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);
        string topic = UniqueTopic("listen.");
        using var cts = new CancellationTokenSource(Patience);
        await using var enumerator = client.ListenAsync(topic, cts.Token).GetAsyncEnumerator(cts.Token);

        // The first MoveNext subscribes; the server may run our publish before it, so publish until it counts us.
        var first = enumerator.MoveNextAsync().AsTask();
        while (await PublishAsync(client, topic, 1) == 0)
        {
            await client.RequestAsync("echo", Json("0")); // a round trip, not a sleep: lets the subscribe go out
        }

        Assert.True(await first.Within());
        Assert.Equal(1, N(enumerator.Current));

        // Ending the enumeration ends the subscription on the server.
        await enumerator.DisposeAsync();
        Assert.Equal(0, await PublishAsync(client, topic, 2).Within());
    }

    [Fact]
    public async Task UnsubscribeStopsDeliveryOnTheServer()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);
        string topic = UniqueTopic("unsub.");

        var subscription = await client.SubscribeAsync(topic).Within();
        var me = await client.RequestAsync("whoami", TestJsonContext.Default.WhoAmI).Within();
        Assert.Contains(topic, me!.Subscriptions);

        await subscription.DisposeAsync().AsTask().Within();

        me = await client.RequestAsync("whoami", TestJsonContext.Default.WhoAmI).Within();
        Assert.DoesNotContain(topic, me!.Subscriptions);
        Assert.Equal(0, await PublishAsync(client, topic, 1).Within());
    }

    [Fact]
    public async Task TwoLocalSubscribersShareOneServerSubscription()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);
        string topic = UniqueTopic("shared.");
        var a = Channel.CreateUnbounded<int>();
        var b = Channel.CreateUnbounded<int>();

        var first = await client.SubscribeAsync(topic, ind => a.Writer.TryWrite(N(ind))).Within();
        var second = await client.SubscribeAsync(topic, ind => b.Writer.TryWrite(N(ind))).Within();

        Assert.Equal(1, await PublishAsync(client, topic, 1).Within()); // one server-side subscriber
        Assert.Equal(1, await a.Reader.ReadAsync().AsTask().Within());
        Assert.Equal(1, await b.Reader.ReadAsync().AsTask().Within());

        await first.DisposeAsync();
        Assert.Equal(1, await PublishAsync(client, topic, 2).Within()); // still subscribed for the second
        Assert.Equal(2, await b.Reader.ReadAsync().AsTask().Within());

        await second.DisposeAsync();
        Assert.Equal(0, await PublishAsync(client, topic, 3).Within());
        Assert.False(a.Reader.TryRead(out _)); // the first saw nothing after it was disposed
    }

    [Fact]
    public async Task HistoryTopicIndsCarryConsecutiveSeq()
    {
        await using var gateway = await TestGateway.StartAsync(TestGateway.CountingFromZero);
        await using var client = await ConnectAsync(gateway);
        string topic = UniqueTopic("history.seq.");
        await PublishAsync(client, topic, 0).Within(); // seq 1, before we subscribe: must not be delivered

        var received = Channel.CreateUnbounded<ConnMsgInd>();
        await using var subscription = await client.SubscribeAsync(topic, ind => received.Writer.TryWrite(ind)).Within();
        for (int n = 1; n <= 5; n++)
        {
            await PublishAsync(client, topic, n).Within();
        }

        for (int n = 1; n <= 5; n++)
        {
            var ind = await received.Reader.ReadAsync().AsTask().Within();
            Assert.Equal(n + 1, ind.Seq);
            Assert.Equal(n, N(ind));
        }
    }

    [Fact]
    public async Task HandlerExceptionDoesNotEndTheSubscription()
    {
        await using var gateway = await TestGateway.StartAsync();
        var logger = new TestLogger();
        await using var client = await ConnectAsync(gateway, Options(logger));
        string topic = UniqueTopic("throws.");
        var second = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);

        await using var subscription = await client.SubscribeAsync(topic, ind =>
        {
            if (N(ind) == 1)
            {
                throw new InvalidOperationException("boom");
            }

            second.TrySetResult(N(ind));
        }).Within();
        await PublishAsync(client, topic, 1).Within();
        await PublishAsync(client, topic, 2).Within();

        Assert.Equal(2, await second.Task.Within());
        await logger.WaitForAsync(11).Within(); // SubscriptionHandlerFailed
    }

    [Fact]
    public async Task InvalidTopicIsRefusedBeforeSending()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);

        await Assert.ThrowsAsync<ArgumentException>(() => client.SubscribeAsync("bad topic")).Within();
        await Assert.ThrowsAsync<ArgumentException>(() => client.SubscribeAsync(new string('t', 257))).Within();
    }
}
