"""``despeckle run IN OUT --method NAME [method options]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.cli._common import add_progress_option
from engine.conventions import DOMAINS
from engine.exceptions import ParameterError
from engine.io import open_scene, write_scene
from engine.io._write import FORMATS
from engine.methods import Method, get_method
from engine.pipeline import despeckle
from engine.progress import JsonReporter, Reporter
from engine.scheduling import SCHEDULER_HELP, open_runner


def peek_method(argv: list[str]) -> Method | None:
    """The method named on the command line, so its parameters become options of ``run``."""
    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("-m", "--method")
    known, _ = peek.parse_known_args(argv)
    if known.method is None:
        from engine._options import get_option

        known.method = get_option("default_method")
    try:
        return get_method(known.method)
    except ParameterError:
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
    parser.add_argument("-m", "--method", help="method name (see 'despeckle methods'); default: lee")
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
    source.add_argument("--variable", help="variable to read from a Zarr store with several")
    source.add_argument("--chunk-size", type=int, dest="chunk_size", metavar="PX", help="chunk size in pixels (default 1024)")
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


def handle(args: argparse.Namespace, reporter: Reporter) -> int:
    method = get_method(args.method) if args.method else peek_method([])
    assert method is not None
    parameters = {p.name: getattr(args, f"param_{p.name}", None) for p in method.parameters}
    scene = open_scene(
        args.input,
        chunk_px=args.chunk_size,
        domain=args.domain,
        looks=getattr(args, "looks", None),
        bands=args.band,
        variable=args.variable,
        nodata=args.nodata,
    )
    result = despeckle(scene, method.name, output_domain=args.output_domain, **{k: v for k, v in parameters.items() if v is not None})
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
