"""Reading and writing scenes: one path for data in, one for data out."""

from engine.io._open import describe_scene as describe_scene
from engine.io._open import open_scene as open_scene
from engine.io._sentinel1 import deburst as deburst
from engine.io._sentinel1 import is_sentinel1 as is_sentinel1
from engine.io._sentinel1 import sentinel1_bursts as sentinel1_bursts
from engine.io._sentinel1 import with_product_gcps as with_product_gcps
from engine.io._write import WriteResult as WriteResult
from engine.io._write import write_scene as write_scene

__all__ = [
    "WriteResult",
    "deburst",
    "describe_scene",
    "is_sentinel1",
    "open_scene",
    "sentinel1_bursts",
    "with_product_gcps",
    "write_scene",
]
