# Compares our Zarr store (every group) with cfgrib.open_datasets on the same GRIB file.
# Prints one JSON object: per cfgrib variable, where we put it and how it differs.
import json, sys, warnings
import numpy as np
import xarray as xr
import zarr
import cfgrib

warnings.simplefilter("ignore")
path, store = sys.argv[1], sys.argv[2]
root = zarr.open_group(store, mode="r")
ours = {}
for name in sorted(root.group_keys()):
    ds = xr.open_zarr(store, group=name, consolidated=True)
    for v in ds.data_vars:
        ours.setdefault(v, []).append((name, ds))

report = {"variables": [], "cfgrib_datasets": 0, "our_groups": sorted(root.group_keys())}
for ref in cfgrib.open_datasets(path, backend_kwargs={"indexpath": ""}):
    report["cfgrib_datasets"] += 1
    for v in ref.data_vars:
        a = ref[v]
        entry = {"name": v, "cfgrib_dims": list(a.dims), "cfgrib_shape": list(a.shape),
                 "cfgrib_coords": sorted(ref[v].coords), "found": False}
        for group, ds in ours.get(v, []):
            b = ds[v]
            if list(b.dims) != list(a.dims) or list(b.shape) != list(a.shape):
                entry.setdefault("candidates", []).append({"group": group, "dims": list(b.dims), "shape": list(b.shape)})
                continue
            # Same level value(s)? (several groups can hold a name, e.g. t at two level types)
            x = a.values.astype("float64")
            y = b.values.astype("float64")
            nan_mismatch = int(np.sum(np.isnan(x) != np.isnan(y)))
            both = ~np.isnan(x) & ~np.isnan(y)
            diff = float(np.max(np.abs(x[both] - y[both]))) if both.any() else 0.0
            scale = float(np.max(np.abs(x[both]))) if both.any() else 1.0
            coords_ok = all(np.allclose(np.asarray(ref[c].values, dtype="float64") if ref[c].dtype.kind in "fiu" else 0,
                                        np.asarray(ds[c].values, dtype="float64") if ds[c].dtype.kind in "fiu" else 0)
                            for c in ("latitude", "longitude") if c in ref.coords and c in ds.coords)
            entry.update({"found": True, "group": group, "dims": list(b.dims), "nan_mismatch": nan_mismatch,
                          "max_diff": diff, "scale": scale, "coords_ok": bool(coords_ok),
                          "our_coords": sorted(ds[v].coords),
                          "units_ok": a.attrs.get("units") == b.attrs.get("units")})
            if nan_mismatch == 0 and diff <= 1e-6 * max(scale, 1.0):
                break
        report["variables"].append(entry)
print(json.dumps(report))
