using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ConnMsg.WebSockets;

/// <summary>XOR masking of RFC 6455 §5.3, vectorised and in place.</summary>
internal static class Masking
{
    /// <summary>
    /// Unmasks <paramref name="data"/> in place, starting at byte <paramref name="maskIndex"/> of the key.
    /// Returns the key index for the byte that follows, so a payload split across segments unmasks in pieces.
    /// </summary>
    public static int Apply(Span<byte> data, uint mask, int maskIndex)
    {
        if (data.IsEmpty)
        {
            return maskIndex;
        }

        // Rotate the key so that its lowest byte applies to data[0]; then every 4-byte lane sees the same pattern.
        uint rotated = BitOperations.RotateRight(mask, maskIndex * 8);
        int i = 0;
        ref byte start = ref MemoryMarshal.GetReference(data);

        if (Vector256.IsHardwareAccelerated && data.Length >= Vector256<byte>.Count)
        {
            Vector256<byte> m = Vector256.Create(rotated).AsByte();
            int last = data.Length - Vector256<byte>.Count;
            for (; i <= last; i += Vector256<byte>.Count)
            {
                ref byte p = ref Unsafe.Add(ref start, i);
                (Vector256.LoadUnsafe(ref p) ^ m).StoreUnsafe(ref p);
            }
        }

        if (Vector128.IsHardwareAccelerated && data.Length - i >= Vector128<byte>.Count)
        {
            Vector128<byte> m = Vector128.Create(rotated).AsByte();
            int last = data.Length - Vector128<byte>.Count;
            for (; i <= last; i += Vector128<byte>.Count)
            {
                ref byte p = ref Unsafe.Add(ref start, i);
                (Vector128.LoadUnsafe(ref p) ^ m).StoreUnsafe(ref p);
            }
        }

        ulong m64 = rotated | ((ulong)rotated << 32);
        for (; i + 8 <= data.Length; i += 8)
        {
            ref byte p = ref Unsafe.Add(ref start, i);
            Unsafe.WriteUnaligned(ref p, Unsafe.ReadUnaligned<ulong>(ref p) ^ m64);
        }

        // i is a multiple of 4 here, so the rotated key still lines up with data[i].
        for (; i < data.Length; i++)
        {
            Unsafe.Add(ref start, i) ^= (byte)(rotated >> ((i & 3) * 8));
        }

        return (maskIndex + data.Length) & 3;
    }
}
