"""Large benchmark scenes, generated (no large real SLC or GRD scene is available here).

A 2048-pixel speckle-free reflectivity map (engine.synthetic) is repeated to the requested size
and multiplied by 1-look Gamma speckle drawn per block from a fixed seed, then written as an
uncompressed, 512-pixel-tiled float32 GeoTIFF in EPSG:32631: the kind of file OTB and the engine
both read fastest, so the comparison measures filtering, not decompression.

Scenes are generated in a separate process: the benchmark process stays small, so the peak
memory it reads for its children (``wait4`` counts the forked image too) is theirs alone.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SEED = 2024


def _generate(path: Path, size_px: int) -> None:
    import engine
    from engine.synthetic import synthetic_scene

    scene = synthetic_scene((size_px, size_px), looks=1.0, seed=SEED, chunk_px=1024)
    engine.write_scene(scene, path, compress="none")


def benchmark_scene(folder: Path, size_px: int) -> Path:
    path = folder / f"scene_{size_px}.tif"
    if not path.exists():
        code = f"from benchmarks._scenes import _generate; from pathlib import Path; _generate(Path({str(path)!r}), {size_px})"
        subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
    return path
