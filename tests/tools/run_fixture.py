#!/usr/bin/python3
"""Encode a small model run with ecCodes: one GRIB2 file per step holding several variables and levels.

Usage: /usr/bin/python3 run_fixture.py OUTDIR [--steps 0,6,12,18] [--date 20261124] [--run 0] [--ni 36 --nj 19]

Writes OUTDIR/model.tHHz.fSSS.grib2 for every step, each with 2t and 10u (heightAboveGround 2 m / 10 m), t at 850
and 500 hPa, and prmsl, simple packing, on a regular global lat/lon grid; and OUTDIR/manifest.json listing every
file with, per message, shortName, level, step and the values ecCodes decodes (rounded to 1e-6): the oracle.
"""
import argparse
import json
import os

import eccodes
import numpy as np

VARIABLES = [  # (shortName, discipline, category, number, typeOfFirstFixedSurface, level, base)
    ("2t", 0, 0, 0, 103, 2, 280.0),
    ("10u", 0, 2, 2, 103, 10, 0.0),
    ("t", 0, 0, 0, 100, 85000, 270.0),
    ("t", 0, 0, 0, 100, 50000, 250.0),
    ("prmsl", 0, 3, 1, 101, 0, 101000.0),
]


def field(ni, nj, step, index, base):
    lat = np.linspace(90, -90, nj)[:, None]
    lon = np.linspace(0, 360, ni, endpoint=False)[None, :]
    amp = 1000.0 if base > 50000 else 10.0
    return (base + amp * np.cos(np.radians(lat)) * np.sin(np.radians(lon + 15 * step + 40 * index))).ravel()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--steps", default="0,6,12,18")
    p.add_argument("--date", default="20261124")
    p.add_argument("--run", type=int, default=0)
    p.add_argument("--ni", type=int, default=36)
    p.add_argument("--nj", type=int, default=19)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    files = []
    for step in [int(s) for s in a.steps.split(",")]:
        name = f"model.t{a.run:02d}z.f{step:03d}.grib2"
        messages = []
        with open(os.path.join(a.out, name), "wb") as f:
            for i, (short, disc, cat, num, surface, level, base) in enumerate(VARIABLES):
                h = eccodes.codes_grib_new_from_samples("GRIB2")
                try:
                    for k, v in [("gridType", "regular_ll"), ("Ni", a.ni), ("Nj", a.nj),
                                 ("latitudeOfFirstGridPointInDegrees", 90.0), ("longitudeOfFirstGridPointInDegrees", 0.0),
                                 ("latitudeOfLastGridPointInDegrees", -90.0),
                                 ("longitudeOfLastGridPointInDegrees", 360.0 - 360.0 / a.ni),
                                 ("iDirectionIncrementInDegrees", 360.0 / a.ni),
                                 ("jDirectionIncrementInDegrees", 180.0 / (a.nj - 1)),
                                 ("centre", "kwbc"), ("dataDate", int(a.date)), ("dataTime", a.run * 100),
                                 ("discipline", disc), ("parameterCategory", cat), ("parameterNumber", num),
                                 ("typeOfFirstFixedSurface", surface), ("scaleFactorOfFirstFixedSurface", 0),
                                 ("scaledValueOfFirstFixedSurface", level), ("stepUnits", 1), ("forecastTime", step),
                                 ("bitsPerValue", 16)]:
                        eccodes.codes_set(h, k, v)
                    values = field(a.ni, a.nj, step, i, base)
                    eccodes.codes_set_values(h, values)
                    decoded = eccodes.codes_get_values(h)
                    messages.append({"shortName": eccodes.codes_get(h, "shortName"), "typeOfLevel": eccodes.codes_get(h, "typeOfLevel"),
                                     "level": eccodes.codes_get(h, "level"), "step": eccodes.codes_get(h, "step"),
                                     "values": [round(float(x), 6) for x in decoded]})
                    f.write(eccodes.codes_get_message(h))
                finally:
                    eccodes.codes_release(h)
        files.append({"name": name, "step": step, "size": os.path.getsize(os.path.join(a.out, name)), "messages": messages})
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump({"date": a.date, "run": a.run, "ni": a.ni, "nj": a.nj, "files": files}, f)


if __name__ == "__main__":
    main()
