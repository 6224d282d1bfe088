"""``despeckle_file``: one scene file in, one despeckled file out. The single file-to-file path:
the command line, the demo, the benchmarks and (through the command line) QGIS all call it.

It opens the scene (any format ``engine.io`` reads), checks that every option given applies to
that input (an option that does not is refused, never ignored), prepares complex input
(multilook, decorrelation), despeckles lazily (``engine.pipeline.despeckle``; Sentinel-1 TOPS
bursts are processed one by one there, whichever door the scene came through), and writes the
result streamed and atomically, with a manifest that lets an interrupted Zarr output resume.
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xarray as xr

from engine._options import get_option
from engine.exceptions import MethodFallbackWarning, ParameterError
from engine.io import WriteResult, open_scene, write_scene
from engine.methods import Method
from engine.pipeline import choose_method, despeckle
from engine.progress import Reporter
from engine.scheduling import Runner, open_runner
from engine.slc import decorrelate as whiten
from engine.slc import multilook as average_looks


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
    """Despeckle the scene file ``input`` into ``output`` (GeoTIFF, COG or Zarr).

    ``method`` is a registered name, a :class:`Method`, or None / ``"auto"`` (the best
    available model; a classical filter for 8-bit display images). The input options are those
    of :func:`engine.open_scene`; ``multilook`` (``"AZxRG"``) and ``decorrelate`` prepare
    complex input; ``parameters`` are the method's. Output options are those of
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
    if auto and not parameters:
        chosen = choose_method(method, scene)  # "auto" also looks at the scene (8-bit display images)
    steps = parse_multilook(multilook)
    result = despeckle(prepare(scene, multilook=steps, decorrelate=decorrelate), chosen, output_domain=output_domain,
                       decorrelate=False if steps else decorrelate, **parameters)
    source = path.resolve()
    manifest = {
        "input": str(source),
        "input_size": source.stat().st_size if source.is_file() else None,
        "input_mtime": source.stat().st_mtime,
        "method": chosen.name,
        "parameters": result.attrs["despeckle_parameters"],
        "domain": scene.attrs["domain"],
        "output_domain": result.attrs["domain"],
        "bands": bands,
        "slc": [decorrelate, steps, swath, polarisation, burst],
    }
    with open_runner(scheduler, num_workers=workers) if runner is None else nullcontext(runner) as active:
        written = write_scene(
            result, output, format=format, overwrite=overwrite, compress=compress, runner=active, reporter=reporter,
            resume=resume, run_manifest=manifest, phase=chosen.name,
        )
    return RunResult(written, chosen.name, result.attrs["despeckle_parameters"], active.description)

