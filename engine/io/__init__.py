"""Reading and writing scenes: one path for data in (``open_scene``; one module per input
format, listed in ``_open.INPUT_FORMATS``, each with the reader that re-reads any region of its
files), one for data out (``write_scene``: GeoTIFF, COG, Zarr; ``write_stack``: a folder of dates), and tile sets (``tile_scene`` /
``mosaic_tiles``) on the same GeoTIFF writer."""

from engine.io._open import describe_scene as describe_scene
from engine.io._open import open_scene as open_scene
from engine.io._sentinel1 import deburst as deburst
from engine.io._sentinel1 import is_sentinel1 as is_sentinel1
from engine.io._sentinel1 import sentinel1_bursts as sentinel1_bursts
from engine.io._sentinel1 import swath_polarisations as swath_polarisations
from engine.io._sentinel1 import with_product_gcps as with_product_gcps
from engine.io._tiles import DEFAULT_OVERLAP_PX as DEFAULT_OVERLAP_PX
from engine.io._tiles import INDEX_NAME as INDEX_NAME
from engine.io._tiles import mosaic_tiles as mosaic_tiles
from engine.io._tiles import tile_scene as tile_scene
from engine.io._write import FORMATS as FORMATS
from engine.io._write import WriteResult as WriteResult
from engine.io._write import write_scene as write_scene
from engine.io._write_stack import STACK_MANIFEST as STACK_MANIFEST
from engine.io._write_stack import StackWriteResult as StackWriteResult
from engine.io._write_stack import write_stack as write_stack

__all__ = [
    "DEFAULT_OVERLAP_PX",
    "FORMATS",
    "INDEX_NAME",
    "STACK_MANIFEST",
    "StackWriteResult",
    "WriteResult",
    "deburst",
    "describe_scene",
    "is_sentinel1",
    "mosaic_tiles",
    "open_scene",
    "sentinel1_bursts",
    "swath_polarisations",
    "tile_scene",
    "with_product_gcps",
    "write_scene",
    "write_stack",
]
