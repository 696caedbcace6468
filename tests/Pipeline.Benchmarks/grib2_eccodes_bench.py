#!/usr/bin/python3
"""Times ecCodes decoding the same GRIB2 messages as Grib2Throughput (one thread, decode only).

Usage: /usr/bin/python3 grib2_eccodes_bench.py [--repeat N] FILE_OR_DIR...

For every message, a handle is made from the bytes already in memory (not timed); the timed part is
codes_get_values (ecCodes unpacks the data section on each call of a fresh handle). Prints M values/s per
packing template (values = numberOfDataPoints returned), then `total <M values/s>`.
"""
import os
import sys
import time

import eccodes

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
                            yield eccodes.codes_get(h, "dataRepresentationTemplateNumber"), eccodes.codes_get_message(h)
                    except Exception:  # noqa: BLE001
                        pass
                    finally:
                        eccodes.codes_release(h)


def main():
    args = sys.argv[1:]
    repeat = 3
    if "--repeat" in args:
        i = args.index("--repeat")
        repeat = int(args[i + 1])
        del args[i : i + 2]
    by = {}
    for template, msg in messages(args):
        h = eccodes.codes_new_from_message(msg)
        try:
            eccodes.codes_get_values(h)
        except Exception:  # noqa: BLE001 - ecCodes cannot decode it: not timed
            eccodes.codes_release(h)
            continue
        eccodes.codes_release(h)
        by.setdefault(template, []).append(msg)
    total_values, total_time = 0, 0.0
    for template in sorted(by):
        values, elapsed = 0, 0.0
        for _ in range(repeat):
            for msg in by[template]:
                h = eccodes.codes_new_from_message(msg)
                t0 = time.perf_counter()
                v = eccodes.codes_get_values(h)
                elapsed += time.perf_counter() - t0
                values += len(v)
                eccodes.codes_release(h)
        total_values += values
        total_time += elapsed
        print(f"5.{template:<4} {NAMES.get(template, '?'):<11} {len(by[template]):4d} msgs {values / repeat / 1e6:9.2f} M values {values / elapsed / 1e6:9.1f} M values/s")
    print(f"total {total_values / total_time / 1e6:.1f}")


if __name__ == "__main__":
    main()
