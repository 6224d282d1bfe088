"""``despeckle tile IN OUTDIR`` and ``despeckle mosaic INDEX OUT``."""

from __future__ import annotations

import argparse
import sys

from engine.cli._common import add_compress_option, add_progress_option
from engine.conventions import DOMAINS
from engine.io import DEFAULT_OVERLAP_PX, mosaic_tiles, tile_scene
from engine.progress import Reporter


def add_parser(subparsers: argparse._SubParsersAction, argv: list[str]) -> None:  # type: ignore[type-arg]
    tile = subparsers.add_parser(
        "tile",
        description="Cut a raster into overlapping GeoTIFF tiles plus index.geojson. Process the tiles "
        "(with an overlap of at least the method's halo, see 'despeckle methods') and join them "
        "with 'despeckle mosaic' to get exactly the whole-scene result.",
    )
    tile.add_argument("input", help="the scene to cut (any raster the engine reads)")
    tile.add_argument("output_dir", help="folder to create for the tiles and index.geojson")
    tile.add_argument("--size", type=int, default=2048, metavar="PX", help="tile core size in pixels (default 2048)")
    tile.add_argument("--overlap", type=int, default=DEFAULT_OVERLAP_PX, metavar="PX",
                      help=f"overlap added on each side (default {DEFAULT_OVERLAP_PX}: the largest halo of the recommended methods)")
    tile.add_argument("--domain", type=str.lower, choices=DOMAINS,
                      help="what the scene holds, if its metadata do not say (needed to record the scene statistics in the tiles)")
    add_compress_option(tile)
    tile.add_argument("--overwrite", action="store_true")
    add_progress_option(tile)
    tile.set_defaults(handler=handle_tile)

    mosaic = subparsers.add_parser(
        "mosaic",
        description="Join tiles cut by 'despeckle tile' (and processed under the same file names) into one GeoTIFF.",
    )
    mosaic.add_argument("index", help="index.geojson written by 'despeckle tile' (or its folder)")
    mosaic.add_argument("output", help="output GeoTIFF")
    mosaic.add_argument("--tiles", help="folder of the processed tiles (default: the index's folder)")
    add_compress_option(mosaic)
    mosaic.add_argument("--overwrite", action="store_true")
    add_progress_option(mosaic)
    mosaic.set_defaults(handler=handle_mosaic)


def handle_tile(args: argparse.Namespace, reporter: Reporter) -> int:
    index = tile_scene(
        args.input, args.output_dir, size_px=args.size, overlap_px=args.overlap, overwrite=args.overwrite, compress=args.compress,
        reporter=reporter, domain=args.domain,
    )
    reporter.result(path=str(index))
    print(f"wrote tiles and {index}", file=sys.stderr)
    return 0


def handle_mosaic(args: argparse.Namespace, reporter: Reporter) -> int:
    out = mosaic_tiles(args.index, args.output, tiles_dir=args.tiles, overwrite=args.overwrite, compress=args.compress, reporter=reporter)
    reporter.result(path=str(out))
    print(f"wrote {out}", file=sys.stderr)
    return 0
