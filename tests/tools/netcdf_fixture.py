#!/usr/bin/python3
"""Write NetCDF fixtures with netCDF4 (and h5py for filters netCDF4 cannot ask for).

Usage: /usr/bin/python3 netcdf_fixture.py OUTDIR [--run N] [--ny NY] [--nx NX]

Writes into OUTDIR:
  roms_0.nc, roms_1.nc, roms_2.nc   ROMS-shaped his files of one run (ocean_time, s_rho, eta_rho, xi_rho; 2-D
                                    lon_rho/lat_rho), NETCDF4, chunked + zlib + shuffle, a _FillValue variable with
                                    missing points, a short variable with scale_factor/add_offset, one time step each
  fvcom_0.nc .. fvcom_2.nc          FVCOM-shaped (time, siglay, node, nele), NETCDF4_CLASSIC, two time steps per file
  fletcher.nc                       one variable with fletcher32 (zarr cannot check it: it must be converted)
  classic.nc, offset64.nc, data64.nc  NETCDF3_CLASSIC / NETCDF3_64BIT_OFFSET / NETCDF3_64BIT_DATA with a record dim
  classic_onerec.nc                 NETCDF3_CLASSIC with exactly one record variable (records are not padded)
  filters.h5nc                      an HDF5 file (netCDF4-readable) with an szip and an lzf variable beside a plain one
  latest.h5nc                       HDF5 1.10 chunk indices (single chunk, fixed array, extensible array)
  tail.h5nc                         HDF5 with small variables first and a big one at the end (for truncation)
  manifest.json                     the list, and for each file which variables must be referenced / converted
With --run N only the ROMS run of N files is written (benchmark input), with --ny/--nx as the grid.
"""
import json
import os
import sys

import numpy as np
import netCDF4

