using System.Buffers;
using System.Buffers.Binary;
using ConnMsg.WebSockets;

namespace ConnMsg.Tests.Transport;

/// <summary>RFC 6455 §5.2 header rules, decided by <see cref="FrameReader"/> from the header alone.</summary>
public class FrameReaderTests
{
    private const long Max = 64 * 1024;

    private static (bool Ok, ushort Error, long Consumed, FrameHeader Header) Read(ReadOnlySequence<byte> input, long maxPayload = Max)
    {
        var reader = new SequenceReader<byte>(input);
        bool ok = FrameReader.TryReadHeader(ref reader, maxPayload, out FrameHeader header, out ushort error);
        return (ok, error, reader.Consumed, header);
    }

    private static IEnumerable<ReadOnlySequence<byte>> ThreeWays(byte[] bytes)
    {
        yield return new ReadOnlySequence<byte>(bytes);
        yield return Segments.OnePerByte(bytes);
        for (int cut = 1; cut < bytes.Length; cut++)
        {
            yield return Segments.Split(bytes, cut);
        }
    }

    public static TheoryData<long, int> Lengths => new()
    {
        { 0, 6 }, { 1, 6 }, { 125, 6 },
        { 126, 8 }, { 127, 8 }, { 65535, 8 },
        { 65536, 14 }, { 1L << 32, 14 }, { long.MaxValue, 14 },
    };

    [Theory]
    [MemberData(nameof(Lengths))]
    public void LengthIsReadFrom7Or16Or64BitFieldWhetherWholeOrSplit(long length, int headerLength)
    {
        byte[] header = ClientFrames.Header(ClientFrames.Text, length);
        Assert.Equal(headerLength, header.Length);
        byte[] input = [.. header, 0xAA, 0xBB]; // payload bytes after the header are not consumed
        foreach (ReadOnlySequence<byte> seq in ThreeWays(input))
        {
            var r = Read(seq, long.MaxValue);
            Assert.True(r.Ok);
            Assert.Equal(0, r.Error);
            Assert.Equal(length, r.Header.PayloadLength);
            Assert.Equal(headerLength, r.Header.HeaderLength);
            Assert.Equal(headerLength, r.Consumed);
            Assert.True(r.Header.Fin);
            Assert.True(r.Header.Masked);
            Assert.Equal(WebSocketOpcode.Text, r.Header.Opcode);
        }
    }

    [Fact]
    public void MaskKeyIsTheFourWireBytesLittleEndian()
    {
        byte[] header = ClientFrames.Header(ClientFrames.Binary, 3, fin: false, mask: [0x01, 0x02, 0x03, 0x04]);
        var r = Read(new ReadOnlySequence<byte>(header));
        Assert.True(r.Ok);
        Assert.Equal(0x04030201u, r.Header.MaskKey);
        Assert.False(r.Header.Fin);
        Assert.Equal(WebSocketOpcode.Binary, r.Header.Opcode);
    }

    [Fact]
    public void NonMinimalLengthEncodingIsAccepted()
    {
        // §5.2 asks senders for the minimal form but gives receivers no rule; ManagedWebSocket accepts it too.
        var r16 = Read(new ReadOnlySequence<byte>(ClientFrames.Header(ClientFrames.Text, 5, encoding: LengthEncoding.Bits16)));
        var r64 = Read(new ReadOnlySequence<byte>(ClientFrames.Header(ClientFrames.Text, 5, encoding: LengthEncoding.Bits64)));
        Assert.Equal((true, 5L, 8), (r16.Ok, r16.Header.PayloadLength, r16.Header.HeaderLength));
        Assert.Equal((true, 5L, 14), (r64.Ok, r64.Header.PayloadLength, r64.Header.HeaderLength));
    }

