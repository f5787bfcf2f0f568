#!/usr/bin/env bash
# Runs the ConnMsg performance comparison (issue "Performance, measured"): builds Release, then for each server
# (ConnMsg gateway on Kestrel's and on its own transport, middleware baseline, the C epoll floor reference built
# with gcc, SignalR baseline) starts it pinned to core 0 with taskset, drives it from core 1, and writes one combined
# report under load/reports/<timestamp>-bench/ (bench.md, bench.html, bench.csv).
#
#   ./run-bench.sh                 # 25 s warm-up + 30 s measured per run
#   ./run-bench.sh --quick         # 3 s warm-up + 5 s measured: a few minutes in all
#   ./run-bench.sh --servers middleware,signalr --only reqcfm --out /tmp/bench
#   ./run-bench.sh --rounds 3      # every run three times: medians, and each ratio's range over the rounds
#
# The orchestration is the `bench` command of load/ConnMsg.Load, so run-bench.ps1 runs exactly the same thing.
set -euo pipefail
cd "$(dirname "$0")"

# The connect storm holds 10000 connections: both the server and the driver need the descriptors.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

exec dotnet run -c Release --project load/ConnMsg.Load/ConnMsg.Load.csproj -- bench "$@"
