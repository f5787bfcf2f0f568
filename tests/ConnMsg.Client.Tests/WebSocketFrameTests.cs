using System.Net.WebSockets;
using System.Text;
using ConnMsg.Client.Internal;

namespace ConnMsg.Client.Tests;

/// <summary>The own RFC 6455 client codec, checked against the BCL's server-side <see cref="WebSocket"/> and the RFC's rules.</summary>
public sealed class WebSocketFrameTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(125)] // the largest 7-bit length
    [InlineData(126)] // the smallest 16-bit length
    [InlineData(65535)]
    [InlineData(65536)] // the smallest 64-bit length
    public async Task MaskedFrameIsReadByTheBclServerWebSocket(int length)
    {
        string text = string.Create(length, 0, static (span, _) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = (char)('a' + (i % 26));
            }
        });
        byte[] payload = Encoding.UTF8.GetBytes(text);
        var frame = new byte[WebSocketFrame.MaxClientHeaderSize + length];
        int written = WebSocketFrame.WriteMasked(frame, WebSocketFrame.Text, payload, 0x9A3C_51E7);

        using var server = WebSocket.CreateFromStream(new MemoryStream(frame, 0, written), new WebSocketCreationOptions { IsServer = true });
        var received = new byte[length + 1];
        int count = 0;
        while (true)
        {
            var result = await server.ReceiveAsync(received.AsMemory(count), CancellationToken.None);
            Assert.Equal(WebSocketMessageType.Text, result.MessageType);
            count += result.Count;
            if (result.EndOfMessage)
            {
                break;
            }
        }

        Assert.Equal(text, Encoding.UTF8.GetString(received, 0, count));
    }

    [Fact]
    public void ApplyMaskXorsEveryByteWithKeyByteIndexModFour()
    {
        var random = new Random(42);
        for (int length = 0; length <= 70; length++)
        {
            byte[] source = new byte[length];
            random.NextBytes(source);
            uint mask = (uint)random.Next();
            byte[] key = BitConverter.GetBytes(mask); // the order the key is written on the wire (little-endian)
            if (!BitConverter.IsLittleEndian)
            {
                Array.Reverse(key);
            }

            byte[] masked = new byte[length];
            WebSocketFrame.ApplyMask(source, masked, mask);
            for (int i = 0; i < length; i++)
            {
                Assert.Equal((byte)(source[i] ^ key[i % 4]), masked[i]);
            }
        }
    }

    [Fact]
    public void EveryPrefixOfAValidHeaderIsIncompleteAndTheWholeIsComplete()
    {
        // A 300-byte text frame: 2 bytes + 16-bit length.
        byte[] header = [0x81, 126, 0x01, 0x2C];
        for (int i = 0; i < header.Length; i++)
        {
            Assert.Equal(FrameStatus.Incomplete, WebSocketFrame.TryReadHeader(header.AsSpan(0, i), out _, out _));
        }

        Assert.Equal(FrameStatus.Complete, WebSocketFrame.TryReadHeader(header, out var parsed, out _));
        Assert.Equal(new FrameHeader(true, WebSocketFrame.Text, 300, 4), parsed);

        byte[] longHeader = [0x01, 127, 0, 0, 0, 0, 0, 1, 0, 0];
        for (int i = 0; i < longHeader.Length; i++)
        {
            Assert.Equal(FrameStatus.Incomplete, WebSocketFrame.TryReadHeader(longHeader.AsSpan(0, i), out _, out _));
        }

        Assert.Equal(FrameStatus.Complete, WebSocketFrame.TryReadHeader(longHeader, out parsed, out _));
        Assert.Equal(new FrameHeader(false, WebSocketFrame.Text, 65536, 10), parsed);
    }

    [Theory]
    [InlineData(new byte[] { 0x81, 0x85, 1, 2, 3, 4 }, "masked")] // MaskedServerFrameIsAProtocolError
    [InlineData(new byte[] { 0xC1, 0x00 }, "reserved bit")] // ReservedBitWithoutExtensionIsAProtocolError
    [InlineData(new byte[] { 0x83, 0x00 }, "reserved opcode")] // ReservedDataOpcodeIsAProtocolError
    [InlineData(new byte[] { 0x8B, 0x00 }, "reserved opcode")] // ReservedControlOpcodeIsAProtocolError
    [InlineData(new byte[] { 0x09, 0x00 }, "control frame")] // FragmentedControlFrameIsAProtocolError
    [InlineData(new byte[] { 0x89, 126, 0, 126 }, "control frame")] // ControlFrameOver125BytesIsAProtocolError
    [InlineData(new byte[] { 0x81, 127, 0x80, 0, 0, 0, 0, 0, 0, 0 }, "most significant bit")] // LengthWithTopBitSetIsAProtocolError
    public void InvalidServerFrameHeaderIsRefused(byte[] header, string reason)
    {
        Assert.Equal(FrameStatus.Invalid, WebSocketFrame.TryReadHeader(header, out _, out string? error));
        Assert.Contains(reason, error);
    }

    [Theory]
    [InlineData(1000, true)]
    [InlineData(1001, true)]
    [InlineData(1011, true)]
    [InlineData(3000, true)]
    [InlineData(4999, true)]
    [InlineData(999, false)]
    [InlineData(1004, false)]
    [InlineData(1005, false)]
    [InlineData(1006, false)]
    [InlineData(1015, false)]
    [InlineData(2999, false)]
    [InlineData(5000, false)]
    public void CloseCodesFollowRfc6455Section7_4(int code, bool valid) => Assert.Equal(valid, WebSocketFrame.IsValidCloseCode(code));

    [Fact]
    public void MaskSourceDrawsFreshKeysAcrossRefills()
    {
        var source = new MaskSource();
        var keys = new HashSet<uint>();
        for (int i = 0; i < 1024; i++)
        {
            keys.Add(source.Next());
        }

        // 1024 draws from a CSPRNG: a repeat is possible but astronomically unlikely to hit more than a few.
        Assert.True(keys.Count > 1020, $"only {keys.Count} distinct keys of 1024");
    }
}
