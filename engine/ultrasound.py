"""Ultrasound channel RF as a complex scene: plane-wave delay-and-sum beamforming.

Channel data in the PyBF HDF5 layout (``data/rf_data/frame_N/shot_1``: elements × samples,
``hardware_params/f_sampling_hz``, ``trans_params/x_pitch``) are beamformed into the analytic
(IQ) image, rows = depth, columns = lateral position. Being complex, it goes through the same
path as SAR SLC data: intensity, multilooking, and the speckle decorrelator that blind-spot
models need. The B-mode a scanner shows is 20·log10 of its magnitude.

Beamforming is plain delay-and-sum of one 0° plane wave (transmit delay z / c, receive delay to
each element, linear interpolation of the analytic signal, a receive aperture of f-number 1.5
with Hann apodisation, c = 1540 m/s) on a fixed grid: 0.1 mm in depth from 3 to 50 mm, one
column per element laterally (finer columns only repeat the lateral point-spread function). No maintained beamforming library is on the package index in a form this
project can depend on; this is the textbook algorithm in 30 lines.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from engine.exceptions import InputError

SOUND_SPEED_M_S = 1540.0
DEPTH_M = (3e-3, 50e-3)
DEPTH_STEP_M = 1e-4
F_NUMBER = 1.5


def is_pybf_rf(path: Path) -> bool:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return "data/rf_data" in f
    except OSError:
        return False


def _grid(elements: int, pitch_m: float, pixel_m: tuple[float, float], depth_m: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xe = (np.arange(elements) - (elements - 1) / 2) * pitch_m
    z = np.arange(depth_m[0], depth_m[1], pixel_m[0])
    x = np.arange(xe[0], xe[-1] + 1e-12, pixel_m[1])
    return xe, z, x


def beamform_plane_wave(
    rf: np.ndarray,
    *,
    sampling_hz: float,
    pitch_m: float,
    sound_speed_m_s: float = SOUND_SPEED_M_S,
    pixel_m: tuple[float, float] | None = None,
    depth_m: tuple[float, float] = DEPTH_M,
    f_number: float = F_NUMBER,
) -> np.ndarray:
    """Complex delay-and-sum image of a 0° plane-wave shot; ``rf`` is (elements, samples) with
    time zero at the transmit. Default pixels: 0.1 mm deep, one pitch wide."""
    from scipy.signal import hilbert

    elements, samples = rf.shape
    pixel = pixel_m or (DEPTH_STEP_M, pitch_m)
    xe, z_axis, x_axis = _grid(elements, pitch_m, pixel, depth_m)
    analytic = hilbert(rf.astype(np.float64), axis=1)
    z, x = z_axis[:, None], x_axis[None, :]
    image = np.zeros((z.shape[0], x.shape[1]), np.complex128)
    weights = np.zeros(image.shape)
    half_aperture = z / (2 * f_number)
    for e in range(elements):
        distance = np.abs(x - xe[e])
        apodisation = np.where(distance <= half_aperture, 0.5 + 0.5 * np.cos(np.pi * distance / np.maximum(half_aperture, 1e-12)), 0.0)
        position = (z + np.sqrt(distance**2 + z**2)) / sound_speed_m_s * sampling_hz
        index = np.clip(np.floor(position).astype(int), 0, samples - 2)
        fraction = position - index
        sample = analytic[e, index] * (1 - fraction) + analytic[e, index + 1] * fraction
        sample[position >= samples - 1] = 0
        image += apodisation * sample
        weights += apodisation
    return image / np.maximum(weights, 1e-12)


def frame_dataset(path: Path, variable: str | None) -> str:
    """The RF dataset of ``variable`` (``frame_2``, ``2`` or a dataset path); default frame 1."""
    import h5py

    with h5py.File(path, "r") as f:
        frames = sorted(f["data/rf_data"].keys(), key=lambda n: int(re.sub(r"\D", "", n) or 0))
        wanted = variable or frames[0]
        if wanted in f and getattr(f[wanted], "ndim", 0) == 2:
            return wanted
        name = wanted if wanted.startswith("frame_") else f"frame_{wanted}"
        if name in frames:
            return f"data/rf_data/{name}/shot_1"
    raise InputError(f"{path} has no RF frame {variable!r}; its frames: {', '.join(frames)} (choose one with --variable)")


def _parameters(path: Path, dataset: str) -> tuple[np.ndarray, float, float]:
    import h5py

    with h5py.File(path, "r") as f:
        rf = np.asarray(f[dataset], dtype=np.float64)
        sampling = float(np.asarray(f["hardware_params/f_sampling_hz"]).ravel()[0])
        pitch = float(np.asarray(f["trans_params/x_pitch"]).ravel()[0])
    return rf, sampling, pitch


def beamformed_shape(path: Path, dataset: str) -> tuple[int, int]:
    import h5py

    with h5py.File(path, "r") as f:
        elements = int(f[dataset].shape[0])
        pitch = float(np.asarray(f["trans_params/x_pitch"]).ravel()[0])
    _, z, x = _grid(elements, pitch, (DEPTH_STEP_M, pitch), DEPTH_M)
    return z.size, x.size


def beamformed_frame(path: str, dataset: str) -> np.ndarray:
    """The complex (IQ) image of one RF frame, complex64."""
    rf, sampling, pitch = _parameters(Path(path), dataset)
    return beamform_plane_wave(rf, sampling_hz=sampling, pitch_m=pitch).astype(np.complex64)
