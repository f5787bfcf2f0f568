using System.Buffers;
using System.Text;
using ConnMsg.Http;
using ConnMsg.Tests.Transport;

namespace ConnMsg.Tests.Http;

/// <summary>
/// The chunked body framing (RFC 9112 §7.1) as <see cref="ChunkedBodySkipper"/> reads it to pass over a body: every
/// valid body fed whole, one segment per byte and byte by byte; rules broken; limits that stop it before it buffers more.
/// </summary>
public sealed class ChunkedBodySkipperTests
{
    private const long MaxBody = 1024 * 1024;
    private const int MaxLine = 64;

    /// <summary>What came after the body on the connection: never consumed with it.</summary>
    private const string After = "GET / HTTP/1.1\r\n";

    private static byte[] Bytes(string s) => Encoding.Latin1.GetBytes(s);

    /// <summary>
    /// Feeds <paramref name="input"/> as the connection would: bytes arrive as <paramref name="feed"/> says, the skipper
    /// is called on what is unconsumed, and what it consumed is dropped. Stops at the body's end or an error.
    /// </summary>
    private static (bool Ended, ChunkedBodyError Error, long Consumed, int Arrived) Drive(byte[] input, Feed feed,
        long maxBody = MaxBody, int maxLine = MaxLine)
    {
        var skipper = new ChunkedBodySkipper(maxBody, maxLine);
        long consumed = 0;
        int arrived = feed == Feed.ByteByByte ? 0 : input.Length;
        while (true)
        {
            if (feed == Feed.ByteByByte)
            {
                arrived++;
            }

            byte[] pending = input[(int)consumed..arrived];
            ReadOnlySequence<byte> buffer = feed == Feed.Whole ? new ReadOnlySequence<byte>(pending) : Segments.OnePerByte(pending);
            var reader = new SequenceReader<byte>(buffer);
            bool ended = skipper.TrySkip(ref reader, out ChunkedBodyError error);
            consumed += reader.Consumed;
            Assert.Equal(ended, skipper.IsComplete);
            if (ended || error != ChunkedBodyError.None || arrived == input.Length)
            {
                return (ended, error, consumed, arrived);
            }
        }
    }

    public static TheoryData<string, string> ValidBodies() => new()
    {
        { "no chunks", "0\r\n\r\n" },
        { "one chunk", "5\r\nhello\r\n0\r\n\r\n" },
        { "several chunks", "5\r\nhello\r\n1\r\n \r\n6\r\nworld!\r\n0\r\n\r\n" },
        { "hex digits in either case, leading zeros", "00A\r\n0123456789\r\n0b\r\n0123456789a\r\n000\r\n\r\n" },
        { "extensions", "5;name=value;flag\r\nhello\r\n0;last=\"yes; really\"\r\n\r\n" },
        { "whitespace before an extension", "5 \t;name = value\r\nhello\r\n0\r\n\r\n" },
        { "trailer fields", "5\r\nhello\r\n0\r\nChecksum: abc\r\nExpires: never\r\n\r\n" },
        { "data that looks like framing", "7\r\n0\r\n\r\n\r\n\r\n0\r\n\r\n" },
    };

    [Theory]
    [MemberData(nameof(ValidBodies))]
    public void AValidBodyIsReadToItsEndAndNotABytePast(string why, string body)
    {
        _ = why;
        byte[] input = Bytes(body + After);
        foreach (Feed feed in Enum.GetValues<Feed>())
        {
            var r = Drive(input, feed);
            Assert.True((r.Ended, r.Error, r.Consumed) == (true, ChunkedBodyError.None, body.Length), $"{feed}: {r}");
            if (feed == Feed.ByteByByte)
            {
                Assert.Equal(body.Length, r.Arrived); // not done before the last byte of the body arrived
            }
        }
    }

    [Theory]
    [MemberData(nameof(ValidBodies))]
    public void EveryPrefixOfAValidBodyNeedsMoreAndLeavesALineCutShortUnconsumed(string why, string body)
    {
        _ = why;
        byte[] input = Bytes(body);
        for (int length = 0; length < input.Length; length++)
        {
            var skipper = new ChunkedBodySkipper(MaxBody, MaxLine);
            var reader = new SequenceReader<byte>(Segments.OnePerByte(input[..length]));
            bool ended = skipper.TrySkip(ref reader, out ChunkedBodyError error);
            Assert.True((ended, error) == (false, ChunkedBodyError.None), $"prefix {length}: {error}");

            // What was left unconsumed is read again with the rest: the whole body then ends exactly where it ends.
            var rest = new SequenceReader<byte>(new ReadOnlySequence<byte>(input[(int)reader.Consumed..]));
            Assert.True(skipper.TrySkip(ref rest, out error), $"prefix {length}, then the rest: {error}");
            Assert.Equal(input.Length, reader.Consumed + rest.Consumed);
        }
    }

