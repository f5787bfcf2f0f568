using ConnMsg.WebSockets;

namespace ConnMsg.Tests.Transport;

/// <summary>RFC 6455 §5.3 masking: the vectorised <see cref="Masking.Apply"/> against the one-line scalar definition.</summary>
public class MaskingTests
{
    private const uint Mask = 0xA1B2C3D4; // wire bytes D4 C3 B2 A1 (little-endian key, as FrameHeader stores it)

    /// <summary>§5.3: octet i of the transformed data is octet i XOR octet (i MOD 4) of the key.</summary>
    private static byte[] Reference(byte[] data, uint mask, int maskIndex)
    {
        var result = (byte[])data.Clone();
        for (int i = 0; i < result.Length; i++)
        {
            result[i] ^= (byte)(mask >> (8 * ((maskIndex + i) & 3)));
        }

        return result;
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    [Fact]
    public void EveryLengthUpTo300AndEveryStartIndexMatchesTheScalarDefinition()
    {
        for (int length = 0; length <= 300; length++)
        {
            byte[] data = RandomBytes(length, length);
            for (int maskIndex = 0; maskIndex < 4; maskIndex++)
            {
                byte[] actual = (byte[])data.Clone();
                int next = Masking.Apply(actual, Mask, maskIndex);
                Assert.Equal(Reference(data, Mask, maskIndex), actual);
                Assert.Equal((maskIndex + length) & 3, next);
            }
        }
    }

    [Fact]
    public void SixtyFourKiBWithEveryStartIndexMatchesTheScalarDefinition()
    {
        byte[] data = RandomBytes(64 * 1024, 64);
        for (int maskIndex = 0; maskIndex < 4; maskIndex++)
        {
            byte[] actual = (byte[])data.Clone();
            Assert.Equal(maskIndex, Masking.Apply(actual, Mask, maskIndex));
            Assert.Equal(Reference(data, Mask, maskIndex), actual);
        }
    }

    [Fact]
    public void UnalignedSliceMatchesTheScalarDefinition()
    {
        // Vector loads on a span that does not start on an aligned address.
        byte[] backing = RandomBytes(1000, 7);
        for (int offset = 1; offset < 40; offset++)
        {
            byte[] actual = (byte[])backing.Clone();
            Masking.Apply(actual.AsSpan(offset, 900), Mask, 2);
            Assert.Equal(Reference(backing[offset..(offset + 900)], Mask, 2), actual[offset..(offset + 900)]);
            Assert.Equal(backing[..offset], actual[..offset]);
            Assert.Equal(backing[(offset + 900)..], actual[(offset + 900)..]);
        }
    }

    [Fact]
    public void SplitAtEveryPositionContinuingWithTheReturnedIndexEqualsOnePass()
    {
        for (int length = 0; length <= 300; length++)
        {
            byte[] data = RandomBytes(length, 1000 + length);
            for (int maskIndex = 0; maskIndex < 4; maskIndex++)
            {
                byte[] expected = Reference(data, Mask, maskIndex);
                for (int cut = 0; cut <= length; cut++)
                {
                    byte[] actual = (byte[])data.Clone();
                    int mid = Masking.Apply(actual.AsSpan(0, cut), Mask, maskIndex);
                    Masking.Apply(actual.AsSpan(cut), Mask, mid);
                    Assert.True(expected.AsSpan().SequenceEqual(actual), $"length {length}, index {maskIndex}, cut {cut}");
                }
            }
        }
    }

    [Fact]
    public void SixtyFourKiBSplitAroundEveryVectorBoundaryEqualsOnePass()
    {
        byte[] data = RandomBytes(64 * 1024, 99);
        byte[] expected = Reference(data, Mask, 1);
        var cuts = new SortedSet<int>();
        for (int c = 0; c <= 70; c++)
        {
            cuts.Add(c);
            cuts.Add(data.Length - c);
        }

        for (int c = 32; c < data.Length; c += 4093) // walk the whole range on a stride coprime with 4, 16 and 32
        {
            cuts.Add(c - 1);
            cuts.Add(c);
            cuts.Add(c + 1);
        }

        foreach (int cut in cuts)
        {
            byte[] actual = (byte[])data.Clone();
            int mid = Masking.Apply(actual.AsSpan(0, cut), Mask, 1);
            Assert.Equal((1 + cut) & 3, mid);
            Masking.Apply(actual.AsSpan(cut), Mask, mid);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"cut at {cut}");
        }
    }

    [Fact]
    public void OneBytePiecesEqualOnePass()
    {
        byte[] data = RandomBytes(257, 5);
        byte[] actual = (byte[])data.Clone();
        int index = 3;
        for (int i = 0; i < actual.Length; i++)
        {
            index = Masking.Apply(actual.AsSpan(i, 1), Mask, index);
        }

        Assert.Equal(Reference(data, Mask, 3), actual);
    }

    [Fact]
    public void ApplyingTwiceRestoresTheData()
    {
        byte[] data = RandomBytes(1000, 11);
        byte[] actual = (byte[])data.Clone();
        Masking.Apply(actual, Mask, 0);
        Assert.NotEqual(data, actual);
        Masking.Apply(actual, Mask, 0);
        Assert.Equal(data, actual);
    }
}
