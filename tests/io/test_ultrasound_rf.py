"""Ultrasound channel RF opened as a complex scene: the beamformer and the HDF5 reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import engine
from engine.exceptions import InputError
from engine.metrics import speckle_correlation
from engine.slc import decorrelate
from engine.ultrasound import beamform_plane_wave


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


@pytest.mark.shared_data
def test_open_scene__beamforms_pybf_channel_rf_into_complex_speckle(shared_data: Path) -> None:
    path = shared_data / "ultrasound" / "rf" / "muscle_invivo_rf.hdf5"
    scene = engine.open_scene(path, chunk_px=128)
    assert scene.attrs["domain"] == "complex" and scene.dtype == np.complex64
    assert scene.shape == (470, 192)  # 3-50 mm at 0.1 mm, one column per element
    iq = scene.values
    assert np.isfinite(iq).all() and np.array_equal(iq, engine.open_scene(path, chunk_px=4096).values)  # chunking-free
    assert engine.open_scene(path, variable="2").attrs["hdf5_dataset"] == "data/rf_data/frame_2/shot_1"
    # Real, fully developed speckle: decorrelation lowers the axial lag-1 correlation.
    intensity, whitened = np.abs(iq) ** 2, np.abs(decorrelate(scene).values) ** 2
    assert speckle_correlation(whitened, 0) < speckle_correlation(intensity, 0)


@pytest.mark.shared_data
def test_open_scene__names_the_frames_when_one_is_missing(shared_data: Path) -> None:
    with pytest.raises(InputError, match="frames: frame_1, frame_2"):
        engine.open_scene(shared_data / "ultrasound" / "rf" / "muscle_invivo_rf.hdf5", variable="frame_9")
