"""``despeckle run IN OUT --method NAME [method options]``."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from engine._options import get_option
from engine.cli._common import add_progress_option
from engine.conventions import DOMAINS
from engine.exceptions import MethodFallbackWarning, MethodUnavailableError, ParameterError
from engine.io import is_sentinel1, open_scene, sentinel1_bursts, with_product_gcps, write_scene
from engine.io._write import FORMATS
from engine.methods import Method
from engine.pipeline import choose_method, despeckle
from engine.progress import JsonReporter, Reporter
from engine.scheduling import SCHEDULER_HELP, open_runner
from engine.slc import decorrelate, despeckle_bursts, multilook


def peek_method(argv: list[str]) -> Method | None:
    """The method named on the command line, so its parameters become options of ``run``."""
    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("-m", "--method")
    known, _ = peek.parse_known_args(argv)
    try:
        with warnings.catch_warnings():  # the handler warns when it runs, not the parser
            warnings.simplefilter("ignore", MethodFallbackWarning)
            return choose_method(known.method)
    except (ParameterError, MethodUnavailableError):
        return None  # reported by the handler, with the list of valid names


def _parameter_help(method: Method, name: str) -> str:
    p = next(p for p in method.parameters if p.name == name)
    parts = [p.help]
    if p.choices is not None:
        parts.append("one of " + ", ".join(map(str, p.choices)))
    parts.append(f"default: {p.default}" if p.from_attr is None else f"default: the scene's {p.from_attr}, else {p.default}")
    alias = "; ".join(f"{tool} {name}" for tool, name in (("SNAP", p.snap), ("OTB", p.otb)) if name)
    if alias:
        parts.append(alias)
    return " (".join([parts[0], "; ".join(parts[1:]) + ")"]) if len(parts) > 1 else parts[0]


def add_parser(subparsers: argparse._SubParsersAction, argv: list[str]) -> None:  # type: ignore[type-arg]
    method = peek_method(argv)
    parser = subparsers.add_parser(
        "run",
        help="despeckle a scene, file to file",
        description="Despeckle a scene (GeoTIFF/COG, Zarr, .npy, PNG/JPEG...) into a GeoTIFF, COG or Zarr, "
        "streaming it in chunks. 'despeckle run --method NAME --help' lists that method's options.",
    )
    parser.add_argument("input", help="input scene")
    parser.add_argument("output", help="output path (.tif/.tiff for GeoTIFF, .zarr for Zarr)")
    parser.add_argument("-m", "--method", help="method name (see 'despeckle methods'); default: auto, the best available "
                        "model (looks-unet), else lee (no PyTorch, or an 8-bit display image)")
    if method is not None:
        group = parser.add_argument_group(f"options of method {method.name!r}")
        for p in method.parameters:
            group.add_argument(p.cli_flag, dest=f"param_{p.name}", metavar=p.type.__name__.upper(), help=_parameter_help(method, p.name))
    source = parser.add_argument_group("input")
    source.add_argument("--domain", choices=DOMAINS, help="what the input holds, if its metadata do not say")
    if method is None or all(p.name != "looks" for p in method.parameters):
        source.add_argument("--looks", type=float, help="number of looks of the input, if its metadata do not say")
    source.add_argument("--band", type=int, action="append", help="1-based band to process (repeatable); default: all")
    source.add_argument("--nodata", type=float, help="nodata value, overriding the file's")
    source.add_argument("--variable", help="variable of a Zarr store, or dataset/polarisation of an HDF5 file")
    source.add_argument("--chunk-size", type=int, dest="chunk_size", metavar="PX", help="chunk size in pixels (default: the method's preferred size, else 1024)")
    add_complex_input_options(source)
    slc = parser.add_argument_group("complex (SLC) input")
    slc.add_argument("--decorrelate", action=argparse.BooleanOptionalAction, default=None,
                     help="whiten the speckle of complex input first (default: when the method needs it, e.g. speckle2void)")
    slc.add_argument("--multilook", metavar="AZxRG", help="average intensity over AZ x RG pixels before despeckling (e.g. 1x4)")
    out = parser.add_argument_group("output")
    out.add_argument("--output-domain", choices=[d for d in DOMAINS if d != "complex"], help="domain of the output; default: the input's")
    out.add_argument("--format", choices=FORMATS, help="output format; default from the output name")
    out.add_argument("--compress", choices=("deflate", "zstd", "lzw", "none"), help="GeoTIFF compression (default deflate)")
    out.add_argument("--overwrite", action="store_true", help="replace an existing output")
    out.add_argument("--resume", action="store_true", help="continue an interrupted Zarr output of the same run")
    run = parser.add_argument_group("execution")
    run.add_argument("--scheduler", help=SCHEDULER_HELP)
    run.add_argument("--workers", type=int, help="threads of the local scheduler (default: all cores)")
    add_progress_option(run)
    parser.set_defaults(handler=handle)


def add_complex_input_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--complex-pairs", action="store_true", help="the bands are (real, imaginary) pairs of complex images")
    group.add_argument("--shape", metavar="ROWSxCOLS", help="raw headerless file: its size")
    group.add_argument("--dtype", help="raw headerless file: its sample type (complex64, >c8, int16...)")
    group.add_argument("--header-bytes", type=int, default=0, help="raw headerless file: bytes to skip")
    group.add_argument("--swath", help="Sentinel-1 SLC: sub-swath (IW1...; default the first)")
    group.add_argument("--polarisation", help="Sentinel-1 SLC: polarisation (VV...; default the first)")
    group.add_argument("--burst", type=int, help="Sentinel-1 SLC: process this burst only (0-based; default all, debursted)")


def complex_input_options(args: argparse.Namespace) -> dict[str, object]:
    return {
        "complex_pairs": args.complex_pairs, "shape": args.shape, "dtype": args.dtype, "header_bytes": args.header_bytes,
        "swath": args.swath, "polarisation": args.polarisation, "burst": args.burst,
    }


def prepare_slc(scene: object, args: argparse.Namespace) -> object:
    """Decorrelation and multilooking asked for on the command line (complex input)."""
    if not args.multilook:
        return scene
    try:
        azimuth, range_ = (int(v) for v in args.multilook.lower().split("x"))
    except ValueError:
        raise ParameterError(f"--multilook must be AZxRG, e.g. 1x4, got {args.multilook!r}") from None
    if args.decorrelate:
        scene = decorrelate(scene)
    return multilook(scene, azimuth, range_)


def handle(args: argparse.Namespace, reporter: Reporter) -> int:
    method = choose_method(args.method)
    parameters = {k: v for k, v in ((p.name, getattr(args, f"param_{p.name}", None)) for p in method.parameters) if v is not None}
    options = complex_input_options(args)
    # Large-reach models prefer large chunks (the halo is recomputed around every chunk).
    chunk_px = args.chunk_size or method.preferred_chunk_px or get_option("chunk_size_px")
    path = Path(args.input)
    if is_sentinel1(path) and args.burst is None:
        # TOPS: every burst on its own (its own spectrum for decorrelation), then debursted.
        bursts = sentinel1_bursts(path, swath=args.swath, polarisation=args.polarisation, bursts=None, chunk_px=chunk_px)
        result = with_product_gcps(path, despeckle_bursts(
            [prepare_slc(b, args) for b in bursts], method.name, output_domain=args.output_domain,
            decorrelate=False if args.multilook else args.decorrelate, **parameters,
        ))
        scene = bursts[0]
    else:
        scene = open_scene(
            args.input, chunk_px=chunk_px, domain=args.domain, looks=getattr(args, "looks", None),
            bands=args.band, variable=args.variable, nodata=args.nodata, **options,
        )
        if not args.method and not parameters:
            method = choose_method(None, scene)  # "auto" also looks at the scene (8-bit display images)
        result = despeckle(
            prepare_slc(scene, args), method.name, output_domain=args.output_domain,
            decorrelate=False if args.multilook else args.decorrelate, **parameters,
        )
    source = Path(args.input).resolve()
    manifest = {
        "input": str(source),
        "input_size": source.stat().st_size if source.is_file() else None,
        "input_mtime": source.stat().st_mtime,
        "method": method.name,
        "parameters": result.attrs["despeckle_parameters"],
        "domain": scene.attrs["domain"],
        "output_domain": result.attrs["domain"],
        "bands": args.band,
        "slc": [args.decorrelate, args.multilook, args.swath, args.polarisation, args.burst],
    }
    with open_runner(args.scheduler, num_workers=args.workers) as runner:
        written = write_scene(
            result,
            args.output,
            format=args.format,
            overwrite=args.overwrite,
            compress=args.compress,
            runner=runner,
            reporter=reporter,
            resume=args.resume,
            run_manifest=manifest,
            phase=method.name,
        )
    summary = {**written.as_dict(), "method": method.name, "parameters": result.attrs["despeckle_parameters"], "scheduler": runner.description}
    reporter.result(**summary)
    if not isinstance(reporter, JsonReporter):
        shape = "x".join(map(str, written.shape))
        print(f"wrote {written.path} ({written.format}, {shape}) with {method.name} in {written.elapsed_s:.1f} s", file=sys.stderr)
    return 0
