"""'Despeckle time series (stack)' in a real QGIS (Debian's python3-qgis, offscreen): processing.run
on synthetic co-registered dates, and the project's layers once QGIS has loaded the results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from tests.conftest import UTM31
from tests.qgis.conftest import harness

pytestmark = [pytest.mark.qgis, pytest.mark.slow]
ALGORITHM = "despeckle:despeckle_stack"
SHAPE = (64, 64)
TRANSFORM = Affine(10.0, 0.0, 600000.0, 0.0, -10.0, 4800000.0)
NODATA = -9999.0
DATES = ["20240105", "20240117", "20240129", "20240210"]
HOLE_DATE = 2  # the date with a no-data region
HOLE = (slice(0, 20), slice(40, 64))
FLAT = (slice(24, 60), slice(4, 28))  # a flat area of the clean scene, away from the hole and the edges


def run_in_qgis(python: str, env: dict[str, str], *requests: dict) -> list[dict]:
    """Each request run through harness.py in QGIS's own Python, its results then loaded into the
    project as the Processing dialog loads them."""
    return [harness(python, env, command="run", load=True, **request) for request in requests]


def clean_scene() -> np.ndarray:
    """A flat dark area (left), a brighter one (right) and a bright square: what speckle hides."""
    scene = np.full(SHAPE, 0.05, dtype=np.float32)
    scene[:, 32:] = 0.2
    scene[40:52, 40:52] = 1.0
    return scene


def write_dates(folder: Path, looks: float = 4.0) -> list[Path]:
    """Co-registered dates: the clean scene times independent gamma speckle (``looks`` looks);
    the date HOLE_DATE has no data in HOLE."""
    rng = np.random.default_rng(7)
    paths = []
    for index, date in enumerate(DATES):
        values = (clean_scene() * rng.gamma(looks, 1.0 / looks, SHAPE)).astype(np.float32)
        if index == HOLE_DATE:
            values[HOLE] = NODATA
        path = folder / f"s1_{date}_vv.tif"
        profile = {"driver": "GTiff", "width": SHAPE[1], "height": SHAPE[0], "count": 1, "dtype": "float32",
                   "crs": UTM31, "transform": TRANSFORM, "nodata": NODATA}
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(values, 1)
        paths.append(path)
    return paths


def invalid(path: str | Path) -> np.ndarray:
    """Where a raster has no data (its no-data value or NaN)."""
    with rasterio.open(path) as src:
        band = src.read(1, masked=True)
    return np.ma.getmaskarray(band) | ~np.isfinite(band.filled(0))


def variation(values: np.ndarray) -> float:
    return float(values.std() / values.mean())


def check_dates(sources: list[Path], outputs: list[str], folder: Path) -> None:
    """One output per date in ``folder``, georeferenced like it, no data exactly where that date had
    none, smoother than the date in a flat area, its radiometry kept."""
    assert len(outputs) == len(sources) and all(Path(p).parent == folder and Path(p).is_file() for p in outputs)
    for source, output in zip(sources, outputs, strict=True):
        with rasterio.open(source) as s, rasterio.open(output) as o:
            assert (o.crs, o.transform, o.shape, o.count) == (s.crs, s.transform, s.shape, 1)
            despeckled, noisy = o.read(1).astype(np.float64), s.read(1).astype(np.float64)
        # The other dates do not fill a date's hole, nor does a date's hole spread into its neighbours.
        np.testing.assert_array_equal(invalid(output), invalid(source))
        assert variation(despeckled[FLAT]) < 0.7 * variation(noisy[FLAT]), (output, variation(despeckled[FLAT]), variation(noisy[FLAT]))
        assert despeckled[FLAT].mean() == pytest.approx(clean_scene()[FLAT].mean(), rel=0.1)
    assert invalid(outputs[HOLE_DATE])[HOLE].all() and not invalid(outputs[0])[HOLE].any()


def test_stack__one_smoother_output_per_date_georeferenced_with_the_dates_nodata(qgis_python: str, qgis_env: dict, tmp_path: Path) -> None:
    dates = write_dates(tmp_path)
    inputs = [str(p) for p in dates]
    # Given out of order: the engine puts the dates in order (from their names), and the layers follow.
    quegan = {"INPUT": [inputs[i] for i in (2, 0, 3, 1)], "METHOD": "quegan", "SPATIAL": "boxcar", "TEMPORAL_WINDOW": 0, "MEAN": True, "ENL": True,
              "OUTPUT": str(tmp_path / "quegan")}
    # The ratio method's own parameters, a Lee filter on the ratios (no model needed), the default options otherwise.
    ratio = {"INPUT": inputs, "METHOD": "Ratio", "RATIO_METHOD": "lee", "SUPER_IMAGE_METHOD": "lee", "OUTPUT": str(tmp_path / "ratio")}
    first, second = run_in_qgis(qgis_python, qgis_env, {"algorithm": ALGORITHM, "parameters": quegan}, {"algorithm": ALGORITHM, "parameters": ratio})

    assert "error" not in first, first
    result = first["result"]
    assert Path(result["OUTPUT"]) == tmp_path / "quegan"
    outputs = result["DATE_LAYERS"]
    check_dates(dates, outputs, tmp_path / "quegan")
    assert Path(result["MEAN_LAYER"]) == tmp_path / "quegan" / "temporal_mean.tif" and Path(result["ENL_LAYER"]) == tmp_path / "quegan" / "enl.tif"
    [command] = [text for level, text in first["messages"] if level == "command"]
    assert " stack " in command and "--method quegan --format gtiff --overwrite" in command and "--spatial boxcar --temporal-window 0" in command
    assert command.endswith("--mean --enl --progress json")
    # Loaded into the project when the run ends: each date (in date order, named after it), the mean, the ENL map.
    to_load = first["to_load"]
    assert [to_load[p] for p in outputs] == [[f"despeckled {d[:4]}-{d[4:6]}-{d[6:]}", "DATE_LAYERS"] for d in DATES]
    loaded = {source: crs for name, source, crs in first["loaded"]}
    assert set(loaded) == {*outputs, result["MEAN_LAYER"], result["ENL_LAYER"]} and set(loaded.values()) == {UTM31}

    assert "error" not in second, second
    check_dates(dates, second["result"]["DATE_LAYERS"], tmp_path / "ratio")
    assert second["result"]["MEAN_LAYER"] is None and second["result"]["ENL_LAYER"] is None
    [command] = [text for level, text in second["messages"] if level == "command"]
    # Only what was given: the engine's defaults stand for the rest (the temporal window), Quegan's spatial estimator is not sent.
    assert "--method ratio" in command and command.endswith("--ratio-method lee --super-image-method lee --progress json")
    assert "--spatial" not in command and "--temporal-window" not in command
    assert len(second["loaded"]) == len(DATES)


def test_stack__a_single_date_is_refused_with_a_clear_message(qgis_python: str, qgis_env: dict, tmp_path: Path) -> None:
    dates = write_dates(tmp_path)
    folder = tmp_path / "despeckled"
    all_dates = [str(p) for p in dates]
    [one, zarr, number] = run_in_qgis(
        qgis_python, qgis_env,
        {"algorithm": ALGORITHM, "parameters": {"INPUT": [str(dates[0])], "OUTPUT": str(folder)}},
        {"algorithm": ALGORITHM, "parameters": {"INPUT": all_dates, "OUTPUT": str(tmp_path / "out.zarr")}},
        # The method list grows with the engine: a position saved in a model would silently pick another method.
        {"algorithm": ALGORITHM, "parameters": {"INPUT": all_dates, "METHOD": 1, "OUTPUT": str(folder)}},
    )
    assert "at least 2 dates" in one["error"] and "got 1" in one["error"], one
    assert "one GeoTIFF per date" in zarr["error"], zarr
    assert "METHOD must be one of quegan, ratio" in number["error"] and "give the name, not a number" in number["error"], number
    assert not folder.exists() and not (tmp_path / "out.zarr").exists()
    assert one["loaded"] == [] and zarr["loaded"] == [] and number["loaded"] == []
