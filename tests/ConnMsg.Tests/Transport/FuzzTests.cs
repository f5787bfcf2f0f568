using System.Buffers;
using System.Diagnostics;
using System.Text.Unicode;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.WebSockets;

namespace ConnMsg.Tests.Transport;

/// <summary>
/// Seeded property tests: random bytes and random splits never throw, never hang (every case has a deadline), and never
/// deliver a message over the limit or text that is not UTF-8. A failing seed is printed so it can become a regression test.
/// </summary>
public class FuzzTests
{
    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    public FuzzTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    private static readonly ushort[] CodesTheServerMaySend = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4000, 4999];

    [Fact]
    public void FrameReaderOnRandomBytesNeverThrowsAndIsIndependentOfSegmentation()
    {
        var random = new Random(20240601);
        for (int run = 0; run < 20_000; run++)
        {
            var bytes = new byte[random.Next(0, 20)];
            random.NextBytes(bytes);
            if (bytes.Length > 1 && random.Next(2) == 0)
            {
                bytes[0] &= 0x8F; // no RSV bits: get past the first check more often
                bytes[1] |= 0x80; // masked
            }

            long maxPayload = random.Next(3) switch { 0 => 0, 1 => random.Next(0, 70_000), _ => long.MaxValue };
            var whole = Read(new ReadOnlySequence<byte>(bytes), maxPayload);
            var split = Read(RandomSplit(bytes, random), maxPayload);
            string context = $"run {run}: {Convert.ToHexString(bytes)} max {maxPayload}";
            Assert.True(whole == split, context + $" whole {whole} split {split}");
            if (whole.Ok)
            {
                Assert.True(whole.Consumed is >= 6 and <= 14 && whole.Consumed <= bytes.Length, context);
                Assert.True(whole.Length >= 0, context);
                Assert.True(whole.Control ? whole.Length <= 125 : whole.Length <= maxPayload, context);
            }
            else
            {
                Assert.Equal(0, whole.Consumed);
                Assert.Contains(whole.Error, new ushort[] { 0, 1002, 1009 });
            }
        }
    }

    private static (bool Ok, ushort Error, long Consumed, long Length, bool Control) Read(ReadOnlySequence<byte> input, long maxPayload)
    {
        var reader = new SequenceReader<byte>(input);
        bool ok = FrameReader.TryReadHeader(ref reader, maxPayload, out FrameHeader header, out ushort error);
        return (ok, error, reader.Consumed, header.PayloadLength, header.IsControl);
    }

    private static ReadOnlySequence<byte> RandomSplit(byte[] bytes, Random random)
    {
        int[] cuts = Enumerable.Range(1, Math.Max(0, bytes.Length - 1)).Where(_ => random.Next(3) == 0).ToArray();
        return Segments.Split(bytes, cuts);
    }

    /// <summary>A stream of mostly valid client frames with random corruption: it gets deeper into the read loop than pure noise.</summary>
    private static byte[] RandomStream(Random random)
    {
        var stream = new List<byte>();
        int frames = random.Next(1, 8);
        for (int f = 0; f < frames; f++)
        {
            byte opcode = random.Next(10) switch
            {
                < 4 => ClientFrames.Text,
                < 6 => ClientFrames.Continuation,
                6 => ClientFrames.Ping,
                7 => ClientFrames.Pong,
                8 => ClientFrames.Close,
                _ => (byte)random.Next(16),
            };
            int length = random.Next(4) == 0 ? random.Next(0, 1500) : random.Next(0, 40);
            if ((opcode & 8) != 0)
            {
                length = Math.Min(length, 125);
            }

            var payload = new byte[length];
            if (random.Next(2) == 0)
            {
                random.NextBytes(payload);
            }
            else
            {
                for (int i = 0; i < length; i++)
                {
                    payload[i] = (byte)random.Next(0x20, 0x7F);
                }
            }

            if (opcode == ClientFrames.Close && length >= 2 && random.Next(2) == 0)
            {
                payload[0] = 0x03;
                payload[1] = 0xE8; // 1000
            }

            var mask = new byte[4];
            random.NextBytes(mask);
            stream.AddRange(ClientFrames.Frame(opcode, payload, fin: random.Next(3) != 0, mask: mask));
        }

        byte[] bytes = stream.ToArray();
        int flips = random.Next(4) == 0 ? random.Next(1, 4) : 0;
        for (int i = 0; i < flips && bytes.Length > 0; i++)
        {
            bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
        }

        return random.Next(5) == 0 ? bytes[..random.Next(bytes.Length + 1)] : bytes;
    }

    [Fact]
    public async Task ConnectionOnRandomInputWithRandomSplitsNeverFaultsHangsOrDeliversTooMuch()
    {
        const int maxMessage = 1024;
        var random = new Random(6455);
        var budget = Stopwatch.StartNew();
        int cases = 0;
        while (cases < 2000 && budget.Elapsed < TimeSpan.FromSeconds(15))
        {
            int seed = random.Next();
            var r = new Random(seed);
            byte[] input = r.Next(6) == 0 ? RandomNoise(r) : RandomStream(r);
            Feed feed = (Feed)r.Next(2); // whole or one segment per byte; random cuts below
            await using var h = new PipeHarness(new ConnMsgOptions { MaxMessageSize = maxMessage });
            int at = 0;
            while (at < input.Length)
            {
                int n = r.Next(1, Math.Max(2, input.Length - at + 1));
                await h.FeedAsync(input[at..Math.Min(input.Length, at + n)], feed);
                at += n;
            }

            h.Input.CompleteWriter();
            Task finished = h.Run.WaitAsync(TimeSpan.FromSeconds(5));
            await finished.ContinueWith(_ => { }); // observe
            Assert.True(finished.IsCompletedSuccessfully, $"seed {seed}: the connection did not end within 5 s of EOF ({Convert.ToHexString(input)})");

            while (await h.ReadFrameAsync(TimeSpan.FromSeconds(5)) is { } frame)
            {
                Assert.True(frame is { Masked: false, Rsv: 0, Fin: true }, $"seed {seed}: bad server frame {frame}");
                if (frame.IsClose && frame.CloseCode is { } code)
                {
                    Assert.True(code != 1011, $"seed {seed}: the connection faulted (1011) on {Convert.ToHexString(input)}");
                    Assert.Contains(code, CodesTheServerMaySend);
                }
            }

            foreach (var message in h.Session.Messages)
            {
                Assert.True(message.Bytes.Length <= maxMessage, $"seed {seed}: delivered {message.Bytes.Length} bytes");
                Assert.True(Utf8.IsValid(message.Bytes), $"seed {seed}: delivered invalid UTF-8");
            }

            Assert.Equal(1, h.Session.ClosedCalls);
            cases++;
        }

        _output.WriteLine($"{cases} cases in {budget.ElapsedMilliseconds} ms");
        Assert.True(cases >= 200, $"only {cases} cases ran within the time budget");
    }

    private static byte[] RandomNoise(Random random)
    {
        var bytes = new byte[random.Next(0, 64)];
        random.NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public async Task RealListenerOnRandomFramesAlwaysEndsTheConnectionCleanly()
    {
        await using TestServer server = await TestServer.StartAsync(options: o => o.MaxMessageSize = 1024);
        var random = new Random(1455);
        for (int run = 0; run < 150; run++)
        {
            byte[] input = RandomStream(random);
            await using RawWebSocket ws = await RawWebSocket.ConnectAsync(server);
            await ws.SendAsync(input);
            ws.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send); // EOF: the server must stop waiting for more

            // Whatever the server answers, it must be well-formed and it must end the connection: no hang, no fault.
            var closeCodes = new List<ushort?>();
            try
            {
                while (true)
                {
                    ServerFrame frame = await ws.ReceiveFrameAsync(TimeSpan.FromSeconds(5));
                    Assert.True(frame is { Masked: false, Rsv: 0 }, $"run {run}: bad server frame {frame}");
                    if (frame.IsClose)
                    {
                        closeCodes.Add(frame.CloseCode);
                    }
                }
            }
            catch (Exception ex) when (ex is EndOfStreamException or IOException)
            {
                // The connection ended.
            }

            Assert.True(closeCodes.Count <= 1, $"run {run}: {closeCodes.Count} close frames");
            Assert.DoesNotContain((ushort?)1011, closeCodes);
        }
    }
}