    [Fact]
    public void SixtyFourBitLengthWithTopBitSetFailsWith1002()
    {
        byte[] header = ClientFrames.Header(ClientFrames.Text, 0, encoding: LengthEncoding.Bits64);
        header[2] = 0x80; // most significant bit of the 64-bit length
        foreach (ReadOnlySequence<byte> seq in ThreeWays(header))
        {
            var r = Read(seq, long.MaxValue);
            Assert.Equal((false, CloseCode.ProtocolError, 0L), (r.Ok, r.Error, r.Consumed));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(7)]
    public void AnyReservedBitFailsWith1002(int rsv)
    {
        foreach (byte opcode in new[] { ClientFrames.Text, ClientFrames.Continuation, ClientFrames.Ping })
        {
            var r = Read(new ReadOnlySequence<byte>(ClientFrames.Header(opcode, 1, rsv: rsv)));
            Assert.Equal((false, CloseCode.ProtocolError, 0L), (r.Ok, r.Error, r.Consumed));
        }
    }

    [Theory]
    [InlineData(0x3)]
    [InlineData(0x4)]
    [InlineData(0x5)]
    [InlineData(0x6)]
    [InlineData(0x7)]
    [InlineData(0xB)]
    [InlineData(0xC)]
    [InlineData(0xD)]
    [InlineData(0xE)]
    [InlineData(0xF)]
    public void ReservedOpcodeFailsWith1002(int opcode)
    {
        var r = Read(new ReadOnlySequence<byte>(ClientFrames.Header((byte)opcode, 0)));
        Assert.Equal((false, CloseCode.ProtocolError, 0L), (r.Ok, r.Error, r.Consumed));
    }

    [Theory]
    [InlineData(ClientFrames.Close)]
    [InlineData(ClientFrames.Ping)]
    [InlineData(ClientFrames.Pong)]
    public void ControlFrameOver125BytesFailsWith1002(byte opcode)
    {
        foreach (long length in new long[] { 126, 65535, 65536 })
        {
            var r = Read(new ReadOnlySequence<byte>(ClientFrames.Header(opcode, length)), long.MaxValue);
            Assert.Equal((false, CloseCode.ProtocolError, 0L), (r.Ok, r.Error, r.Consumed));
        }

        var ok = Read(new ReadOnlySequence<byte>(ClientFrames.Header(opcode, 125)));
        Assert.True(ok.Ok);
    }

    [Theory]
    [InlineData(ClientFrames.Close)]
    [InlineData(ClientFrames.Ping)]
    [InlineData(ClientFrames.Pong)]
    public void FragmentedControlFrameFailsWith1002(byte opcode)
    {
        var r = Read(new ReadOnlySequence<byte>(ClientFrames.Header(opcode, 0, fin: false)));
        Assert.Equal((false, CloseCode.ProtocolError, 0L), (r.Ok, r.Error, r.Consumed));
    }

    [Theory]
    [InlineData(ClientFrames.Text)]
    [InlineData(ClientFrames.Continuation)]
    [InlineData(ClientFrames.Ping)]
    [InlineData(ClientFrames.Close)]
    public void UnmaskedClientFrameFailsWith1002(byte opcode)
    {
        var r = Read(new ReadOnlySequence<byte>(ClientFrames.Header(opcode, 5, masked: false)));
        Assert.Equal((false, CloseCode.ProtocolError, 0L), (r.Ok, r.Error, r.Consumed));
    }

    [Theory]
    [InlineData(ClientFrames.Text, 1001)]
    [InlineData(ClientFrames.Continuation, 1001)]
    [InlineData(ClientFrames.Binary, 1001)]
    [InlineData(ClientFrames.Text, 70000)]
    [InlineData(ClientFrames.Text, long.MaxValue)]
    public void DataFrameOverMaxPayloadFailsWith1009FromTheHeaderAlone(byte opcode, long length)
    {
        // Only the header is given: the verdict must not wait for a single payload byte.
        byte[] header = ClientFrames.Header(opcode, length);
        foreach (ReadOnlySequence<byte> seq in ThreeWays(header))
        {
            var r = Read(seq, maxPayload: 1000);
            Assert.Equal((false, CloseCode.MessageTooBig, 0L), (r.Ok, r.Error, r.Consumed));
        }
    }

    [Fact]
    public void DataFrameOfExactlyMaxPayloadIsAccepted()
    {
        var r = Read(new ReadOnlySequence<byte>(ClientFrames.Header(ClientFrames.Text, 1000)), maxPayload: 1000);
        Assert.True(r.Ok);
        Assert.Equal(1000, r.Header.PayloadLength);
    }

    [Fact]
    public void ControlFrameIsNotBoundByTheDataLimit()
    {
        // maxPayload shrinks as a fragmented message fills up; a ping in between must still pass.
        var r = Read(new ReadOnlySequence<byte>(ClientFrames.Header(ClientFrames.Ping, 125)), maxPayload: 0);
        Assert.True(r.Ok);
    }

    public static TheoryData<string, byte[]> Headers => new()
    {
        { "7-bit", ClientFrames.Header(ClientFrames.Text, 100) },
        { "16-bit", ClientFrames.Header(ClientFrames.Text, 300) },
        { "64-bit", ClientFrames.Header(ClientFrames.Text, 70000) },
        { "ping", ClientFrames.Header(ClientFrames.Ping, 0) },
    };

    [Theory]
    [MemberData(nameof(Headers))]
    public void PartialHeaderAtEveryBytePositionNeedsMoreAndConsumesNothing(string name, byte[] header)
    {
        _ = name;
        for (int length = 0; length < header.Length; length++)
        {
            byte[] prefix = header[..length];
            var whole = Read(new ReadOnlySequence<byte>(prefix), long.MaxValue);
            var perByte = Read(Segments.OnePerByte(prefix), long.MaxValue);
            Assert.Equal((false, (ushort)0, 0L), (whole.Ok, whole.Error, whole.Consumed));
            Assert.Equal((false, (ushort)0, 0L), (perByte.Ok, perByte.Error, perByte.Consumed));
        }

        Assert.True(Read(Segments.OnePerByte(header), long.MaxValue).Ok);
    }

    [Fact]
    public void ConsecutiveHeadersAreReadOneAtATime()
    {
        byte[] two = [.. ClientFrames.Frame(ClientFrames.Text, [1, 2, 3], fin: false), .. ClientFrames.Frame(ClientFrames.Continuation, [4])];
        var reader = new SequenceReader<byte>(Segments.OnePerByte(two));
        Assert.True(FrameReader.TryReadHeader(ref reader, Max, out FrameHeader first, out _));
        reader.Advance(first.PayloadLength);
        Assert.True(FrameReader.TryReadHeader(ref reader, Max, out FrameHeader second, out _));
        Assert.Equal(WebSocketOpcode.Continuation, second.Opcode);
        Assert.True(second.Fin);
        Assert.Equal(1, second.PayloadLength);
        Assert.Equal(two.Length - 1, reader.Consumed);
    }

    [Fact]
    public void LengthFieldIsBigEndian()
    {
        byte[] header = ClientFrames.Header(ClientFrames.Text, 0x0102, encoding: LengthEncoding.Bits16);
        Assert.Equal(0x0102, BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2)));
        Assert.Equal(0x0102, Read(new ReadOnlySequence<byte>(header)).Header.PayloadLength);
    }
}
