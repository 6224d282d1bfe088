"""``despeckle run IN OUT --method NAME [method options]``."""

from __future__ import annotations

import argparse
import sys
import warnings

from engine._options import FORMATS
from engine.cli._common import add_compress_option, add_execution_options, peek_method_name
from engine.conventions import DOMAINS
from engine.exceptions import MethodFallbackWarning, MethodUnavailableError, ParameterError
from engine.methods import Method, choose_method
from engine.progress import JsonReporter, Reporter
from engine.run import despeckle_file


def peek_method(argv: list[str]) -> tuple[Method | None, str]:
    """The method named on the command line, so its parameters become options of ``run``, or
    None and why (unknown, retired, unavailable: said again by the handler, with the valid names)."""
    try:
        with warnings.catch_warnings():  # the handler warns when it runs, not the parser
            warnings.simplefilter("ignore", MethodFallbackWarning)
            return choose_method(peek_method_name(argv)), ""
    except (ParameterError, MethodUnavailableError) as error:
        return None, str(error)


def _parameter_help(method: Method, name: str) -> str:
    p = next(p for p in method.parameters if p.name == name)
    parts = [p.help]
    if p.choices is not None:
        parts.append("one of " + ", ".join(map(str, p.choices)))
    if p.default is not None:
        parts.append(f"default: {p.default}" if p.from_attr is None else f"default: the scene's {p.from_attr}, else {p.default}")
    elif p.from_attr is not None and p.statistic is None:  # with a statistic, its help says how it is measured
        parts.append(f"default: the scene's {p.from_attr}")
    alias = "; ".join(f"{tool} {name}" for tool, name in (("SNAP", p.snap), ("OTB", p.otb)) if name)
    if alias:
        parts.append(alias)
    return " (".join([parts[0], "; ".join(parts[1:]) + ")"]) if len(parts) > 1 else parts[0]


def add_parser(subparsers: argparse._SubParsersAction, argv: list[str]) -> None:  # type: ignore[type-arg]
    method, problem = peek_method(argv)
    parser = subparsers.add_parser(
        "run",
        description="Despeckle a scene (GeoTIFF/COG, Zarr, .npy, PNG/JPEG...) into a GeoTIFF, COG or Zarr (a display image "
        "also into PNG/JPEG/BMP), "
        "streaming it in chunks. 'despeckle run --method NAME --help' lists that method's options.",
    )
    parser.add_argument("input", help="input scene")
    parser.add_argument("output", help="output path (.tif/.tiff for GeoTIFF, .zarr for Zarr, .png/.jpg/.bmp for display images)")
    parser.add_argument("-m", "--method", help="method name (see 'despeckle methods'); default: auto, the best available "
                        "model (looks-unet; ultrasound-unet for display images), else lee (no PyTorch)")
    if method is not None:
        group = parser.add_argument_group(f"options of method {method.name!r}")
        for p in method.parameters:
            group.add_argument(p.cli_flag, dest=f"param_{p.name}", metavar=p.type.__name__.upper(), help=_parameter_help(method, p.name))
    source = parser.add_argument_group("input")
    source.add_argument("--domain", type=str.lower, choices=DOMAINS, help="what the input holds, if its metadata do not say")
    if method is None or all(p.name != "looks" for p in method.parameters):
        source.add_argument("--looks", type=float, help="number of looks of the input, if its metadata do not say")
    source.add_argument("--dynamic-range", type=float, dest="dynamic_range", metavar="DB",
                        help="display images (B-mode, OCT): the dynamic range their grey levels span; default: measured on the speckle")
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
    out.add_argument("--output-domain", type=str.lower, choices=[d for d in DOMAINS if d != "complex"], help="domain of the output; default: the input's")
    out.add_argument("--format", choices=FORMATS, help="output format; default from the output name (picture: an 8-bit PNG, JPEG "
                     "or BMP of a display image, by the name's suffix)")
    add_compress_option(out)
    out.add_argument("--overwrite", action="store_true", help="replace an existing output")
    out.add_argument("--resume", action="store_true", help="continue an interrupted Zarr output of the same run")
    add_execution_options(parser)
    if method is not None:
        flags = ", ".join(p.cli_flag for p in method.parameters) or "no options of its own"
        hint = f"method {method.name!r} takes {flags} ('despeckle run --method {method.name} --help')"
    else:
        hint = "a method's options follow --method NAME ('despeckle methods' lists them)"
    parser.set_defaults(handler=handle, options_hint=hint, method_problem=problem)


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


def handle(args: argparse.Namespace, reporter: Reporter) -> int:
    # The method's options were added to the parser under "param_<name>" (see add_parser).
    parameters = {k.removeprefix("param_"): v for k, v in vars(args).items() if k.startswith("param_") and v is not None}
    # --looks is the method's parameter when it takes looks, else an input option: the scene's looks either way.
    looks = parameters.pop("looks", None) if "looks" in parameters else getattr(args, "looks", None)
    result = despeckle_file(
        args.input, args.output, args.method, domain=args.domain, looks=looks, bands=args.band, variable=args.variable, nodata=args.nodata,
        chunk_px=args.chunk_size, **complex_input_options(args), multilook=args.multilook, decorrelate=args.decorrelate,
        output_domain=args.output_domain, dynamic_range_db=args.dynamic_range, format=args.format, compress=args.compress, overwrite=args.overwrite,
        resume=args.resume, scheduler=args.scheduler, workers=args.workers, reporter=reporter,
        **parameters,
    )
    written = result.written
    reporter.result(**result.as_dict())
    if not isinstance(reporter, JsonReporter):
        shape = "x".join(map(str, written.shape))
        print(f"wrote {written.path} ({written.format}, {shape}) with {result.method} in {written.elapsed_s:.1f} s", file=sys.stderr)
    return 0
