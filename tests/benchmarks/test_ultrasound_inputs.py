"""The ultrasound suite's inputs: the plane-wave beamformer and the committed regions of interest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks._ultrasound_data import beamform_plane_wave, bmode_to_intensity, intensity_to_bmode
from benchmarks.ultrasound import ROIS, images


def _point_echo_rf(x0: float, z0: float, *, elements: int = 64, pitch: float = 3e-4, fs: float = 40e6, f0: float = 5e6, c: float = 1540.0) -> np.ndarray:
    """Channel RF of one point scatterer insonified by a 0° plane wave: a Gaussian-windowed tone
    arriving at each element after the transmit (z0 / c) and receive (distance / c) delays."""
    xe = (np.arange(elements) - (elements - 1) / 2) * pitch
    t = np.arange(4096) / fs
    arrival = (z0 + np.sqrt((x0 - xe) ** 2 + z0**2)) / c
    tau = t[None, :] - arrival[:, None]
    return np.exp(-((tau * f0 / 1.5) ** 2)) * np.cos(2 * np.pi * f0 * tau)


def test_beamform__focuses_a_point_scatterer_where_it_is() -> None:
    x0, z0 = 1.5e-3, 20e-3
    pixel = (5e-5, 5e-5)
    image = beamform_plane_wave(_point_echo_rf(x0, z0), sampling_hz=40e6, pitch_m=3e-4, pixel_m=pixel, depth_m=(10e-3, 30e-3))
    row, col = np.unravel_index(np.argmax(np.abs(image)), image.shape)
    first_x = -(64 - 1) / 2 * 3e-4
    assert abs(10e-3 + row * pixel[0] - z0) <= 2 * pixel[0]
    assert abs(first_x + col * pixel[1] - x0) <= 2 * pixel[1]


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
        rows, cols = scenes[name].shape
        for key in ("target", "background", "speckle"):
            r0, r1, c0, c1 = regions[key]
            assert 0 <= r0 < r1 <= rows and 0 <= c0 < c1 <= cols, (name, key)
        t, b = regions["target"], regions["background"]
        assert t[1] <= b[0] or b[1] <= t[0] or t[3] <= b[2] or b[3] <= t[2], name  # no overlap
