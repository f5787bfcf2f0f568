using ConnMsg.Bench.Benchmarks;

namespace ConnMsg.Bench.Verification;

/// <summary>
/// A quick allocation gate without BenchmarkDotNet: each steady-state op runs 100 000 times after a warm-up, and the
/// bytes this thread allocated meanwhile must be 0, in one of up to three rounds (a leak shows in every round, a
/// one-off such as a lazily created object in one). The ops are the benchmark methods themselves, so the gate and the
/// tables measure the same code. Process-wide bytes are printed too: they include the thread pool (drains) and also
/// background noise such as the JIT, so they inform but do not fail the run.
/// </summary>
internal static class ZeroAllocCheck
{
    private const int Iterations = 100_000;
    private const int WarmupIterations = 20_000;

    public static int Run(string[] filters)
    {
        int passed = 0, failed = 0;
        foreach (Check check in Checks())
        {
            if (filters.Length > 0 && !filters.Any(f => check.Name.Contains(f, StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            (Action op, Action? cleanup) = check.Create();
            try
            {
                int warmup = Math.Min(WarmupIterations, check.Iterations);
                for (int i = 0; i < warmup; i++)
                {
                    op();
                }

                // A leak shows in every round; a one-off (a lazily created object, a pool refilled after a GC trim)
                // in one round only. Up to three rounds: the op passes when one of them allocates nothing.
                long threadBytes = 0, totalBytes = 0;
                var rounds = new List<long>(3);
                for (int round = 0; round < 3; round++)
                {
                    long threadBefore = GC.GetAllocatedBytesForCurrentThread();
                    long totalBefore = GC.GetTotalAllocatedBytes(precise: true);
                    for (int i = 0; i < check.Iterations; i++)
                    {
                        op();
                    }

                    threadBytes = GC.GetAllocatedBytesForCurrentThread() - threadBefore;
                    totalBytes = GC.GetTotalAllocatedBytes(precise: true) - totalBefore;
                    rounds.Add(threadBytes);
                    if (threadBytes == 0 || check.Expected)
                    {
                        break;
                    }
                }

                string perOp = $"{(double)threadBytes / check.Iterations,8:0.##} B/op here, {(double)totalBytes / check.Iterations,8:0.##} B/op process-wide";
                string history = rounds.Count > 1 ? $" (rounds: {string.Join(", ", rounds.Select(b => $"{b} B"))})" : "";
                if (check.Expected)
                {
                    Console.WriteLine($"info  {check.Name,-58} x{check.Iterations,-7} {perOp} (allocation expected)");
                }
                else if (threadBytes == 0)
                {
                    passed++;
                    Console.WriteLine($"PASS  {check.Name,-58} x{check.Iterations,-7} {perOp}{history}");
                }
                else
                {
                    failed++;
                    Console.WriteLine($"FAIL  {check.Name,-58} x{check.Iterations,-7} {perOp}: {threadBytes} B on this thread{history}");
                }
            }
            finally
            {
                cleanup?.Invoke();
            }
        }

        Console.WriteLine($"{passed} passed, {failed} failed");
        return failed == 0 && passed > 0 ? 0 : 1;
    }

    private sealed record Check(string Name, int Iterations, Func<(Action Op, Action? Cleanup)> Create, bool Expected = false);

    private static IEnumerable<Check> Checks()
    {
        yield return new("Handshake: TryReadRequestHead", 10_000, () =>
        {
            var b = new HandshakeBenchmarks();
            b.Setup();
            return (() => b.ParseRequestHead(), null);
        }, Expected: true);
        yield return new("Handshake: Validate", 10_000, () =>
        {
            var b = new HandshakeBenchmarks();
            b.Setup();
            return (() => b.Validate(), null);
        }, Expected: true);
        yield return new("Handshake: WriteAccept", 10_000, () =>
        {
            var b = new HandshakeBenchmarks();
            b.Setup();
            return (() => b.WriteAccept(), null);
        });

        foreach (int length in new[] { 100, 4_000, 100_000 })
        {
            yield return new($"FrameReader.TryReadHeader ({length} B payload)", Iterations, () =>
            {
                var b = new FrameHeaderBenchmarks { PayloadLength = length };
                b.Setup();
                return (() => b.ReadHeader(), null);
            });
            yield return new($"FrameReader.TryReadHeader split ({length} B payload)", Iterations, () =>
            {
                var b = new FrameHeaderBenchmarks { PayloadLength = length };
                b.Setup();
                return (() => b.ReadHeaderSplit(), null);
            });
            yield return new($"FrameWriter.WriteHeader ({length} B payload)", Iterations, () =>
            {
                var b = new FrameHeaderBenchmarks { PayloadLength = length };
                b.Setup();
                return (() => b.WriteHeader(), null);
            });
        }

        foreach (int size in new[] { 16, 1024, 65536 })
        {
            yield return new($"Masking.Apply ({size} B)", Iterations, () =>
            {
                var b = new MaskingBenchmarks { Size = size };
                b.Setup();
                return (() => b.Apply(), null);
            });
        }

        foreach (string text in new[] { "ascii-1KiB", "mixed-1KiB", "mixed-64KiB" })
        {
            yield return new($"Utf8Validator.TryValidate whole ({text})", Iterations, () =>
            {
                var b = new Utf8ValidationBenchmarks { Text = text };
                b.Setup();
                return (() => b.Whole(), null);
            });
            yield return new($"Utf8Validator.TryValidate pieces ({text})", Iterations, () =>
            {
                var b = new Utf8ValidationBenchmarks { Text = text };
                b.Setup();
                return (() => b.Pieces(), null);
            });
        }

        foreach (string message in new[] { "small", "large-4KiB", "reordered" })
        {
            yield return new($"EnvelopeReader.TryRead ({message})", Iterations, () =>
            {
                var b = new EnvelopeReaderBenchmarks { Message = message };
                b.Setup();
                return (() => b.EnvelopeReader(), null);
            });
            yield return new($"EnvelopeReader.TryReadGeneral ({message})", Iterations, () =>
            {
                var b = new EnvelopeReaderBenchmarks { Message = message };
                b.Setup();
                return (() => b.EnvelopeReaderGeneral(), null);
            });
        }

        yield return new("MessageWriter.Cfm + Release", Iterations, () =>
        {
            var b = new MessageWriterBenchmarks();
            b.Setup();
            return (() => b.Cfm(), b.Cleanup);
        });
        yield return new("MessageWriter.Cfm<T> + Release", Iterations, () =>
        {
            var b = new MessageWriterBenchmarks();
            b.Setup();
            return (() => b.CfmTyped(), b.Cleanup);
        });
        yield return new("MessageWriter.Rej + Release", Iterations, () =>
        {
            var b = new MessageWriterBenchmarks();
            b.Setup();
            return (() => b.Rej(), b.Cleanup);
        });
        yield return new("MessageWriter.Ind + Release", Iterations, () =>
        {
            var b = new MessageWriterBenchmarks();
            b.Setup();
            return (() => b.Ind(), b.Cleanup);
        });

        yield return new("Echo: client frame -> read loop -> inline drain", Iterations, () =>
        {
            var b = new EchoBenchmarks();
            b.Setup();
            return (() => b.ReadLoop(), b.Cleanup);
        });
        yield return new("Echo: OnTextMessage + thread-pool drain", Iterations, () =>
        {
            var b = new EchoBenchmarks();
            b.Setup();
            return (() => b.OnTextMessage(), b.Cleanup);
        });
        foreach (string handler in new[] { "task-source", "pooling-async-method" })
        {
            yield return new($"Echo: asynchronous handler ({handler})", Iterations, () =>
            {
                var b = new AsyncHandlerBenchmarks { Handler = handler };
                b.Setup();
                return (() => b.DispatchThenComplete(), b.Cleanup);
            });
        }

        yield return new("Socket transport: peer send -> read -> write + flush -> peer receive (64 B)", 20_000, () =>
        {
            var b = new TransportBenchmarks();
            b.Setup();
            return (() => b.RoundTrip(), b.Cleanup);
        });

        foreach (int size in new[] { 64, 4096 })
        {
            yield return new($"Codec round trip, ConnMsg server ({size} B)", Iterations, () =>
            {
                var b = new CodecBenchmarks { PayloadSize = size };
                b.Setup();
                return (() => Sync(b.ConnMsgServer()), b.Cleanup);
            });
        }

        foreach (int subscribers in new[] { 1, 100, 10_000 })
        {
            // 100 000 deliveries in all, so the 10 000-subscriber case stays quick.
            yield return new($"Fan-out publish to {subscribers} subscribers", Math.Max(10, Iterations / subscribers), () =>
            {
                var b = new FanoutBenchmarks { Subscribers = subscribers };
                b.Setup();
                return (() => b.Publish(), b.Cleanup);
            });
        }

        yield return new("Fan-out typed publish (PublishAsync<T>) to 100 subscribers", Iterations / 100, () =>
        {
            var b = new FanoutBenchmarks { Subscribers = 100 };
            b.Setup();
            return (() => b.PublishTyped(), b.Cleanup);
        });

        yield return new("Fan-out burst: 16 publishes to 64 subscribers in one read batch", Math.Max(10, Iterations / 1024), () =>
        {
            var b = new FanoutBurstBenchmarks { Publishes = 16 };
            b.Setup();
            return (() => b.Burst(), b.Cleanup);
        });
    }

    private static void Sync(ValueTask<int> pending)
    {
        if (!pending.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("the op went asynchronous; it cannot be measured on this thread");
        }
    }
}
