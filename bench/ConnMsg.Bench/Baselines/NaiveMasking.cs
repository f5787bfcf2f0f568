namespace ConnMsg.Bench.Baselines;

/// <summary>The textbook unmasking loop of RFC 6455 §5.3: one byte at a time.</summary>
internal static class NaiveMasking
{
    public static int Apply(Span<byte> data, uint mask, int maskIndex)
    {
        for (int i = 0; i < data.Length; i++)
        {
            data[i] ^= (byte)(mask >> (8 * ((maskIndex + i) & 3)));
        }

        return (maskIndex + data.Length) & 3;
    }
}
