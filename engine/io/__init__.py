"""Reading and writing scenes: one path for data in, one for data out."""

from engine.io._open import describe_scene as describe_scene
from engine.io._open import open_scene as open_scene
from engine.io._write import WriteResult as WriteResult
from engine.io._write import write_scene as write_scene

__all__ = ["WriteResult", "describe_scene", "open_scene", "write_scene"]