def roms(path, t_index, ny=40, nx=50, ns=4, seed=0):
    rng = np.random.default_rng(seed + t_index)
    ds = netCDF4.Dataset(path, "w", format="NETCDF4")
    ds.title = "ROMS-shaped fixture"
    ds.type = "ROMS/TOMS history file"
    ds.createDimension("ocean_time", None)
    ds.createDimension("s_rho", ns)
    ds.createDimension("eta_rho", ny)
    ds.createDimension("xi_rho", nx)
    t = ds.createVariable("ocean_time", "f8", ("ocean_time",))
    t.units = "seconds since 2024-01-01 00:00:00"
    t.calendar = "proleptic_gregorian"
    t.long_name = "time since initialization"
    t[:] = [3600.0 * t_index]
    s = ds.createVariable("s_rho", "f8", ("s_rho",))
    s.long_name = "S-coordinate at RHO-points"
    s[:] = np.linspace(-0.95, -0.05, ns)
    lon = ds.createVariable("lon_rho", "f8", ("eta_rho", "xi_rho"), zlib=True, chunksizes=(ny, nx))
    lon.units = "degree_east"
    lat = ds.createVariable("lat_rho", "f8", ("eta_rho", "xi_rho"), zlib=True, chunksizes=(ny, nx))
    lat.units = "degree_north"
    yy, xx = np.meshgrid(np.linspace(35, 40, ny), np.linspace(-75, -70, nx), indexing="ij")
    lon[:] = xx
    lat[:] = yy
    h = ds.createVariable("h", "f8", ("eta_rho", "xi_rho"))  # contiguous, uncompressed
    h.units = "meter"
    h.coordinates = "lon_rho lat_rho"
    h[:] = 10 + 100 * np.random.default_rng(seed).random((ny, nx))  # bathymetry: the same in every file of a run
    temp = ds.createVariable("temp", "f4", ("ocean_time", "s_rho", "eta_rho", "xi_rho"), zlib=True, shuffle=True,
                             complevel=4, chunksizes=(1, 2, ny // 2, nx // 3 + 1), fill_value=np.float32(1e37))
    temp.units = "Celsius"
    temp.coordinates = "lon_rho lat_rho"
    data = (10 + 15 * rng.random((1, ns, ny, nx))).astype("f4")
    mask = np.zeros(data.shape, bool)
    mask[:, :, : ny // 5, : nx // 5] = True  # land
    temp[:] = np.ma.array(data, mask=mask)
    zeta = ds.createVariable("zeta", "i2", ("ocean_time", "eta_rho", "xi_rho"), zlib=True, shuffle=True,
                             chunksizes=(1, ny, nx), fill_value=np.int16(-32767))
    zeta.scale_factor = np.float32(0.001)
    zeta.add_offset = np.float32(0.5)
    zeta.units = "meter"
    zeta.set_auto_maskandscale(False)
    raw = (rng.random((1, ny, nx)) * 20000 - 10000).astype("i2")
    raw[0, 0, :3] = -32767
    zeta[:] = raw
    salt = ds.createVariable("salt", "f8", ("ocean_time", "s_rho", "eta_rho", "xi_rho"), zlib=True,
                             chunksizes=(1, ns, ny, nx))
    salt[:] = 30 + rng.random((1, ns, ny, nx))
    ds.close()

def fvcom(path, file_index, nnode=300, nele=500, nsig=5, nt=2, seed=100):
    rng = np.random.default_rng(seed + file_index)
    ds = netCDF4.Dataset(path, "w", format="NETCDF4_CLASSIC")
    ds.title = "FVCOM-shaped fixture"
    ds.source = "FVCOM_4.3"
    ds.createDimension("time", None)
    ds.createDimension("siglay", nsig)
    ds.createDimension("node", nnode)
    ds.createDimension("nele", nele)
    time = ds.createVariable("time", "f4", ("time",))
    time.units = "days since 1858-11-17 00:00:00"
    time.format = "modified julian day (MJD)"
    time[:] = 60000.0 + file_index * nt / 24.0 + np.arange(nt) / 24.0
    ds.createDimension("DateStrLen", 26)
    times = ds.createVariable("Times", "S1", ("time", "DateStrLen"))
    stamps = [f"2024-01-{1 + file_index:02d}T{h:02d}:00:00.000000" for h in range(nt)]
    times[:] = netCDF4.stringtochar(np.array(stamps, dtype="S26"))
    itime = ds.createVariable("Itime", "i4", ("time",))
    itime.units = "days since 1858-11-17 00:00:00"
    itime[:] = np.full(nt, 60000, "i4")
    x = ds.createVariable("x", "f4", ("node",), zlib=True)
    x.units = "meters"
    x[:] = np.arange(nnode, dtype="f4") * 10
    lonc = ds.createVariable("lonc", "f4", ("nele",), zlib=True)
    lonc.units = "degrees_east"
    lonc[:] = np.linspace(-70, -69, nele)
    siglay = ds.createVariable("siglay", "f4", ("siglay", "node"), zlib=True)
    siglay[:] = np.repeat(np.linspace(-0.1, -0.9, nsig)[:, None], nnode, 1)
    zeta = ds.createVariable("zeta", "f4", ("time", "node"), zlib=True, shuffle=True, chunksizes=(1, nnode))
    zeta.units = "meters"
    zeta[:] = rng.standard_normal((nt, nnode)).astype("f4")
    temp = ds.createVariable("temp", "f4", ("time", "siglay", "node"), zlib=True, shuffle=True,
                             chunksizes=(1, nsig, 128), fill_value=np.float32(-999.0))
    temp[:] = np.ma.masked_less(rng.random((nt, nsig, nnode)).astype("f4") * 20, 1.0)
    u = ds.createVariable("u", "f4", ("time", "siglay", "nele"), zlib=True, shuffle=True, chunksizes=(1, nsig, nele))
    u.units = "meters s-1"
    u[:] = rng.standard_normal((nt, nsig, nele)).astype("f4")
    ds.close()

def fletcher(path):
    ds = netCDF4.Dataset(path, "w", format="NETCDF4")
    ds.createDimension("time", 3)
    ds.createDimension("x", 20)
    t = ds.createVariable("time", "f8", ("time",))
    t.units = "hours since 2024-01-01"
    t[:] = [0, 1, 2]
    v = ds.createVariable("checked", "f4", ("time", "x"), zlib=True, shuffle=True, fletcher32=True, chunksizes=(1, 20))
    v[:] = np.arange(60, dtype="f4").reshape(3, 20) / 7
    w = ds.createVariable("plain", "i4", ("time", "x"), zlib=True, chunksizes=(1, 10))
    w[:] = np.arange(60, dtype="i4").reshape(3, 20)
    ds.close()

def classic(path, fmt, nrec=3, seed=7, one_record_var=False):
    rng = np.random.default_rng(seed)
    ds = netCDF4.Dataset(path, "w", format=fmt)
    ds.title = "classic fixture " + fmt
    ds.history = "made by netcdf_fixture.py"
    ds.createDimension("time", None)
    ds.createDimension("lat", 5)
    ds.createDimension("lon", 7)
    ds.createDimension("nchar", 4)
    time = ds.createVariable("time", "f8", ("time",))
    time.units = "hours since 2024-01-01"
    time[:] = np.arange(nrec, dtype="f8") * 6
    lat = ds.createVariable("lat", "f4", ("lat",))
    lat.units = "degrees_north"
    lat[:] = np.linspace(-10, 10, 5)
    lon = ds.createVariable("lon", "f4", ("lon",))
    lon[:] = np.linspace(0, 30, 7)
    if not one_record_var:
        t2 = ds.createVariable("t2", "f4", ("time", "lat", "lon"), fill_value=np.float32(-9999))
        t2.units = "K"
        vals = (280 + 10 * rng.random((nrec, 5, 7))).astype("f4")
        t2[:] = np.ma.masked_greater(vals, 289)
        q = ds.createVariable("q", "i2", ("time", "lat", "lon"))
        q.scale_factor = 0.01
        q.add_offset = 1.0
        q.set_auto_maskandscale(False)
        q[:] = (rng.random((nrec, 5, 7)) * 1000).astype("i2")
        b = ds.createVariable("flag", "i1", ("time", "lon"))
        b.set_auto_maskandscale(False)
        b[:] = (np.arange(nrec * 7) % 100).astype("i1").reshape(nrec, 7)
    mask = ds.createVariable("mask", "i4", ("lat", "lon"))
    mask[:] = np.arange(35, dtype="i4").reshape(5, 7)
    elev = ds.createVariable("elev", "f8", ("lat", "lon"))
    elev[:] = rng.random((5, 7)) * 1000
    if fmt == "NETCDF3_64BIT_DATA":
        big = ds.createVariable("count", "i8", ("time", "lat"))
        big[:] = np.arange(nrec * 5, dtype="i8").reshape(nrec, 5) * 10**12
        u = ds.createVariable("ucount", "u2", ("lat",))
        u[:] = np.arange(5, dtype="u2") + 60000
    ds.close()

def filters(path):
    import h5py
    with h5py.File(path, "w") as f:
        x = f.create_dataset("x", data=np.arange(64, dtype="f8"))
        x.make_scale("x")
        plain = f.create_dataset("plain", data=np.arange(64, dtype="f4"), chunks=(16,), compression="gzip")
        plain.dims[0].attach_scale(x)
        sz = f.create_dataset("szipped", data=np.arange(64, dtype="i4"), chunks=(16,), compression="szip")
        sz.dims[0].attach_scale(x)
        lz = f.create_dataset("lzfed", data=np.arange(64, dtype="f4") * 2, chunks=(16,), compression="lzf")
        lz.dims[0].attach_scale(x)

def tail(path):
    """Small variables first, one big chunked variable last: cutting the file loses only that one's chunks."""
    import h5py
    with h5py.File(path, "w", libver="earliest") as f:
        f.attrs["title"] = "big variable at the tail"
        t = f.create_dataset("time", data=np.arange(50, dtype="f8"))
        t.attrs["units"] = "hours since 2024-01-01"
        t.make_scale("time")
        small = f.create_dataset("small", data=np.arange(50, dtype="f4"))
        small.dims[0].attach_scale(t)
        f.flush()
        x = f.create_dataset("x", data=np.arange(2000, dtype="i4"))
        x.make_scale("x")
        big = f.create_dataset("big", data=np.arange(50 * 2000, dtype="f8").reshape(50, 2000), chunks=(1, 2000))
        big.dims[0].attach_scale(t)
        big.dims[1].attach_scale(x)


def latest(path):
    """HDF5 1.10 layouts (libver latest): single-chunk, fixed-array and extensible-array chunk indices."""
    import h5py
    with h5py.File(path, "w", libver="latest") as f:
        t = f.create_dataset("time", data=np.arange(6, dtype="f8"), maxshape=(None,), chunks=(2,))
        t.attrs["units"] = "hours since 2024-01-01"
        t.make_scale("time")
        x = f.create_dataset("x", data=np.arange(30, dtype="f4"))
        x.make_scale("x")
        one = f.create_dataset("single", data=np.arange(30, dtype="i2"), chunks=(30,), compression="gzip")
        one.dims[0].attach_scale(x)
        fixed = f.create_dataset("fixed", data=np.arange(180, dtype="f4").reshape(6, 30), chunks=(2, 10), compression="gzip", shuffle=True)
        fixed.dims[0].attach_scale(t)
        fixed.dims[1].attach_scale(x)
        ext = f.create_dataset("growing", data=np.arange(180, dtype="f8").reshape(6, 30), chunks=(1, 30), maxshape=(None, 30), compression="gzip")
        ext.dims[0].attach_scale(t)
        ext.dims[1].attach_scale(x)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    args = sys.argv[2:]
    if "--run" in args:
        n = int(args[args.index("--run") + 1])
        ny = int(args[args.index("--ny") + 1]) if "--ny" in args else 200
        nx = int(args[args.index("--nx") + 1]) if "--nx" in args else 300
        for i in range(n):
            roms(os.path.join(out, f"roms_{i:03d}.nc"), i, ny=ny, nx=nx, ns=10)
        return
    files = []
    for i in range(3):
        roms(os.path.join(out, f"roms_{i}.nc"), i)
        files.append({"file": f"roms_{i}.nc", "kind": "roms"})
    for i in range(3):
        fvcom(os.path.join(out, f"fvcom_{i}.nc"), i)
        files.append({"file": f"fvcom_{i}.nc", "kind": "fvcom"})
    fletcher(os.path.join(out, "fletcher.nc"))
    files.append({"file": "fletcher.nc", "kind": "fletcher", "converted": ["checked"]})
    for name, fmt in [("classic.nc", "NETCDF3_CLASSIC"), ("offset64.nc", "NETCDF3_64BIT_OFFSET"), ("data64.nc", "NETCDF3_64BIT_DATA")]:
        classic(os.path.join(out, name), fmt)
        files.append({"file": name, "kind": "classic"})
    classic(os.path.join(out, "classic_onerec.nc"), "NETCDF3_CLASSIC", nrec=4, one_record_var=True)
    files.append({"file": "classic_onerec.nc", "kind": "classic"})
    filters(os.path.join(out, "filters.h5nc"))
    files.append({"file": "filters.h5nc", "kind": "filters", "failed": ["szipped", "lzfed"]})
    latest(os.path.join(out, "latest.h5nc"))
    files.append({"file": "latest.h5nc", "kind": "latest"})
    tail(os.path.join(out, "tail.h5nc"))
    files.append({"file": "tail.h5nc", "kind": "tail"})
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"files": files}, f, indent=1)

if __name__ == "__main__":
    main()
