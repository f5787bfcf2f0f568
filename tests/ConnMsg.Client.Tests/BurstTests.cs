using ConnMsg.Client.Tests.Infrastructure;
using static ConnMsg.Client.Tests.Infrastructure.TestClients;

namespace ConnMsg.Client.Tests;

/// <summary>Many requests issued at once share the one send loop and still get exactly their own answers.</summary>
public sealed class BurstTests
{
    [Fact]
    public async Task BurstOfRequestsIsAnsweredExactlyOnceEach()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);

        // 200 requests issued at once; each gets its own answer back.
        var calls = Enumerable.Range(0, 200)
            .Select(i => client.RequestAsync("echo", System.Text.Encoding.UTF8.GetBytes(i.ToString())))
            .ToArray();
        var answers = await Task.WhenAll(calls).Within();
        for (int i = 0; i < answers.Length; i++)
        {
            Assert.Equal(i.ToString(), System.Text.Encoding.UTF8.GetString(answers[i].Span));
        }
    }
}
