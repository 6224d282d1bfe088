"""The ultrasound suite's inputs: the B-mode display mapping and the committed regions of interest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks._ultrasound_data import bmode_to_intensity, intensity_to_bmode
from benchmarks.ultrasound import ROIS, images


def test_bmode_mapping__round_trips() -> None:
    grey = np.arange(256, dtype=np.float64)
    assert np.allclose(intensity_to_bmode(bmode_to_intensity(grey)), grey)


@pytest.mark.shared_data
def test_rois__lie_inside_their_images_and_targets_are_apart_from_backgrounds(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("benchmarks._quality.DATA", shared_data)
    rois = {k: v for k, v in json.loads(ROIS.read_text()).items() if not k.startswith("_")}
    scenes = images()
    assert set(scenes) == set(rois)
    for name, regions in rois.items():
        rows, cols = scenes[name][1].shape
        for key in ("target", "background", "speckle"):
            r0, r1, c0, c1 = regions[key]
            assert 0 <= r0 < r1 <= rows and 0 <= c0 < c1 <= cols, (name, key)
        t, b = regions["target"], regions["background"]
        assert t[1] <= b[0] or b[1] <= t[0] or t[3] <= b[2] or b[3] <= t[2], name  # no overlap
