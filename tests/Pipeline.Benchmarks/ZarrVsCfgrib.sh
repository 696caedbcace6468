#!/usr/bin/env bash
# End-to-end GRIB2 -> Zarr: `pipeline zarr convert` versus the path users take today (cfgrib.open_datasets +
# xarray to_zarr), on the same files, interleaved (ours, theirs, ours, theirs...) so that load from other processes
# hits both alike. Prints per round the wall and CPU seconds of both and their ratios, then the medians; also the
# fixed cost of starting the .NET process (`pipeline --help`). CPU-seconds ratios are the less load-sensitive figure.
# Usage: tests/Pipeline.Benchmarks/ZarrVsCfgrib.sh [FILE...]
#   (default: 5 files of ../shared/data/grib2/real; ZARR_BENCH_SET=all: the 27 corpus files both tools convert)
#   ROUNDS=3 (rounds), ZARR_ARGS="--compressor zstd" (extra convert options), PIPELINE_SHARED=/work/shared,
#   ZARR_BENCH_DIR=/tmp (where both tools write; /dev/shm takes the disk's file creation out of both)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
R="${PIPELINE_SHARED:-$ROOT/../shared}/data/grib2/real"
ROUNDS=${ROUNDS:-3}
FILES=("$@")
if [ ${#FILES[@]} -eq 0 ]; then
  if [ "${ZARR_BENCH_SET:-}" = all ]; then
    # Every corpus file that cfgrib 0.9.10 opens and we convert (checked with tests/Pipeline.Zarr.Tests/Interop/compare_cfgrib.py),
    # less cfgrib__ds.waveh.5.grib: cfgrib opens it but its to_zarr fails reading the values (alternate-row scanning on a
    # 1-D array: "IndexError: too many indices for array" in cfgrib/dataset.py get_values_in_order).
    for f in cfgrib__regular_gg_ml_g2.grib earthkit__O32_global.grib2 \
      gribberish__MRMS_MergedReflectivityQCComposite_00.50_20220704-110040.grib2 gribberish__aifs-single-t500.grib2 \
      gribberish__aqm.t12z.ave_1hr_o3-AK-polar-stereographic.grib2 gribberish__aqm.t12z.ave_1hr_o3-HI-mercator.grib2 \
      gribberish__aqm.t12z.ave_1hr_pm25-PMTF.grib2 gribberish__ecmwf-ifs-oper-surface.grib2 \
      gribberish__gfs.t12z.pgrb2.0p25.f023-PV-TMP-missing.grib2 gribberish__gfs.t18z.pgrb2.0p25.f186-RH.grib2 \
      gribberish__gfswave.20210826.t12z.atlocn.0p16.f000.grib2 gribberish__hrrr.t00z.wrfprsf00-hydrology.grib2 \
      gribberish__hrrr.t00z.wrfprsf00-space.grib2 gribberish__hrrr.t06z.wrfsfcf01-TMP.grib2 gribberish__hrrr.t06z.wrfsfcf01-UGRD.grib2 \
      gribberish__hrrr.t06z.wrfsfcf01-missing-zeros.grib2 gribberish__meteofrance.arome-TCDC.grib2 \
      gribberish__meteofrance.mfwam.arome-SWELL.grib2 gribberish__multi_1.at_10m.t12z.f147.grib2 gribberish__s2s-pdt9-pdt10-pdt12.grib2 \
      gribrs__20240101000000-0h-oper-fc.grib2.0-10 gribrs__20250912120000-0h-oper-fc.grib2.89 \
      gribrs__20260219T00Z_MSC_HRDPS_CAPE_Sfc_RLatLon0.0225_PT000H.grib2 gribrs__CMC_glb_TMP_ISBL_1_latlon.24x.24_2021051800_P000.grib2 \
      gribrs__icon_global_icosahedral_single-level_2021112018_000_TOT_PREC.grib2 pygrib__gfs.t12z.pgrbf120.2p5deg.grib2 \
      pygrib__reduced_latlon_surface.grib2; do
      FILES+=("$R/$f")
    done
  else
    FILES=("$R/pygrib__gfs.t12z.pgrbf120.2p5deg.grib2" "$R/gribberish__ecmwf-ifs-oper-surface.grib2"
      "$R/gribberish__hrrr.t06z.wrfsfcf01-TMP.grib2" "$R/gribrs__CMC_glb_TMP_ISBL_1_latlon.24x.24_2021051800_P000.grib2"
      "$R/gribrs__20260219T00Z_MSC_HRDPS_CAPE_Sfc_RLatLon0.0225_PT000H.grib2")
  fi
fi
OUT=$(mktemp -d "${ZARR_BENCH_DIR:-/tmp}/zarr-vs-cfgrib.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
# Published as users deploy it: for linux-x64, with the conversion path precompiled (ReadyToRun, see the csproj).
# PIPELINE_BUILD=il measures the plain build output instead (everything JIT-compiled at start).
if [ "${PIPELINE_BUILD:-}" = il ]; then
  dotnet build "$ROOT/src/Pipeline.Host" -c Release -v q -nologo >/dev/null
  PIPELINE="dotnet $ROOT/src/Pipeline.Host/bin/Release/net10.0/pipeline.dll"
else
  dotnet publish "$ROOT/src/Pipeline.Host" -c Release -r linux-x64 --self-contained false -v q -nologo \
    -o "$ROOT/tests/Pipeline.Benchmarks/bin/pipeline-r2r" >/dev/null
  PIPELINE="dotnet $ROOT/tests/Pipeline.Benchmarks/bin/pipeline-r2r/pipeline.dll"
fi
VALUES=$(/usr/bin/python3 -c 'import sys,eccodes
n=0
for p in sys.argv[1:]:
  with open(p,"rb") as f:
    while True:
      h=eccodes.codes_grib_new_from_file(f)
      if h is None: break
      n+=eccodes.codes_get(h,"numberOfDataPoints"); eccodes.codes_release(h)
print(n)' "${FILES[@]}")
BYTES=$(cat "${FILES[@]}" | wc -c)
measure() { # label, command... -> "wall cpu" on stdout
  local label=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$OUT/$label.cpu" "$@" >"$OUT/$label.log" 2>&1 || { cat "$OUT/$label.log" >&2; exit 1; }
  t1=$(date +%s.%N)
  read -r u s <"$OUT/$label.cpu"
  python3 -c "print(f'{$t1-$t0:.3f} {$u+$s:.3f}')"
}
echo "$VALUES values ($((BYTES / 1000000)) MB of GRIB) in ${#FILES[@]} files; $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg); writing to $(df --output=fstype "$OUT" | tail -1) at $OUT"
read -r sw sc < <(measure startup $PIPELINE --help)
echo "startup (pipeline --help): wall ${sw} s, cpu ${sc} s"
CFGRIB='
import sys, warnings, cfgrib
warnings.simplefilter("ignore")
out = sys.argv[1]
for i, p in enumerate(sys.argv[2:]):
    for j, ds in enumerate(cfgrib.open_datasets(p, backend_kwargs={"indexpath": ""})):
        ds.to_zarr(f"{out}/{i}_{j}.zarr", mode="w", consolidated=True)
'
RESULTS=()
for round in $(seq 1 "$ROUNDS"); do
  rm -rf "$OUT/ours" "$OUT/theirs"
  # shellcheck disable=SC2086
  read -r ow oc < <(measure pipeline $PIPELINE zarr convert "${FILES[@]}" --out "$OUT/ours" ${ZARR_ARGS:-})
  read -r cw cc < <(measure cfgrib /usr/bin/python3 -c "$CFGRIB" "$OUT/theirs" "${FILES[@]}")
  RESULTS+=("$ow $oc $cw $cc")
  python3 -c "
ow,oc,cw,cc=$ow,$oc,$cw,$cc; v=$VALUES
print(f'round $round: ours wall {ow:.2f} s cpu {oc:.2f} s ({v/ow/1e6:.2f} M values/s) | cfgrib wall {cw:.2f} s cpu {cc:.2f} s ({v/cw/1e6:.2f} M values/s) | ratio wall {cw/ow:.1f}x, cpu {cc/oc:.1f}x | load {open(\"/proc/loadavg\").read().split()[0]}')"
done
python3 - "$sw" "$sc" "$VALUES" "${RESULTS[@]}" <<'PY'
import statistics, sys
sw, sc, v = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
rows = [tuple(map(float, r.split())) for r in sys.argv[4:]]
med = lambda i: statistics.median(r[i] for r in rows)
ow, oc, cw, cc = med(0), med(1), med(2), med(3)
print(f"median: ours wall {ow:.2f} s, cpu {oc:.2f} s; cfgrib wall {cw:.2f} s, cpu {cc:.2f} s")
print(f"median ratio (wall): {statistics.median(r[2] / r[0] for r in rows):.1f}x faster; (cpu): {statistics.median(r[3] / r[1] for r in rows):.1f}x less CPU")
print(f"without process startup ({sw:.2f} s wall, {sc:.2f} s cpu): wall {cw / max(ow - sw, 1e-3):.1f}x, cpu {cc / max(oc - sc, 1e-3):.1f}x")
PY
