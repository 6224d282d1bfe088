"""``despeckle_file``: one scene file in, one despeckled file out. The single file-to-file path:
the command line, the demo, the benchmarks and (through the command line) QGIS all call it.
``despeckle_stack_files`` is its multi-temporal twin: co-registered dates in, a folder of dates
(or one Zarr store with ``time``) out.

It opens the scene (any format ``engine.io`` reads), checks that every option given applies to
that input (an option that does not is refused, never ignored), prepares complex input
(multilook, decorrelation), despeckles lazily (``engine.pipeline.despeckle``; Sentinel-1 TOPS
bursts are processed one by one there, whichever door the scene came through), and writes the
result streamed and atomically, with a manifest that lets an interrupted Zarr output resume.
"""

from __future__ import annotations

import json
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from engine._options import get_option
from engine.exceptions import MethodFallbackWarning, ParameterError
from engine.io import WriteResult, open_scene, write_scene, write_stack
from engine.methods import Method, choose_method, get_stack_method
from engine.pipeline import despeckle
from engine.progress import Reporter
from engine.scheduling import Runner, open_runner
from engine.slc import decorrelate as whiten
from engine.slc import multilook as average_looks
from engine.stack import despeckle_stack, enl_map, open_stack, stack_inputs, temporal_mean


@dataclass(frozen=True)
class RunResult:
    """What ``despeckle_file`` wrote and how: the writer's result plus the method and its
    resolved parameters (JSON) and the scheduler that computed it."""

    written: WriteResult
    method: str
    parameters: str
    scheduler: str

    def as_dict(self) -> dict[str, Any]:
        return {**self.written.as_dict(), "method": self.method, "parameters": self.parameters, "scheduler": self.scheduler}


