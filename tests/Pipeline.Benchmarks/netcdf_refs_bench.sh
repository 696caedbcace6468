#!/usr/bin/env bash
# NetCDF run -> something xarray opens: `pipeline netcdf refs` (kerchunk references combined along ocean_time,
# no data copied) versus the usual path (xarray open_mfdataset(...).to_zarr, every value decoded and rewritten),
# on the same N generated ROMS-shaped NetCDF-4 files (zlib + shuffle). Also times `pipeline zarr convert` (chunks
# copied as stored). Prints wall and CPU seconds of each and the ratios.
# Usage: tests/Pipeline.Benchmarks/netcdf_refs_bench.sh [N [NY NX]]   (default 24 files of 10 x 200 x 300)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
N=${1:-24}; NY=${2:-200}; NX=${3:-300}
OUT=$(mktemp -d /tmp/netcdf-refs-bench.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
dotnet build "$ROOT/src/Pipeline.Host" -c Release -v q -nologo >/dev/null
PIPELINE="dotnet $ROOT/src/Pipeline.Host/bin/Release/net10.0/pipeline.dll"
/usr/bin/python3 "$ROOT/tests/tools/netcdf_fixture.py" "$OUT/in" --run "$N" --ny "$NY" --nx "$NX"
FILES=("$OUT"/in/roms_*.nc)
MB=$(du -cm "${FILES[@]}" | tail -1 | cut -f1)
measure() { # label, command...
  local label=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$OUT/$label.cpu" "$@" >"$OUT/$label.log" 2>&1 || { cat "$OUT/$label.log"; exit 1; }
  t1=$(date +%s.%N)
  read -r u s <"$OUT/$label.cpu"
  python3 -c "w=$t1-$t0; c=$u+$s; print(f'$label: wall {w:.2f} s, cpu {c:.2f} s, {$MB/w:.1f} MB of NetCDF/s wall')"
  python3 -c "print($t1-$t0)" >"$OUT/$label.wall"
}
echo "${#FILES[@]} ROMS-shaped NetCDF-4 files, ${MB} MB, grid 10 x $NY x $NX; load: $(cut -d' ' -f1-3 /proc/loadavg)"
measure refs $PIPELINE netcdf refs "${FILES[@]}" --out "$OUT/run.json" --combine ocean_time
measure convert $PIPELINE zarr convert "${FILES[@]}" --out "$OUT/ours.zarr"
measure xarray /usr/bin/python3 -c '
import sys, xarray as xr
ds = xr.open_mfdataset(sys.argv[2:], combine="nested", concat_dim="ocean_time", data_vars="minimal", coords="minimal", compat="override")
ds.to_zarr(sys.argv[1], mode="w", consolidated=True)
' "$OUT/theirs.zarr" "${FILES[@]}"
# The references really open: xarray reads the whole run through them once.
measure read-refs /usr/bin/python3 -c '
import sys, xarray as xr
ds = xr.open_dataset("reference://", engine="zarr", backend_kwargs={"consolidated": False, "storage_options": {"fo": sys.argv[1]}})
print(float(ds.temp.mean()), ds.sizes)
' "$OUT/run.json"
python3 -c "x=$(cat $OUT/xarray.wall); print(f'ratio (wall): refs {x/$(cat $OUT/refs.wall):.1f}x faster than open_mfdataset.to_zarr; zarr convert {x/$(cat $OUT/convert.wall):.1f}x faster')"
