using System.Buffers;
using System.Collections.Concurrent;

namespace ConnMsg.Bench.Infrastructure;

/// <summary>
/// A memory pool of fixed 4 KiB blocks that any thread may rent and any thread return, as Kestrel's transport pool is.
/// </summary>
/// <remarks>
/// Thread-safe. Why not the pipes' default (<c>ArrayPool&lt;byte&gt;.Shared</c>): when the server's drain rents a block
/// on a thread-pool thread and the client side returns it on the benchmark thread, the shared pool keeps only a few
/// dozen arrays per core and drops the rest, so a fan-out to 100 subscribers would allocate about 150 KB of fresh
/// 4 KiB arrays per publish that Kestrel would never allocate: an artefact of the harness, not of the server.
/// </remarks>
internal sealed class BlockMemoryPool : MemoryPool<byte>
{
    public const int BlockSize = 4096;

    private readonly ConcurrentQueue<Block> _blocks = new();

    public static BlockMemoryPool Instance { get; } = new();

    public override int MaxBufferSize => BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        // Pipe asks only for sizes up to MaxBufferSize here; larger ones it takes from ArrayPool itself.
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
        return _blocks.TryDequeue(out Block? block) ? block : new Block(this);
    }

    protected override void Dispose(bool disposing)
    {
    }

    private sealed class Block(BlockMemoryPool pool) : IMemoryOwner<byte>
    {
        private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);

        public Memory<byte> Memory => _array;

        public void Dispose() => pool._blocks.Enqueue(this);
    }
}
