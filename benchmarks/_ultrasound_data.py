"""Ultrasound inputs of the ultrasound suite: clinical B-mode images, and a B-mode image
beamformed here from the in-vivo channel RF of a calf muscle.

B-mode images are log-compressed for display. The methods work on speckle intensity, so a
B-mode grey level g (0–255) is read as g / 255 · D − D decibels of envelope, with an assumed
display dynamic range D = 60 dB (the scanners' settings are unknown), i.e. intensity
10^((g/255 · D − D)/10); results go back to grey levels the same way. The beamformed image has
no such assumption: its envelope is known.

The beamformer is plain delay-and-sum for a single 0° plane wave (no library for it is on the
package index in a form this project can depend on; it is 30 lines): transmit delay z / c,
receive delay to each element, linear interpolation of the analytic signal, a receive aperture
of f-number 1.5 with a Hann apodisation. Sound speed 1540 m/s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DYNAMIC_RANGE_DB = 60.0
SOUND_SPEED_M_S = 1540.0


def bmode_to_intensity(grey: np.ndarray, dynamic_range_db: float = DYNAMIC_RANGE_DB) -> np.ndarray:
    decibels = np.asarray(grey, dtype=np.float64) / 255.0 * dynamic_range_db - dynamic_range_db
    return 10.0 ** (decibels / 10.0)


def intensity_to_bmode(intensity: np.ndarray, dynamic_range_db: float = DYNAMIC_RANGE_DB) -> np.ndarray:
    decibels = 10.0 * np.log10(np.maximum(intensity, 1e-30))
    return np.clip((decibels + dynamic_range_db) / dynamic_range_db * 255.0, 0.0, 255.0)


def load_bmode(path: Path) -> np.ndarray:
    """A B-mode image as grey levels (colour images, e.g. with coloured annotations, as luminance)."""
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("L"), dtype=np.float64)


def beamform_plane_wave(
    rf: np.ndarray,
    *,
    sampling_hz: float,
    pitch_m: float,
    sound_speed_m_s: float = SOUND_SPEED_M_S,
    pixel_m: tuple[float, float] = (1e-4, 1.15e-4),
    depth_m: tuple[float, float] = (3e-3, 50e-3),
    f_number: float = 1.5,
) -> np.ndarray:
    """Complex (analytic) delay-and-sum image of a 0° plane-wave shot, rows = depth, columns = lateral.

    ``rf`` is (elements, samples) with time zero at the transmit.
    """
    from scipy.signal import hilbert

    elements, samples = rf.shape
    analytic = hilbert(rf.astype(np.float64), axis=1)
    xe = (np.arange(elements) - (elements - 1) / 2) * pitch_m
    z = np.arange(depth_m[0], depth_m[1], pixel_m[0])[:, None]
    x = np.arange(xe[0], xe[-1] + 1e-12, pixel_m[1])[None, :]
    image = np.zeros((z.shape[0], x.shape[1]), np.complex128)
    weights = np.zeros(image.shape)
    half_aperture = z / (2 * f_number)
    for e in range(elements):
        distance = np.abs(x - xe[e])
        inside = distance <= half_aperture
        apodisation = np.where(inside, 0.5 + 0.5 * np.cos(np.pi * distance / np.maximum(half_aperture, 1e-12)), 0.0)
        position = (z + np.sqrt(distance**2 + z**2)) / sound_speed_m_s * sampling_hz
        index = np.clip(np.floor(position).astype(int), 0, samples - 2)
        fraction = position - index
        sample = analytic[e, index] * (1 - fraction) + analytic[e, index + 1] * fraction
        sample[position >= samples - 1] = 0
        image += apodisation * sample
        weights += apodisation
    return image / np.maximum(weights, 1e-12)


def muscle_envelope(path: Path, frame: int = 1) -> np.ndarray:
    """Envelope intensity |IQ|² of the beamformed in-vivo muscle frame (rows depth, 0.1 mm;
    columns lateral, 0.115 mm)."""
    import h5py

    with h5py.File(path, "r") as f:
        rf = np.asarray(f[f"data/rf_data/frame_{frame}/shot_1"], dtype=np.float64)
        sampling = float(np.asarray(f["hardware_params/f_sampling_hz"]))
        pitch = float(np.asarray(f["trans_params/x_pitch"]).ravel()[0])
    iq = beamform_plane_wave(rf, sampling_hz=sampling, pitch_m=pitch)
    intensity = np.abs(iq) ** 2
    return intensity / np.median(intensity)
