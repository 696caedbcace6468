#!/usr/bin/python3
"""Compare what xarray reads through kerchunk references with what netCDF4 reads from the original files.

Usage: /usr/bin/python3 netcdf_oracle.py REFS.json|ZARR_DIR ORIGINAL.nc [ORIGINAL.nc ...] [--concat DIM] [--skip VAR,VAR]

Opens REFS.json with xarray's zarr engine over fsspec's ReferenceFileSystem. With one original, every variable
netCDF4 sees (less --skip) must be in the references with equal raw values (no CF decoding: exact, NaN == NaN)
and equal CF-decoded values (xarray's decoding of both). With --concat the originals are concatenated along DIM
(netCDF4 raw values, sorted by the DIM coordinate) and compared the same way. Prints one JSON object:
{"ok": bool, "checked": [names], "problems": [text], "unreadable": {name: why netCDF4 cannot read it}}.
Raw values come from zarr over the references, CF-decoded ones from xarray (variables xarray refuses, such as
FVCOM's 2-D siglay named like its dimension, are compared raw only); exits 0 either way (the caller asserts).
"""
import json
import os
import sys

import numpy as np
import netCDF4
import xarray as xr


UNREADABLE = {}


def raw_netcdf4(path, skip):
    out = {}
    with netCDF4.Dataset(path) as ds:
        ds.set_auto_maskandscale(False)
        for name, v in ds.variables.items():
            if name in skip:
                continue
            if v.dtype == str or v.dtype.kind in "OU":  # variable-length strings; char (S1) arrays are compared
                continue
            try:
                out[name] = (v.dimensions, np.asarray(v[...]))
            except Exception as e:  # e.g. a filter this netCDF4 build lacks
                UNREADABLE[name] = str(e)
    return out


def conflicting(path):
    """Variables xarray refuses (n-D with the name of one of their dimensions, as FVCOM's siglay)."""
    with netCDF4.Dataset(path) as ds:
        return [n for n, v in ds.variables.items() if len(v.dimensions) > 1 and n in v.dimensions]


def equal(a, b):
    if a.shape != b.shape:
        return f"shape {a.shape} vs {b.shape}"
    if a.dtype.kind == "f":
        if not np.array_equal(a, b, equal_nan=True):
            bad = np.argwhere(~((a == b) | (np.isnan(a) & np.isnan(b))))
            return f"{len(bad)} values differ, first at {tuple(bad[0])}: {a[tuple(bad[0])]} vs {b[tuple(bad[0])]}"
    elif not np.array_equal(a, b):
        bad = np.argwhere(a != b)
        return f"{len(bad)} values differ, first at {tuple(bad[0])}: {a[tuple(bad[0])]} vs {b[tuple(bad[0])]}"
    return None


def open_refs(refs, drop):
    import fsspec
    import zarr
    if os.path.isdir(refs):  # a Zarr store (pipeline zarr convert), not references
        return zarr.open_group(refs, mode="r"), xr.open_zarr(refs, decode_times=False, drop_variables=drop)
    group = zarr.open_group(fsspec.get_mapper("reference://", fo=refs), mode="r")
    kw = {"consolidated": False, "storage_options": {"fo": refs}}
    dec = xr.open_dataset("reference://", engine="zarr", backend_kwargs=kw, decode_times=False, drop_variables=drop)
    return group, dec


def main():
    args = sys.argv[1:]
    concat = None
    skip = set()
    if "--concat" in args:
        i = args.index("--concat")
        concat = args[i + 1]
        del args[i:i + 2]
    if "--skip" in args:
        i = args.index("--skip")
        skip = set(args[i + 1].split(","))
        del args[i:i + 2]
    refs, originals = args[0], args[1:]
    problems, checked = [], []
    drop = conflicting(originals[0])
    raw, dec = open_refs(refs, drop)
    if concat is None:
        expected = raw_netcdf4(originals[0], skip)
        expected_dec = xr.open_dataset(originals[0], decode_times=False, drop_variables=drop + list(UNREADABLE))
    else:
        parts = [raw_netcdf4(p, skip) for p in originals]
        parts.sort(key=lambda p: float(p[concat][1].ravel()[0]))
        expected = {}
        for name, (dims, arr) in parts[0].items():
            if concat in dims:
                axis = dims.index(concat)
                expected[name] = (dims, np.concatenate([p[name][1] for p in parts], axis=axis))
            else:
                expected[name] = (dims, arr)
        expected_dec = xr.open_mfdataset(originals, combine="nested", concat_dim=concat, decode_times=False, drop_variables=drop,
                                         data_vars="minimal", coords="minimal", compat="override").sortby(concat)
    for name, (dims, arr) in sorted(expected.items()):
        if name not in raw.array_keys():
            problems.append(f"{name}: missing from the references")
            continue
        got = raw[name]
        got_dims = tuple(got.attrs.get("_ARRAY_DIMENSIONS", []))
        if got_dims != tuple(dims):
            problems.append(f"{name}: dims {got_dims} vs {dims}")
            continue
        if got.dtype.newbyteorder("=") != arr.dtype.newbyteorder("="):
            problems.append(f"{name}: dtype {got.dtype} vs {arr.dtype}")
        p = equal(np.asarray(got[...]), arr)
        if p:
            problems.append(f"{name} (raw): {p}")
            continue
        if name in drop:
            checked.append(name)
            continue
        a = np.asarray(dec[name].values)
        b = np.asarray(expected_dec[name].values)
        if a.dtype.kind in "fc" or b.dtype.kind in "fc":
            if a.shape != b.shape or not np.allclose(a.astype("f8"), b.astype("f8"), rtol=1e-6, atol=0, equal_nan=True):
                problems.append(f"{name} (decoded): values differ ({a.dtype} vs {b.dtype})")
                continue
        else:
            p = equal(a, b)
            if p:
                problems.append(f"{name} (decoded): {p}")
                continue
        checked.append(name)
    print(json.dumps({"ok": not problems and bool(checked), "checked": checked, "problems": problems, "unreadable": UNREADABLE}))


if __name__ == "__main__":
    main()
