"""Sentinel-1 SLC products (SAFE folders or .zip) through xarray-sentinel.

A product holds one image per sub-swath and polarisation; TOPS (IW/EW) images are stacks of
bursts. ``sentinel1_bursts`` returns the bursts of one swath/polarisation as separate scenes,
because a TOPS burst is the unit over which the spectrum is stationary. Decorrelate and
despeckle each burst, then ``deburst`` the results into one image (the overlapping lines at each
burst's ends are dropped, as xarray-sentinel's ``mosaic_slc_iw`` does). Zero samples outside
each burst's valid area are nodata. GCPs come from the annotation's geolocation grid.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import xarray as xr
from rasterio.control import GroundControlPoint

from engine.exceptions import InputError
from engine.io._formats import InputFormat, OpenRequest
from engine.scene import BURST_COORD

#: Lines dropped at each end of each burst when debursting (xarray-sentinel's default).
BURST_OVERLAP_CROP = 90


def is_sentinel1(path: Path) -> bool:
    if path.is_dir():
        return (path / "manifest.safe").is_file()
    if path.suffix.lower() == ".zip" and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            return any(name.endswith("manifest.safe") for name in z.namelist())
    return False


_EXTRACTED: dict[Path, Path] = {}


def _extract(archive: Path, group: str | None) -> Path:
    """The SAFE folder of a .zip product, extracted on demand: the manifest and annotations,
    and the measurement of ``group`` (swath/polarisation) when one is asked for.

    xarray-sentinel reads annotations inside a zip but not measurements (rasterio is given the
    member's path without the archive's; see its open_rasterio_dataarray), so the members a
    run needs are extracted into a temporary folder, removed when the process exits.
    """
    import atexit
    import shutil
    import tempfile
    import warnings

    from engine.exceptions import DespeckleWarning

    if archive not in _EXTRACTED:
        folder = Path(tempfile.mkdtemp(prefix="despeckle-s1-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _EXTRACTED[archive] = folder
    folder = _EXTRACTED[archive]
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
        safe = next(name for name in names if name.endswith("manifest.safe")).rsplit("/", 1)[0]
        wanted = [n for n in names if n.endswith(".safe") or ("/annotation/" in n and n.endswith(".xml"))]
        if group:
            swath, polarisation = group.split("/")[:2]
            measurement = [n for n in names if "/measurement/" in n and f"-{swath.lower()}-slc-{polarisation.lower()}-" in n]
            missing = [n for n in measurement if not (folder / n).exists()]
            if missing:
                size = sum(z.getinfo(n).file_size for n in missing) / 2**30
                warnings.warn(
                    f"extracting the {group} measurement ({size:.1f} GiB) of {archive.name} to {folder}; "
                    "unzip the product once to avoid this", DespeckleWarning, stacklevel=4,
                )
            wanted += measurement
        for name in wanted:
            if not (folder / name).exists():
                z.extract(name, folder)
    return folder / safe


def _open(path: Path, group: str | None = None) -> xr.Dataset:
    import xarray_sentinel

    product = path if path.is_dir() else _extract(path, group if group and group.count("/") == 1 else None)
    try:
        return xarray_sentinel.open_sentinel1_dataset(str(product), group=group)
    except (ValueError, KeyError, OSError) as error:
        raise InputError(f"cannot read the Sentinel-1 product {path}: {error}") from None


def swath_polarisations(path: Path) -> dict[str, list[str]]:
    """{swath: [polarisations]} available in the product."""
    root = _open(path)
    found: dict[str, list[str]] = {}
    for group in root.attrs.get("subgroups", []):
        parts = group.split("/")
        if len(parts) == 2:
            found.setdefault(parts[0], []).append(parts[1])
    if root.attrs.get("product_type") != "SLC":
        raise InputError(f"{path} is a {root.attrs.get('product_type')} product; the SLC reader needs an SLC product")
    return found


def _choose(path: Path, swath: str | None, polarisation: str | None) -> tuple[str, str]:
    available = swath_polarisations(path)
    listing = "; ".join(f"{s}: {', '.join(p)}" for s, p in available.items())
    swath = (swath or next(iter(available))).upper()
    if swath not in available:
        raise InputError(f"{path} has no swath {swath}; available swaths and polarisations: {listing}")
    polarisation = (polarisation or available[swath][0]).upper()
    if polarisation not in available[swath]:
        raise InputError(f"{path} has no polarisation {polarisation} in {swath}; available: {listing}")
    return swath, polarisation


def _gcps(path: Path, swath: str, polarisation: str) -> list[GroundControlPoint]:
    grid = _open(path, f"{swath}/{polarisation}/gcp")
    gcps = []
    for i, line in enumerate(grid["line"].values):
        for j, pixel in enumerate(grid["pixel"].values):
            gcps.append(GroundControlPoint(
                row=float(line), col=float(pixel), x=float(grid["longitude"].values[i, j]),
                y=float(grid["latitude"].values[i, j]), z=float(grid["height"].values[i, j]), id=f"{i}_{j}",
            ))
    return gcps


def _with_gcps(scene: xr.DataArray, gcps: list[GroundControlPoint], first_line: int) -> xr.DataArray:
    """Attach the GCPs falling in this image, in its own row numbering (rows = lines - first_line)."""
    rows = scene.sizes["y"]
    mine = [GroundControlPoint(g.row - first_line, g.col, g.x, g.y, g.z, g.id) for g in gcps if first_line - 1 <= g.row <= first_line + rows]
    return scene.rio.write_gcps(mine or gcps, "EPSG:4326") if mine else scene


def sentinel1_bursts(
    path: Path, *, swath: str | None, polarisation: str | None, bursts: list[int] | None, chunk_px: int
) -> list[xr.DataArray]:
    """The bursts (all, or the 0-based ``bursts``) of one swath/polarisation as complex scenes."""
    import xarray_sentinel

    swath, polarisation = _choose(path, swath, polarisation)
    dataset = _open(path, f"{swath}/{polarisation}")
    measurement = dataset["measurement"]
    count = int(dataset.attrs.get("number_of_bursts", 0))
    gcps = _gcps(path, swath, polarisation)
    common = {k: v for k, v in dataset.attrs.items() if isinstance(v, (str, int, float)) and k != "group"}
    if count == 0:  # stripmap (SM): one image, no bursts
        scene = measurement.rename(line="y", pixel="x").chunk({"y": chunk_px, "x": chunk_px})
        scene.attrs = {**common, "swath": swath, "polarisation": polarisation, "_FillValue": 0}
        return [_with_gcps(scene, gcps, 0)]
    wanted = bursts if bursts is not None else list(range(count))
    wrong = [b for b in wanted if not 0 <= b < count]
    if wrong:
        raise InputError(f"{path} {swath}/{polarisation} has bursts 0-{count - 1}; burst(s) {wrong} do not exist")
    scenes = []
    for index in wanted:
        burst = xarray_sentinel.crop_burst_dataset(measurement, burst_index=index)
        first_line = int(burst["line"].values[0])
        scene = burst.swap_dims(azimuth_time="y", slant_range_time="x") if "azimuth_time" in burst.dims else burst.rename(line="y", pixel="x")
        scene = scene.chunk({"y": chunk_px, "x": chunk_px})
        scene.attrs = {**common, "swath": swath, "polarisation": polarisation, "burst": index, "_FillValue": 0}
        scenes.append(_with_gcps(scene, gcps, first_line))
    return scenes


def deburst(bursts: list[xr.DataArray], crop: int = BURST_OVERLAP_CROP) -> xr.DataArray:
    """One image from bursts: each burst's first and last ``crop`` lines (the overlap with its
    neighbours) are dropped and the rest stacked in azimuth order. A ``burst`` coordinate along
    ``y`` says which burst each line comes from, so that processing that must not cross bursts
    (decorrelation, multilooking, despeckling) still sees them, after slicing too
    (:func:`engine.scene.burst_pieces`)."""
    if len(bursts) == 1:
        return bursts[0]
    pieces = []
    for i, burst in enumerate(bursts):
        start = crop if i > 0 else 0
        stop = burst.sizes["y"] - crop if i < len(bursts) - 1 else burst.sizes["y"]
        piece = burst.isel(y=slice(start, stop)).drop_vars("spatial_ref", errors="ignore")
        pieces.append(piece.assign_coords({BURST_COORD: ("y", np.full(piece.sizes["y"], burst.attrs.get("burst", i), dtype=np.int16))}))
    mosaic = xr.concat(pieces, dim="y", coords="minimal", compat="override", combine_attrs="override")
    mosaic.attrs.pop("burst", None)
    return mosaic


def with_product_gcps(path: Path, mosaic: xr.DataArray) -> xr.DataArray:
    """The debursted image with the product's GCPs, in its rows: each GCP's azimuth time is
    located among the mosaic's azimuth times."""
    if "azimuth_time" not in mosaic.coords:
        return mosaic
    grid = _open(path, f"{mosaic.attrs['swath']}/{mosaic.attrs['polarisation']}/gcp")
    times = mosaic["azimuth_time"].values.astype("datetime64[ns]").astype(np.int64)
    order = np.argsort(times)
    gcps = []
    for i, t in enumerate(grid["azimuth_time"].values.astype("datetime64[ns]").astype(np.int64)):
        row = float(np.interp(t, times[order], order.astype(float)))
        for j, pixel in enumerate(grid["pixel"].values):
            gcps.append(GroundControlPoint(row, float(pixel), float(grid["longitude"].values[i, j]),
                                           float(grid["latitude"].values[i, j]), float(grid["height"].values[i, j]), f"{i}_{j}"))
    return mosaic.rio.write_gcps(gcps, "EPSG:4326")


def open_sentinel1(path: Path, request: OpenRequest) -> xr.DataArray:
    """One swath/polarisation of a product: one burst, or all of them debursted."""
    bursts = None if request.burst is None else [request.burst]
    scenes = sentinel1_bursts(path, swath=request.swath, polarisation=request.polarisation, bursts=bursts, chunk_px=request.chunk_px)
    return scenes[0] if len(scenes) == 1 else with_product_gcps(path, deburst(scenes))


#: No halo reads: xarray-sentinel's lazily read measurement is the reader; bursts are cropped
#: and debursted by dask, so their blocks share halos through dask.overlap.
FORMAT = InputFormat(
    "a Sentinel-1 SLC product (SAFE folder or .zip)",
    claims=lambda path, request: is_sentinel1(path),
    open=open_sentinel1,
    options=("swath", "polarisation", "burst"),
)
