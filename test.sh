#!/usr/bin/env bash
# Runs every test of the repository: the .NET suites (server, client) and the JavaScript suites
# (connmsg.js, Node `ws` interop, the demo page in headless Chromium), all against real listeners on loopback.
set -euo pipefail
cd "$(dirname "$0")"

dotnet build ConnMsg.sln -c Debug -nologo -v quiet
# Users build Release (run-bench.sh, the gateway): the whole solution, tests included, must compile there too.
dotnet build ConnMsg.sln -c Release -nologo -v quiet
# One test assembly at a time: the suites open real sockets and time keep-alives, and two cores are shared.
dotnet test ConnMsg.sln -c Debug --no-build -nologo -m:1
# The server suite again over ConnMsg's own socket transport (the gateway's Gateway:Transport=connmsg).
CONNMSG_TEST_TRANSPORT=connmsg dotnet test tests/ConnMsg.Tests -c Debug --no-build -nologo

# Steady-state hot paths must not allocate: a fast check beside the BenchmarkDotNet suites.
if [ -f bench/ConnMsg.Bench/ConnMsg.Bench.csproj ]; then
  dotnet run -c Release --project bench/ConnMsg.Bench -- --verify-zero-alloc
fi

cd tests/js
[ -d node_modules ] || npm ci --no-audit --no-fund
export CONNMSG_GATEWAY_DLL="${CONNMSG_GATEWAY_DLL:-$PWD/../../src/ConnMsg.Gateway/bin/Debug/net10.0/ConnMsg.Gateway.dll}"
npm test
# Node's ws and Chromium again, against the gateway over ConnMsg's own socket transport.
Gateway__Transport=connmsg npm test