    [Theory]
    [InlineData("zz\r\n", nameof(ChunkedBodyError.MalformedChunkSize))]
    [InlineData("\r\n", nameof(ChunkedBodyError.MalformedChunkSize))]
    [InlineData("-5\r\n", nameof(ChunkedBodyError.MalformedChunkSize))]
    [InlineData("0x5\r\n", nameof(ChunkedBodyError.MalformedChunkSize))]
    [InlineData("5 \r\n", nameof(ChunkedBodyError.MalformedChunkSize))]
    [InlineData("5 a\r\n", nameof(ChunkedBodyError.MalformedChunkSize))]
    [InlineData("5;a\u0001\r\n", nameof(ChunkedBodyError.MalformedChunkSize))]
    [InlineData("5\n", nameof(ChunkedBodyError.MalformedLine))]
    [InlineData("5\rX", nameof(ChunkedBodyError.MalformedLine))]
    [InlineData("5\r\nhelloX", nameof(ChunkedBodyError.MalformedChunkEnd))]
    [InlineData("5\r\nhello\rX", nameof(ChunkedBodyError.MalformedChunkEnd))]
    [InlineData("5\r\nhello\n", nameof(ChunkedBodyError.MalformedChunkEnd))]
    [InlineData("0\r\nChecksum: abc\n", nameof(ChunkedBodyError.MalformedLine))]
    [InlineData("0\r\n\n", nameof(ChunkedBodyError.MalformedLine))]
    public void BrokenFramingIsReportedAsSoonAsItArrives(string body, string error)
    {
        var expected = Enum.Parse<ChunkedBodyError>(error);
        byte[] input = Bytes(body);
        foreach (Feed feed in Enum.GetValues<Feed>())
        {
            var r = Drive(input, feed);
            Assert.True((r.Ended, r.Error) == (false, expected), $"{feed}: {r}");
            if (feed == Feed.ByteByByte)
            {
                // The last byte is the one that breaks the rule: known then, not later.
                Assert.Equal(input.Length, r.Arrived);
            }
        }
    }

    [Theory]
    [InlineData("65\r\n")] // 101 bytes of data in a body allowed 100
    [InlineData("5f\r\n")] // 95 bytes, and its CRLF, behind its 4-byte size line: 101
    [InlineData("ffffffffffffffffffffffffffffffff\r\n")] // no count of digits overflows
    public void AChunkWhoseSizeTakesTheBodyOverItsLimitIsRefusedBeforeItsData(string sizeLine)
    {
        foreach (Feed feed in Enum.GetValues<Feed>())
        {
            var r = Drive(Bytes(sizeLine), feed, maxBody: 100);
            Assert.True((r.Ended, r.Error) == (false, ChunkedBodyError.TooLarge), $"{feed}: {r}");
        }

        // A chunk that fits to the byte is read, and only the next line finds the limit reached.
        var fits = Drive(Bytes("5e\r\n" + new string('x', 0x5e) + "\r\n0\r\n\r\n"), Feed.Whole, maxBody: 100);
        Assert.True((fits.Error, fits.Consumed) == (ChunkedBodyError.TooLarge, 100), fits.ToString());
    }

    [Fact]
    public void ABodyOfSmallChunksStopsAtItsLimit()
    {
        // Five chunks of 15 bytes (size line, ten bytes of data, CRLF) in a body allowed 64: the fifth does not fit.
        string chunk = "a\r\n0123456789\r\n";
        foreach (Feed feed in Enum.GetValues<Feed>())
        {
            var r = Drive(Bytes(string.Concat(Enumerable.Repeat(chunk, 5)) + "0\r\n\r\n"), feed, maxBody: 64);
            Assert.True((r.Ended, r.Error) == (false, ChunkedBodyError.TooLarge), $"{feed}: {r}");
            Assert.InRange(r.Consumed, 0, 64);
        }
    }

    [Theory]
    [InlineData("5;")]
    [InlineData("0\r\nChecksum: ")]
    public void ALineLongerThanItsLimitIsRefusedOnceThatManyBytesAreBufferedWithoutItsEnd(string start)
    {
        // A line of MaxLine bytes has ended, CRLF and all, within MaxLine + 2: as many bytes without an LF can only be too long.
        byte[] input = Bytes(start + new string('a', MaxLine));
        int lineStart = start.LastIndexOf('\n') + 1;
        var r = Drive(input, Feed.ByteByByte);
        Assert.True((r.Ended, r.Error) == (false, ChunkedBodyError.LineTooLong), r.ToString());
        Assert.Equal(lineStart + MaxLine + 2, r.Arrived);
    }
}
