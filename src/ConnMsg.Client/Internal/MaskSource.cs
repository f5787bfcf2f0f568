using System.Security.Cryptography;

namespace ConnMsg.Client.Internal;

/// <summary>
/// Masking keys for client frames. RFC 6455 §10.3 wants each key unpredictable (drawn from a strong source of
/// entropy), so that hostile payload bytes cannot be turned into chosen bytes on the wire for a confused
/// intermediary. ManagedWebSocket asks the OS/OpenSSL RNG for 4 bytes per frame, a call that costs more than
/// framing a small message. We keep the same strength and draw the keys from <see cref="RandomNumberGenerator"/>
/// in blocks of 256 instead: every key is still CSPRNG output, never derived from an earlier one (a cheap PRNG such
/// as xorshift seeded once would let an observer of a few masks predict the rest); the cost is one RNG call per
/// 256 frames and 1 KiB per connection.
/// </summary>
/// <remarks>Not thread-safe: used under the transport's send lock.</remarks>
internal sealed class MaskSource
{
    private readonly uint[] _keys = new uint[256];
    private int _next = 256;

    public uint Next()
    {
        if (_next == _keys.Length)
        {
            RandomNumberGenerator.Fill(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_keys.AsSpan()));
            _next = 0;
        }

        return _keys[_next++];
    }
}
