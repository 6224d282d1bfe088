from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from engine.progress import JsonReporter, Reporter
from engine.scene_statistics import intensity_quantile
from engine.scheduling import DaskProgress
from engine.speckle import estimate_looks, local_enl
from engine.synthetic import reflectivity, speckle, synthetic_scene


@pytest.mark.parametrize("q", [0.02, 0.5, 0.98])
def test_intensity_quantile__matches_numpy_and_ignores_the_chunking(q: float, rng: np.random.Generator) -> None:
    x = rng.gamma(1.0, 3.0, (300, 200))
    x[::7] = np.nan
    x[5, :50] = 0.0
    values = {float(intensity_quantile(da.from_array(x, chunks=c), q).compute()) for c in [(300, 200), (37, 11), (100, 1)]}
    assert len(values) == 1
    assert values.pop() == pytest.approx(np.nanquantile(x, q), rel=0.003)


def test_intensity_quantile__degenerate_inputs() -> None:
    assert np.isnan(intensity_quantile(da.full((4, 4), np.nan), 0.5).compute())
    assert intensity_quantile(da.zeros((4, 4)), 0.98).compute() == 0.0


@pytest.mark.parametrize("looks", [1, 3, 8])
def test_estimate_looks__recovers_the_speckle_looks(looks: int) -> None:
    assert estimate_looks(speckle((600, 600), looks, np.random.default_rng(looks))) == pytest.approx(looks, rel=0.1)


def test_local_enl__skips_windows_with_nodata() -> None:
    image = speckle((90, 90), 2, np.random.default_rng(0))
    image[:9, :9] = np.nan
    assert local_enl(image, 9).size == 99


def test_speckle__has_the_l_look_gamma_moments() -> None:
    s = speckle((1000, 1000), 4, np.random.default_rng(1))
    assert s.dtype == np.float32
    assert s.mean() == pytest.approx(1.0, abs=0.005) and s.var() == pytest.approx(0.25, abs=0.005)


def test_synthetic_scene__is_georeferenced_reproducible_and_unbiased() -> None:
    a = synthetic_scene((300, 500), seed=3, chunk_px=128)
    b = synthetic_scene((300, 500), seed=3, chunk_px=128)
    clean = synthetic_scene((300, 500), seed=3, chunk_px=128, clean=True)
    assert a.rio.crs.to_epsg() == 32631 and a.rio.resolution() == (10.0, -10.0)
    np.testing.assert_array_equal(a.values, b.values)
    assert float((a / clean).mean()) == pytest.approx(1.0, abs=0.02)
    assert reflectivity((64, 64), np.random.default_rng(0)).min() > 0


def test_json_reporter__one_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    import dask

    reporter = JsonReporter()
    reporter.start("work", 3)
    with DaskProgress(reporter):
        dask.compute(*[dask.delayed(abs)(-i) for i in range(3)], scheduler="sync")
    reporter.finish()
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0] == {"event": "start", "phase": "work", "total": 3}
    assert events[-2]["event"] == "progress" and events[-2]["fraction"] == 1.0
    assert events[-1]["event"] == "finish"


def test_silent_reporter_accepts_everything() -> None:
    reporter = Reporter()
    reporter.start("x", 1)
    reporter.update(1, 1)
    reporter.log("warning", "w")
    reporter.result(path="p")
    reporter.finish()


def test_grd_speckle__sentinel1_like_processor_has_its_looks_and_correlation() -> None:
    """Sentinel-1 IW GRDH: 5 range looks of band-limited speckle resampled to 10 m give an ENL of
    about 4.4 and neighbours that are correlated; white speckle has neither."""
    from engine.metrics import enl
    from engine.synthetic import GRDSpeckle

    field = GRDSpeckle().draw((512, 512), np.random.default_rng(0))
    assert field.mean() == pytest.approx(1.0, abs=0.03)
    assert 3.5 < enl(field) < 6.5
    range_rho = np.corrcoef(field[:, :-1].ravel(), field[:, 1:].ravel())[0, 1]
    azimuth_rho = np.corrcoef(field[:-1].ravel(), field[1:].ravel())[0, 1]
    assert 0.2 < range_rho < 0.8 and 0.3 < azimuth_rho < 0.9
    single = GRDSpeckle(looks=(1, 1), spacing=(1.0, 1.0)).draw((512, 512), np.random.default_rng(1))
    assert 1.0 < enl(single) < 3.0 < enl(field)  # one look, raised only by the resampling


def test_grd_speckle__random_processors_span_one_to_many_looks() -> None:
    from engine.metrics import enl
    from engine.synthetic import GRDSpeckle

    rng = np.random.default_rng(0)
    looks = [enl(GRDSpeckle.random(rng).draw((256, 256), rng)) for _ in range(30)]
    assert min(looks) < 2.0 and max(looks) > 6.0
