"""``despeckle stack DATE DATE ... -o OUT [--method quegan|ratio]``: multi-temporal despeckling."""

from __future__ import annotations

import argparse
import sys

from engine.cli._common import add_compress_option, add_execution_options, peek_method_name
from engine.conventions import DOMAINS
from engine.exceptions import ParameterError
from engine.methods import DEFAULT_STACK_METHOD, StackMethod, get_stack_method, list_stack_methods
from engine.progress import JsonReporter, Reporter
from engine.run import despeckle_stack_files


def _peek(argv: list[str]) -> StackMethod | None:
    try:
        return get_stack_method(peek_method_name(argv))
    except ParameterError:
        return None  # reported by the handler


def _parse_pairs(items: list[str] | None) -> dict[str, str]:
    pairs = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"--spatial-option takes NAME=VALUE (e.g. window_size_px=9), got {item!r}")
        pairs[name.strip().replace("-", "_")] = value.strip()
    return pairs


def add_parser(subparsers: argparse._SubParsersAction, argv: list[str]) -> None:  # type: ignore[type-arg]
    method = _peek(argv) if argv[:1] == ["stack"] else get_stack_method(None)
    parser = subparsers.add_parser(
        "stack",
        description="Despeckle a stack of co-registered dates (Sentinel-1 time series...) with a multi-temporal method, "
        "streamed in chunks: one GeoTIFF per date in a new folder, or one Zarr store with a time dimension. Dates are read "
        "from the file names (20150309 or 20150309T173017) and sorted; each date keeps its own nodata. Each method has its "
        "own options: 'despeckle stack --method ratio --help' lists the ratio method's.",
        allow_abbrev=False,  # --spatial must not silently become --spatial-option
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="the dates: files, one folder, a glob ('s1/*_VV.tif') or a Zarr store with time")
    parser.add_argument("-o", "--output", required=True, help="output folder (created; one file per date) or NAME.zarr")
    parser.add_argument("-m", "--method", default=DEFAULT_STACK_METHOD,
                        help=f"stack method: {', '.join(list_stack_methods())} (default {DEFAULT_STACK_METHOD}); 'despeckle methods' describes them")
    if method is not None:
        group = parser.add_argument_group(f"options of method {method.name!r}")
        for p in method.parameters:
            extra = f"; one of {', '.join(map(str, p.choices))}" if p.choices else ""
            group.add_argument(p.cli_flag, dest=f"param_{p.name}", metavar=p.type.__name__.upper(), help=f"{p.help} (default {p.default}{extra})")
        group.add_argument("--spatial-option", action="append", metavar="NAME=VALUE",
                           help="a parameter of the single-image method used inside (e.g. window_size_px=9); repeatable")
    source = parser.add_argument_group("input")
    source.add_argument("--align", action="store_true", help="reproject every date onto the earliest date's grid (default: dates on other grids are refused)")
    source.add_argument("--domain", type=str.lower, choices=DOMAINS, help="what the dates hold, if their metadata do not say")
    source.add_argument("--looks", type=float, help="number of looks of each date, if the metadata do not say")
    source.add_argument("--band", type=int, help="1-based band of multi-band dates")
    source.add_argument("--nodata", type=float, help="nodata value of every date, overriding the files'")
    source.add_argument("--variable", help="variable of a Zarr store")
    source.add_argument("--chunk-size", type=int, dest="chunk_size", metavar="PX", help="spatial chunk size in pixels (default 1024); memory is chunk x dates")
    out = parser.add_argument_group("output")
    out.add_argument("--mean", action="store_true", help="also write the temporal mean (temporal_mean.tif)")
    out.add_argument("--enl", action="store_true", help="also write the ENL map of the temporal mean (enl.tif)")
    out.add_argument("--output-domain", type=str.lower, choices=[d for d in DOMAINS if d != "complex"], help="domain of the outputs; default: the dates'")
    out.add_argument("--format", choices=("gtiff", "cog", "zarr"), help="default: zarr for a .zarr output, else gtiff")
    add_compress_option(out)
    out.add_argument("--overwrite", action="store_true", help="replace an output this tool wrote earlier")
    out.add_argument("--resume", action="store_true", help="continue an interrupted Zarr output of the same run")
    add_execution_options(parser)
    flags = ", ".join(p.cli_flag for p in method.parameters) if method is not None else "see 'despeckle methods'"
    parser.set_defaults(handler=handle, options_hint=f"stack method options: {flags}, --spatial-option NAME=VALUE")


def handle(args: argparse.Namespace, reporter: Reporter) -> int:
    parameters = {k.removeprefix("param_"): v for k, v in vars(args).items() if k.startswith("param_") and v is not None}
    result = despeckle_stack_files(
        args.inputs, args.output, args.method, align=args.align, domain=args.domain, looks=args.looks, nodata=args.nodata,
        band=args.band, variable=args.variable, chunk_px=args.chunk_size, output_domain=args.output_domain,
        spatial_parameters=_parse_pairs(getattr(args, "spatial_option", None)), mean=args.mean, enl=args.enl, format=args.format,
        compress=args.compress, overwrite=args.overwrite, resume=args.resume, scheduler=args.scheduler, workers=args.workers,
        reporter=reporter, **parameters,
    )
    reporter.result(**result.as_dict())
    if not isinstance(reporter, JsonReporter):
        print(f"wrote {result.count} dates to {result.folder} ({result.format}) with {result.method}", file=sys.stderr)
    return 0
