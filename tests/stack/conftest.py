"""Stacks of co-registered dates written as real GeoTIFFs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

UTM31 = "EPSG:32631"
ORIGIN = Affine(20.0, 0.0, 500_000.0, 0.0, -20.0, 4_800_000.0)
DATES = ("20200101", "20200113", "20200125", "20200206", "20200218", "20200301")


def reflectivity(height: int = 96, width: int = 128) -> np.ndarray:
    """A piecewise-constant scene with an edge, a bright square and a dark strip (intensity)."""
    clean = np.full((height, width), 0.1, dtype=np.float64)
    clean[:, width // 2 :] = 0.3
    clean[height // 4 : height // 2, width // 8 : width // 3] = 2.0
    clean[3 * height // 4 :, :] = 0.02
    return clean


def write_date(path: Path, values: np.ndarray, *, transform: Affine = ORIGIN, nodata: float | None = -99.0,
               crs: str = UTM31, domain: str | None = "intensity") -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=values.shape[1], height=values.shape[0], count=1, dtype=values.dtype.name,
                       crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(values, 1)
        if domain:
            dst.update_tags(DESPECKLE_DOMAIN=domain)
    return path


@pytest.fixture
def dates_on_disk(tmp_path: Path) -> Callable[..., list[Path]]:
    """``make(n, looks=1, holes={date: (rows, cols)}, order=...)`` -> n dated GeoTIFFs (file
    names carry the dates, written in ``order``), one reflectivity, independent speckle."""

    def make(count: int = 4, *, looks: float = 1.0, holes: dict[int, tuple[slice, slice]] | None = None, seed: int = 0,
             folder: Path | None = None, clean: np.ndarray | None = None) -> list[Path]:
        rng = np.random.default_rng(seed)
        base = reflectivity() if clean is None else clean
        target = folder or tmp_path / "dates"
        target.mkdir(exist_ok=True)
        paths = []
        for k in range(count):
            values = (base * rng.gamma(looks, 1.0 / looks, base.shape)).astype(np.float32)
            if holes and k in holes:
                values[holes[k]] = -99.0
            paths.append(write_date(target / f"S1A_IW_GRDH_{DATES[k % len(DATES)]}T0600{k // len(DATES):02d}_VV.tif", values))
        return paths

    return make
