using System.IO.Pipelines;
using System.Text;
using ConnMsg.Internal;
using ConnMsg.Tests.Messaging.Support;

namespace ConnMsg.Tests.Http;

/// <summary>
/// The handshake's time limit (<see cref="ReadDeadline"/>), which is reused from one connection to the next: it cancels
/// the pending read of its own connection once the limit passes, and never a read of another.
/// </summary>
public class HandshakeDeadlineTests
{
    [Fact]
    public async Task APendingReadIsCancelledOnceTheLimitPasses()
    {
        var pipe = new Pipe();
        var deadline = new ReadDeadline();
        deadline.Start(pipe.Reader, TimeSpan.FromMilliseconds(50));

        ReadResult read = await pipe.Reader.ReadAsync().AsTask().Within("the deadline to cancel the read");

        Assert.True(read.IsCanceled);
        Assert.True(deadline.Stop(), "Stop reports that the limit passed");
    }

    [Fact]
    public async Task ATickBeforeTheLimitCancelsNothing()
    {
        var pipe = new Pipe();
        var deadline = new ReadDeadline();
        deadline.Start(pipe.Reader, TimeSpan.FromHours(1));

        deadline.OnTick(); // the timer's coarse clock firing early

        await AssertReadsDataNotACancelAsync(pipe);
        Assert.False(deadline.Stop());
    }

    [Fact]
    public async Task ATickAfterStopCancelsNothing()
    {
        var pipe = new Pipe();
        var deadline = new ReadDeadline();
        deadline.Start(pipe.Reader, TimeSpan.FromHours(1));
        Assert.False(deadline.Stop());

        deadline.OnTick(); // a tick already under way when the handshake ended

        await AssertReadsDataNotACancelAsync(pipe);
    }

    [Fact]
    public async Task ATickLeftOverFromAnEarlierConnectionDoesNotCancelTheNextOnesRead()
    {
        var first = new Pipe();
        var next = new Pipe();
        var deadline = new ReadDeadline();
        deadline.Start(first.Reader, TimeSpan.FromHours(1));
        deadline.Stop();
        deadline.Start(next.Reader, TimeSpan.FromHours(1));

        deadline.OnTick(); // the earlier use's tick, arriving late

        await AssertReadsDataNotACancelAsync(next);
        await AssertReadsDataNotACancelAsync(first);
        Assert.False(deadline.Stop());
    }

    [Fact]
    public async Task AReusedDeadlineStillCancelsItsNewReader()
    {
        var first = new Pipe();
        var next = new Pipe();
        var deadline = new ReadDeadline();
        deadline.Start(first.Reader, TimeSpan.FromMilliseconds(20));
        Assert.True((await first.Reader.ReadAsync().AsTask().Within("the first limit to pass")).IsCanceled);
        Assert.True(deadline.Stop());

        deadline.Start(next.Reader, TimeSpan.FromMilliseconds(20));

        Assert.True((await next.Reader.ReadAsync().AsTask().Within("the second limit to pass")).IsCanceled);
        Assert.True(deadline.Stop());
    }

    private static async Task AssertReadsDataNotACancelAsync(Pipe pipe)
    {
        await pipe.Writer.WriteAsync("GET"u8.ToArray());
        ReadResult read = await pipe.Reader.ReadAsync().AsTask().Within("the written bytes");
        Assert.False(read.IsCanceled);
        Assert.Equal("GET", Encoding.ASCII.GetString(read.Buffer));
        pipe.Reader.AdvanceTo(read.Buffer.End);
    }
}
