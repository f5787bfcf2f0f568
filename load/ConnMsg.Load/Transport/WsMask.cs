using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace ConnMsg.Load.Transport;

/// <summary>RFC 6455 §5.3 client-to-server masking, eight bytes at a time.</summary>
internal static class WsMask
{
    /// <summary>XORs <paramref name="payload"/> in place with the 4-byte <paramref name="key"/>, starting at mask index 0.</summary>
    /// <param name="payload">The payload bytes, masked in place.</param>
    /// <param name="key">The masking key as it appears on the wire, read little-endian.</param>
    public static void Apply(Span<byte> payload, uint key)
    {
        ulong key64 = key | ((ulong)key << 32);
        int i = 0;
        for (; i + 8 <= payload.Length; i += 8)
        {
            ref byte at = ref payload[i];
            ulong v = Unsafe.ReadUnaligned<ulong>(ref at);
            Unsafe.WriteUnaligned(ref at, v ^ key64);
        }

        Span<byte> keyBytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(keyBytes, key);
        for (; i < payload.Length; i++)
        {
            // i is a multiple of 8 at loop entry, so i & 3 is the right mask index.
            payload[i] ^= keyBytes[i & 3];
        }
    }
}