def parse_multilook(value: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """``"AZxRG"`` (e.g. ``"1x4"``) or a pair -> (azimuth looks, range looks)."""
    if value is None or isinstance(value, tuple):
        return value
    try:
        azimuth, range_ = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise ParameterError(f"multilook must be AZxRG, e.g. 1x4, got {value!r}") from None
    return azimuth, range_


def prepare(scene: xr.DataArray, *, multilook: tuple[int, int] | None, decorrelate: bool | None) -> xr.DataArray:
    """Multilooking (and decorrelation before it, when asked) of complex input; both refused for
    real-valued input, which has no phase to whiten and is already detected."""
    if (multilook or decorrelate) and scene.attrs["domain"] != "complex":
        flag = "--multilook" if multilook else "--decorrelate"
        raise ParameterError(f"{flag} needs complex (SLC) input; this scene holds {scene.attrs['domain']} values")
    if not multilook:
        return scene
    if decorrelate:
        scene = whiten(scene)
    return average_looks(scene, *multilook)


def despeckle_file(
    input: str | Path,  # noqa: A002 - the natural name
    output: str | Path,
    method: str | Method | None = None,
    *,
    domain: str | None = None,
    looks: float | None = None,
    bands: list[int] | None = None,
    variable: str | None = None,
    nodata: float | None = None,
    chunk_px: int | None = None,
    complex_pairs: bool = False,
    shape: str | None = None,
    dtype: str | None = None,
    header_bytes: int = 0,
    swath: str | None = None,
    polarisation: str | None = None,
    burst: int | None = None,
    multilook: str | tuple[int, int] | None = None,
    decorrelate: bool | None = None,
    output_domain: str | None = None,
    dynamic_range_db: float | None = None,
    format: str | None = None,  # noqa: A002 - as in write_scene
    compress: str | None = None,
    overwrite: bool = False,
    resume: bool = False,
    scheduler: str | None = None,
    workers: int | None = None,
    runner: Runner | None = None,
    reporter: Reporter | None = None,
    **parameters: Any,
) -> RunResult:
    """Despeckle the scene file ``input`` into ``output`` (GeoTIFF, COG or Zarr; a display image
    also into PNG, JPEG or BMP).

    ``method`` is a registered name, a :class:`Method`, or None / ``"auto"`` (the best
    available model for the scene: ultrasound-unet for display images; a classical filter for
    other 8-bit images or without PyTorch). The input options are those
    of :func:`engine.open_scene`; ``multilook`` (``"AZxRG"``) and ``decorrelate`` prepare
    complex input; ``dynamic_range_db`` is that of a display image (default: measured on its
    speckle); ``parameters`` are the method's. Output options are those of
    :func:`engine.write_scene`. ``runner`` (or ``scheduler``/``workers``, see
    :func:`engine.open_runner`) computes it.
    """
    path = Path(input)
    options = {"complex_pairs": complex_pairs, "shape": shape, "dtype": dtype, "header_bytes": header_bytes,
               "swath": swath, "polarisation": polarisation, "burst": burst, "variable": variable, "bands": bands}
    auto = not isinstance(method, Method) and (method or get_option("default_method")) == "auto"
    with warnings.catch_warnings():
        if auto:  # said once, below, when the scene is known
            warnings.simplefilter("ignore", MethodFallbackWarning)
        chosen = method if isinstance(method, Method) else choose_method(method)
    # Large-reach models prefer large chunks (the halo is recomputed around every chunk).
    chunk = chunk_px if chunk_px is not None else chosen.preferred_chunk_px
    scene = open_scene(path, chunk_px=chunk, domain=domain, looks=looks, nodata=nodata, **options)
    if auto:
        # "auto" also looks at the scene (display images, other 8-bit images); the options given
        # go with it when it takes them (--device, --precision...), else with the first choice.
        for_scene = choose_method(method, scene)
        if set(parameters) <= {p.name for p in for_scene.parameters}:
            chosen = for_scene
    steps = parse_multilook(multilook)
    result = despeckle(prepare(scene, multilook=steps, decorrelate=decorrelate), chosen, output_domain=output_domain,
                       decorrelate=False if steps else decorrelate, dynamic_range_db=dynamic_range_db, **parameters)
    source = path.resolve()
    manifest = {
        "input": str(source),
        "input_size": source.stat().st_size if source.is_file() else None,
        "input_mtime": source.stat().st_mtime,
        "method": chosen.name,
        "parameters": result.attrs["despeckle_parameters"],
        "domain": scene.attrs["domain"],
        "output_domain": result.attrs["domain"],
        "dynamic_range_db": dynamic_range_db,
        "bands": bands,
        "slc": [decorrelate, steps, swath, polarisation, burst],
    }
    with open_runner(scheduler, num_workers=workers) if runner is None else nullcontext(runner) as active:
        written = write_scene(
            result, output, format=format, overwrite=overwrite, compress=compress, runner=active, reporter=reporter,
            resume=resume, run_manifest=manifest, phase=chosen.name,
        )
    return RunResult(written, chosen.name, result.attrs["despeckle_parameters"], active.description)



@dataclass(frozen=True)
class StackRunResult:
    """What ``despeckle_stack_files`` wrote: one file per date (or one Zarr store), the extras,
    the dates, the method and its resolved parameters."""

    folder: Path
    format: str
    outputs: list[Path]
    mean: Path | None
    enl: Path | None
    dates: list[str] | None
    count: int
    method: str
    parameters: str
    scheduler: str
    summary: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        counts = {k: self.summary.get(k) for k in ("valid_pixels", "total_pixels", "minimum", "maximum", "elapsed_s")}
        return {**counts, "folder": str(self.folder), "format": self.format, "outputs": [str(p) for p in self.outputs],
                "mean": str(self.mean) if self.mean else None, "enl": str(self.enl) if self.enl else None, "dates": self.dates, "count": self.count,
                "method": self.method, "parameters": self.parameters, "scheduler": self.scheduler}


def _date_labels(stack: xr.DataArray) -> list[str] | None:
    times = stack["time"].values
    if np.issubdtype(times.dtype, np.datetime64):
        return [str(np.datetime_as_string(t, unit="s")) for t in times]
    return None if "time_note" in stack.attrs else [str(t) for t in times]


def _date_file_names(stack: xr.DataArray, method: str) -> list[str]:
    """``<input name>_<method>.tif`` per date, numbered where two inputs share a name; the date
    (``20150309T173017_quegan.tif``) or the position where dates have no file."""
    if "source" in stack.coords:
        stems = [Path(str(s)).stem.lstrip(".") or "date" for s in stack["source"].values]  # hidden inputs give visible outputs
    else:
        labels = _date_labels(stack)
        stems = [label.replace("-", "").replace(":", "") for label in labels] if labels else [f"date{i:03d}" for i in range(stack.sizes["time"])]
    if len(set(stems)) < len(stems):
        stems = [f"{i:03d}_{stem}" for i, stem in enumerate(stems)]
    return [f"{stem}_{method}.tif" for stem in stems]


def despeckle_stack_files(
    inputs: str | Path | list[str | Path],
    output: str | Path,
    method: str | None = None,
    *,
    align: bool = False,
    domain: str | None = None,
    looks: float | None = None,
    nodata: float | None = None,
    band: int | None = None,
    variable: str | None = None,
    chunk_px: int | None = None,
    output_domain: str | None = None,
    spatial_parameters: dict[str, Any] | None = None,
    mean: bool = False,
    enl: bool = False,
    format: str | None = None,  # noqa: A002 - as in write_scene
    compress: str | None = None,
    overwrite: bool = False,
    resume: bool = False,
    scheduler: str | None = None,
    workers: int | None = None,
    runner: Runner | None = None,
    reporter: Reporter | None = None,
    **parameters: Any,
) -> StackRunResult:
    """Despeckle a stack of co-registered dates (files, a folder, a glob or a Zarr store with
    ``time``, see :func:`engine.open_stack`) with a stack method, into ``output``: a new folder
    with one GeoTIFF (``format="cog"``: COG) per date, plus ``temporal_mean.tif`` (``mean``) and
    ``enl.tif`` (``enl``) and ``stack.json``; or, for a ``.zarr`` output, one Zarr store with
    ``time`` (resumable)."""
    chosen = get_stack_method(method)
    stack = open_stack(inputs, align=align, chunk_px=chunk_px, domain=domain, looks=looks, nodata=nodata, band=band, variable=variable)
    result = despeckle_stack(stack, chosen, output_domain=output_domain, spatial_parameters=spatial_parameters, **parameters)
    target = Path(output).expanduser().absolute()
    fmt = (format or ("zarr" if target.suffix.lower() == ".zarr" else "gtiff")).lower()
    # What was read (the files, or the store) and how it stood: an output never replaces it, and a
    # resumed run refuses inputs changed since the interrupted one.
    sources = stack_inputs(inputs) if isinstance(inputs, (str, Path, list, tuple)) else []
    dates = _date_labels(stack)
    stamps = [[p.stat().st_size, p.stat().st_mtime_ns] for p in sources]
    manifest = {"inputs": [str(p.resolve()) for p in sources] or None, "input_stamps": stamps, "dates": dates, "method": chosen.name,
                "parameters": json.loads(result.attrs["despeckle_parameters"]), "domain": stack.attrs["domain"], "output_domain": result.attrs["domain"]}
    with open_runner(scheduler, num_workers=workers) if runner is None else nullcontext(runner) as active:
        if fmt == "zarr":
            if mean or enl:
                raise ParameterError("the temporal mean and the ENL map are written beside the dates in a folder of GeoTIFFs; "
                                     "with Zarr output compute them with engine.stack.temporal_mean / enl_map")
            written = write_scene(result, target, format="zarr", overwrite=overwrite, runner=active, reporter=reporter, resume=resume,
                                  run_manifest=manifest, phase=chosen.name, inputs=tuple(sources))
            return StackRunResult(written.path, "zarr", [written.path], None, None, dates, stack.sizes["time"], chosen.name,
                                  result.attrs["despeckle_parameters"], active.description, written.as_dict())
        if resume:
            raise ParameterError("resume is only possible for Zarr output (a .zarr store with time)")
        if target.suffix.lower() in (".tif", ".tiff"):
            raise ParameterError(f"the output {target.name} is a folder of dates (one GeoTIFF per date), not one file: "
                                 "name it without .tif, or give NAME.zarr for one Zarr store with time")
        names = _date_file_names(stack, chosen.name)
        layers = [(name, result.isel(time=i, drop=True)) for i, name in enumerate(names)]
        if mean:
            layers.append(("temporal_mean.tif", temporal_mean(stack, output_domain=output_domain)))
        if enl:
            layers.append(("enl.tif", enl_map(stack)))
        written_folder = write_stack(layers, target, format=fmt, overwrite=overwrite, compress=compress, runner=active,
                                     reporter=reporter, manifest=manifest, inputs=sources, phase=chosen.name)
    files = written_folder.files
    return StackRunResult(
        written_folder.folder, fmt, [files[n] for n in names], files.get("temporal_mean.tif"), files.get("enl.tif"), dates,
        stack.sizes["time"], chosen.name, result.attrs["despeckle_parameters"], active.description, written_folder.as_dict(),
    )
