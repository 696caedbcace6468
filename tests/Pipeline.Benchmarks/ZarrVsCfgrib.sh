#!/usr/bin/env bash
# End-to-end GRIB2 -> Zarr: `pipeline zarr convert` versus the path users take today (cfgrib.open_datasets +
# xarray to_zarr), on the same files, in one run. Prints wall and CPU seconds and values/s for both, and the ratio.
# Usage: tests/Pipeline.Benchmarks/ZarrVsCfgrib.sh [FILE...]   (default: 5 files of ../shared/data/grib2/real)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
R="${PIPELINE_SHARED:-$ROOT/../shared}/data/grib2/real"
FILES=("$@")
[ ${#FILES[@]} -gt 0 ] || FILES=("$R/pygrib__gfs.t12z.pgrbf120.2p5deg.grib2" "$R/gribberish__ecmwf-ifs-oper-surface.grib2"
  "$R/gribberish__hrrr.t06z.wrfsfcf01-TMP.grib2" "$R/gribrs__CMC_glb_TMP_ISBL_1_latlon.24x.24_2021051800_P000.grib2"
  "$R/gribrs__20260219T00Z_MSC_HRDPS_CAPE_Sfc_RLatLon0.0225_PT000H.grib2")
OUT=$(mktemp -d /tmp/zarr-vs-cfgrib.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
dotnet build "$ROOT/src/Pipeline.Host" -c Release -v q -nologo >/dev/null
PIPELINE="dotnet $ROOT/src/Pipeline.Host/bin/Release/net10.0/pipeline.dll"
VALUES=$(/usr/bin/python3 -c 'import sys,eccodes
n=0
for p in sys.argv[1:]:
  with open(p,"rb") as f:
    while True:
      h=eccodes.codes_grib_new_from_file(f)
      if h is None: break
      n+=eccodes.codes_get(h,"numberOfDataPoints"); eccodes.codes_release(h)
print(n)' "${FILES[@]}")
measure() { # label, command...
  local label=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$OUT/$label.cpu" "$@" >"$OUT/$label.log" 2>&1 || { cat "$OUT/$label.log"; exit 1; }
  t1=$(date +%s.%N)
  read -r u s <"$OUT/$label.cpu"
  python3 -c "w=$t1-$t0; c=$u+$s; print(f'$label: wall {w:.2f} s, cpu {c:.2f} s, {$VALUES/w/1e6:.2f} M values/s wall, {$VALUES/c/1e6:.2f} M values/s per cpu-second')"
  echo "$t1 - $t0" | bc >"$OUT/$label.wall"
}
echo "$VALUES values in ${#FILES[@]} files; load: $(cut -d' ' -f1-3 /proc/loadavg)"
measure pipeline $PIPELINE zarr convert "${FILES[@]}" --out "$OUT/ours"
measure cfgrib /usr/bin/python3 -c '
import sys, warnings, cfgrib
warnings.simplefilter("ignore")
out = sys.argv[1]
for i, p in enumerate(sys.argv[2:]):
    for j, ds in enumerate(cfgrib.open_datasets(p, backend_kwargs={"indexpath": ""})):
        ds.to_zarr(f"{out}/{i}_{j}.zarr", mode="w", consolidated=True)
' "$OUT/theirs" "${FILES[@]}"
python3 -c "print(f'ratio (wall): {$(cat $OUT/cfgrib.wall)/$(cat $OUT/pipeline.wall):.1f}x faster')"
