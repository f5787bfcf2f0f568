# Runs the ConnMsg performance comparison: the same `dotnet run ... bench` line as run-bench.sh.
# Pinning uses taskset on Linux and processor affinity elsewhere; raise the open-file limit yourself on Linux
# (ulimit -n 20000) before the 10000-connection storm.
#
#   ./run-bench.ps1 --quick
$ErrorActionPreference = 'Stop'
Set-Location -Path $PSScriptRoot
dotnet run -c Release --project load/ConnMsg.Load/ConnMsg.Load.csproj -- bench @args
exit $LASTEXITCODE
