#!/usr/bin/python3
"""Times ecCodes decoding the same GRIB2 messages as Grib2Throughput (one thread, decode only).

Usage: /usr/bin/python3 grib2_eccodes_bench.py [--repeat N] [--per-file] FILE_OR_DIR...

For every message, a handle is made from the bytes already in memory and the output array is allocated (neither
timed); the timed part is ecCodes' C function grib_get_double_array(h, "values") into that array, called straight
through the cffi binding, so no Python-side work (size lookup, numpy allocation) is counted against ecCodes. A fresh
handle is made for every timed call: ecCodes unpacks the data section on the first get of a handle, and the C#
side decodes on every call as well. Prints M values/s per packing template (values = numberOfDataPoints returned),
with --per-file one line per (file, template) first, then `total <M values/s>`.
"""
import os
import sys
import time

import numpy as np
import eccodes
from gribapi.gribapi import ffi, get_handle, lib

NAMES = {0: "simple", 2: "complex", 3: "complex+sd", 4: "ieee", 40: "jpeg2000", 41: "png", 42: "ccsds", 61: "log", 200: "run-length"}


def messages(paths):
    for p in paths:
        files = sorted(os.path.join(p, f) for f in os.listdir(p)) if os.path.isdir(p) else [p]
        for path in files:
            with open(path, "rb") as f:
                while True:
                    h = eccodes.codes_grib_new_from_file(f)
                    if h is None:
                        break
                    try:
                        if eccodes.codes_get(h, "edition") == 2:
                            yield path, eccodes.codes_get(h, "dataRepresentationTemplateNumber"), eccodes.codes_get_message(h)
                    except Exception:  # noqa: BLE001
                        pass
                    finally:
                        eccodes.codes_release(h)


KEY = b"values"


def decode(msg):
    """Seconds spent in grib_get_double_array on a fresh handle, and the number of values it returned."""
    hid = eccodes.codes_new_from_message(msg)
    try:
        n = eccodes.codes_get_size(hid, "values")
        out = np.empty((n,), dtype="float64")
        out_p = ffi.cast("double *", out.ctypes.data)
        length_p = ffi.new("size_t*", n)
        h = get_handle(hid)
        t0 = time.perf_counter()
        err = lib.grib_get_double_array(h, KEY, out_p, length_p)
        elapsed = time.perf_counter() - t0
        if err:
            raise RuntimeError(f"ecCodes error {err}")
        return elapsed, length_p[0]
    finally:
        eccodes.codes_release(hid)


def report(label, count, values, elapsed, repeat):
    print(f"{label} {count:4d} msgs {values / repeat / 1e6:9.2f} M values {values / elapsed / 1e6:9.1f} M values/s")


def main():
    args = sys.argv[1:]
    repeat = 3
    per_file = False
    if "--repeat" in args:
        i = args.index("--repeat")
        repeat = int(args[i + 1])
        del args[i : i + 2]
    if "--per-file" in args:
        args.remove("--per-file")
        per_file = True
    by = {}
    for path, template, msg in messages(args):
        try:
            decode(msg)  # warm up; ecCodes cannot decode it: not timed
        except Exception:  # noqa: BLE001
            continue
        by.setdefault(template, []).append((path, msg))
    if per_file:
        files = {}
        for template, items in by.items():
            for path, msg in items:
                files.setdefault((os.path.basename(path), template), []).append(msg)
        for (name, template) in sorted(files, key=lambda k: (k[1], k[0])):
            values, elapsed = 0, 0.0
            for _ in range(repeat):
                for msg in files[(name, template)]:
                    e, n = decode(msg)
                    elapsed += e
                    values += n
            report(f"file 5.{template:<4} {name}", len(files[(name, template)]), values, elapsed, repeat)
    total_values, total_time = 0, 0.0
    for template in sorted(by):
        values, elapsed = 0, 0.0
        for _ in range(repeat):
            for _, msg in by[template]:
                e, n = decode(msg)
                elapsed += e
                values += n
        total_values += values
        total_time += elapsed
        report(f"5.{template:<4} {NAMES.get(template, '?'):<11}", len(by[template]), values, elapsed, repeat)
    print(f"total {total_values / total_time / 1e6:.1f}")


if __name__ == "__main__":
    main()
