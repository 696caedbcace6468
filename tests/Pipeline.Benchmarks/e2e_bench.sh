#!/usr/bin/env bash
# The end-to-end benchmark (issue 9): N GRIB2 files of one run announced over AMQP, fetched from a loopback HTTP
# server, decoded, written as Zarr to s3rver, notified on Mosquitto (files/s, M values/s, p50/p99 latency from
# announcement to notification, peak memory), then the Python path users take today (cfgrib.open_datasets +
# xarray to_zarr, one process, the same files from local disk: no broker, no download, no S3, no notification)
# on the same files, and the ratio of the two wall times.
# Usage: tests/Pipeline.Benchmarks/e2e_bench.sh [N=100] [RESOLUTION_DEGREES=1.0]
# FILE_ZARR=full|staging picks the dataset's Outputs:FileZarr (what each file writes); unset: the default.
# Starts the harness's services itself unless PIPELINE_TEST_AMQP_URI is already set.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
N=${1:-100}
RES=${2:-1.0}
OUT=$(mktemp -d /tmp/pipeline-e2e.XXXXXX)
SVC_PID=""
cleanup() { [ -n "$SVC_PID" ] && kill -INT "$SVC_PID" 2>/dev/null && wait "$SVC_PID" 2>/dev/null; rm -rf "$OUT"; }
trap cleanup EXIT
if [ -z "${PIPELINE_TEST_AMQP_URI:-}" ]; then
  "$ROOT/build.sh" services >"$OUT/services.txt" 2>&1 &
  SVC_PID=$!
  for _ in $(seq 1 600); do grep -q "services running" "$OUT/services.txt" 2>/dev/null && break; sleep 1; done
  eval "$(grep ^export "$OUT/services.txt")"
fi
dotnet build "$ROOT/tests/Pipeline.Benchmarks" -c Release -v q -nologo >/dev/null
echo "load: $(cut -d' ' -f1-3 /proc/loadavg), cores: $(nproc)"
# The node runs with the host's GC (server, as src/Pipeline.Host sets it; DOTNET_gcServer=0 for workstation).
DOTNET_gcServer=${DOTNET_gcServer:-1} dotnet "$ROOT/tests/Pipeline.Benchmarks/bin/Release/net10.0/Pipeline.Benchmarks.dll" e2e "$N" --resolution "$RES" --out "$OUT/work" ${FILE_ZARR:+--file-zarr "$FILE_ZARR"} | tee "$OUT/ours.txt"
RESULT=$(grep '^RESULT' "$OUT/ours.txt")
SECONDS_OURS=$(sed -E 's/.*seconds=([0-9.]+).*/\1/' <<<"$RESULT")
SOURCE=$(sed -E 's/.*source=([^ ]+).*/\1/' <<<"$RESULT")
mapfile -t FILES < <(find "$SOURCE" -type f -name '*.f[0-9][0-9][0-9]' | sort)
T0=$(date +%s.%N)
/usr/bin/python3 -c '
import sys, warnings, cfgrib
warnings.simplefilter("ignore")
out = sys.argv[1]
for i, p in enumerate(sys.argv[2:]):
    for j, ds in enumerate(cfgrib.open_datasets(p, backend_kwargs={"indexpath": ""})):
        ds.to_zarr(f"{out}/{i}_{j}.zarr", mode="w", consolidated=True)
' "$OUT/theirs" "${FILES[@]}"
T1=$(date +%s.%N)
python3 - "$SECONDS_OURS" "$T0" "$T1" "${#FILES[@]}" <<'PY'
import sys
ours, t0, t1, n = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
theirs = t1 - t0
print(f"python path (cfgrib + to_zarr, local files): {n} files in {theirs:.2f} s, {n/theirs:.2f} files/s")
print(f"ratio (wall, end to end): pipeline is {theirs/ours:.1f}x faster")
PY
