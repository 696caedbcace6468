#!/usr/bin/python3
"""Encode GRIB2 fixtures with ecCodes, and dump what ecCodes decodes from them.

Usage: /usr/bin/python3 grib2_fixture.py OUTDIR [--seed N]

For every packing (simple, complex, complex + spatial differencing as ecCodes writes it (order 0), IEEE 32/64, JPEG 2000,
PNG, CCSDS, log preprocessing, constant field), with and without a bitmap, on a few regular lat/lon grids,
writes OUTDIR/NAME.grib2 and OUTDIR/NAME.f64 (codes_get_values as float64 little-endian, ecCodes'
missingValue 9999 at missing points) and OUTDIR/manifest.json listing them. Packings that this ecCodes
build cannot encode are listed under "skipped" with the reason.
"""
import json
import math
import os
import random
import sys

import eccodes
import numpy as np

GRIDS = [("ll37x19", 37, 19), ("ll120x61", 120, 61)]
PACKINGS = [
    ("simple", "grid_simple", {"bitsPerValue": 16}),
    ("simple12", "grid_simple", {"bitsPerValue": 12}),
    ("complex", "grid_complex", {"bitsPerValue": 16}),
    # ecCodes 2.28 writes template 5.3 with order 0 whatever is asked; orders 1 and 2 come from the real corpus.
    ("sd", "grid_complex_spatial_differencing", {"bitsPerValue": 16}),
    ("ieee32", "grid_ieee", {"precision": 1}),
    ("ieee64", "grid_ieee", {"precision": 2}),
    ("jpeg", "grid_jpeg", {"bitsPerValue": 16}),
    ("png", "grid_png", {"bitsPerValue": 16}),
    ("png8", "grid_png", {"bitsPerValue": 8}),
    ("ccsds", "grid_ccsds", {"bitsPerValue": 16}),
    ("ccsds24", "grid_ccsds", {"bitsPerValue": 24}),
    ("log", "grid_simple_log_preprocessing", {"bitsPerValue": 16}),
]


def field(ni, nj, rng, constant=False):
    if constant:
        return np.full(ni * nj, 273.5)
    lat = np.linspace(90, -90, nj)[:, None]
    lon = np.linspace(0, 360, ni, endpoint=False)[None, :]
    v = 250 + 40 * np.cos(np.radians(lat)) + 5 * np.sin(np.radians(3 * lon)) * np.cos(np.radians(2 * lat))
    v = v + np.array([rng.uniform(-0.5, 0.5) for _ in range(ni * nj)]).reshape(nj, ni)
    return v.ravel()


def encode(path_base, ni, nj, packing, settings, values, bitmap):
    h = eccodes.codes_grib_new_from_samples("GRIB2")
    try:
        eccodes.codes_set(h, "gridType", "regular_ll")
        eccodes.codes_set(h, "Ni", ni)
        eccodes.codes_set(h, "Nj", nj)
        eccodes.codes_set(h, "latitudeOfFirstGridPointInDegrees", 90.0)
        eccodes.codes_set(h, "longitudeOfFirstGridPointInDegrees", 0.0)
        eccodes.codes_set(h, "latitudeOfLastGridPointInDegrees", -90.0)
        eccodes.codes_set(h, "longitudeOfLastGridPointInDegrees", 360.0 - 360.0 / ni)
        eccodes.codes_set(h, "iDirectionIncrementInDegrees", 360.0 / ni)
        eccodes.codes_set(h, "jDirectionIncrementInDegrees", 180.0 / (nj - 1))
        if bitmap:
            eccodes.codes_set(h, "bitmapPresent", 1)
            eccodes.codes_set(h, "missingValue", 9999.0)
        if "bitsPerValue" in settings:
            eccodes.codes_set(h, "bitsPerValue", settings["bitsPerValue"])
        eccodes.codes_set_values(h, values)
        # Repack the values that are there, as grib_set -r -s packingType=... does.
        eccodes.codes_set(h, "packingType", packing)
        extra = {k: v for k, v in settings.items() if k != "bitsPerValue"}
        for k, v in extra.items():
            eccodes.codes_set(h, k, v)
        if extra:
            eccodes.codes_set_values(h, values)
        actual = eccodes.codes_get(h, "packingType")
        if actual != packing:
            raise RuntimeError(f"ecCodes wrote {actual} instead of {packing}")
        msg = eccodes.codes_get_message(h)
    finally:
        eccodes.codes_release(h)
    with open(path_base + ".grib2", "wb") as f:
        f.write(msg)
    h = eccodes.codes_new_from_message(msg)
    try:
        decoded = eccodes.codes_get_values(h).astype("<f8")
        info = {
            "dataRepresentationTemplateNumber": eccodes.codes_get(h, "dataRepresentationTemplateNumber"),
            "bitmapPresent": eccodes.codes_get(h, "bitmapPresent"),
            "numberOfValues": eccodes.codes_get(h, "numberOfValues"),
            "numberOfDataPoints": eccodes.codes_get(h, "numberOfDataPoints"),
        }
        try:
            info["orderOfSpatialDifferencing"] = eccodes.codes_get(h, "orderOfSpatialDifferencing")
        except eccodes.KeyValueNotFoundError:
            pass
    finally:
        eccodes.codes_release(h)
    decoded.tofile(path_base + ".f64")
    return info


def main():
    out = sys.argv[1]
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 42
    os.makedirs(out, exist_ok=True)
    rng = random.Random(seed)
    manifest = {"fixtures": [], "skipped": []}
    for gname, ni, nj in GRIDS:
        base = field(ni, nj, rng)
        masked = base.copy()
        for i in range(0, ni * nj, 7):
            masked[i] = 9999.0
        masked[: ni // 2] = 9999.0
        cases = [(p, False, base) for p in PACKINGS] + [(p, True, masked) for p in PACKINGS]
        cases.append((("constant", "grid_simple", {"bitsPerValue": 16}), False, field(ni, nj, rng, True)))
        for (pname, packing, settings), bitmap, values in cases:
            name = f"{gname}_{pname}{'_bitmap' if bitmap else ''}"
            if pname == "log" and bitmap:
                continue
            try:
                info = encode(os.path.join(out, name), ni, nj, packing, settings, values, bitmap)
            except Exception as e:  # noqa: BLE001 - a packing this ecCodes cannot write is reported, not fatal
                manifest["skipped"].append({"name": name, "reason": f"{type(e).__name__}: {e}"})
                continue
            info.update({"name": name, "packing": packing, "grid": gname, "bitmap": bitmap,
                         "grib": name + ".grib2", "values": name + ".f64"})
            manifest["fixtures"].append(info)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"{len(manifest['fixtures'])} fixtures, {len(manifest['skipped'])} skipped in {out}")


if __name__ == "__main__":
    main()
