#!/usr/bin/env bash
# Fetch benchmark: FILES files of SIZE bytes from a loopback Kestrel server, three ways, side by side:
#   wget -i LIST (sequential, the legacy way), a plain sequential HttpClient loop, and the Fetch flow
#   (Fetcher: per-host connections, verify, content-addressed cache with fsync + rename).
# Usage: tests/Pipeline.Benchmarks/fetch_bench.sh [FILES=200] [SIZE=1048576] [LATENCY_MS=0] [CONNECTIONS=8]
# LATENCY_MS delays every response on the server: a stand-in for the round trip to a remote data centre.
# Prints one line per method (seconds, MB/s, peak RSS) and the ratios against wget.
set -Eeuo pipefail
FILES=${1:-200}
SIZE=${2:-1048576}
LATENCY=${3:-0}
CONNECTIONS=${4:-8}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0
command -v wget >/dev/null || { echo "wget missing: apt-get install -y wget" >&2; exit 1; }
[ "${SKIP_BUILD:-0}" = 1 ] || dotnet build "$ROOT/tests/Pipeline.Benchmarks" -c Release -v q -nologo >/dev/null
BIN="$ROOT/tests/Pipeline.Benchmarks/bin/Release/net10.0/Pipeline.Benchmarks"
WORK=$(mktemp -d /tmp/fetch-bench.XXXXXX)
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

"$BIN" fetch-serve "$WORK/src" "$FILES" "$SIZE" "$LATENCY" > "$WORK/server.out" &
SERVER_PID=$!
for _ in $(seq 1 600); do grep -q '^PORT ' "$WORK/server.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(awk '/^PORT /{print $2}' "$WORK/server.out")
[ -n "$PORT" ] || { echo "server did not start" >&2; exit 1; }
for i in $(seq 0 $((FILES - 1))); do printf 'http://127.0.0.1:%s/f%04d.grib2\n' "$PORT" "$i"; done > "$WORK/list"
echo "files=$FILES size=$SIZE latency_ms=$LATENCY connections=$CONNECTIONS port=$PORT"

# Warm the page cache and the server's JIT once, so every method sees the same state.
wget -q -i "$WORK/list" -O /dev/null

start=$(date +%s.%N)
/usr/bin/time -f '%M %U %S' -o "$WORK/wget.rss" wget -q -i "$WORK/list" -P "$WORK/wget"
end=$(date +%s.%N)
WGET=$(echo "$end - $start" | bc -l)
read -r WRSS WUSER WSYS < "$WORK/wget.rss"
printf 'wget: files=%s seconds=%.3f cpuSeconds=%.3f MB/s=%.1f peakRssMB=%.1f\n' "$(ls "$WORK/wget" | wc -l)" "$WGET" \
  "$(echo "$WUSER + $WSYS" | bc -l)" "$(echo "$FILES * $SIZE / 1000000 / $WGET" | bc -l)" "$(echo "$WRSS / 1024" | bc -l)"

HC=$("$BIN" fetch-client httpclient "$WORK/list" "$WORK/hc")
echo "$HC"
FE=$("$BIN" fetch-client fetcher "$WORK/list" "$WORK/cache" "$CONNECTIONS")
echo "$FE"
secs() { sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$1"; }
printf 'ratio wget/httpclient=%.2fx wget/fetcher=%.2fx httpclient/fetcher=%.2fx\n' \
  "$(echo "$WGET / $(secs "$HC")" | bc -l)" "$(echo "$WGET / $(secs "$FE")" | bc -l)" "$(echo "$(secs "$HC") / $(secs "$FE")" | bc -l)"
