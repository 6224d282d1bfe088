"""Speckle decorrelation of the real SLC crops in ../shared/data/sar/slc: before and after.

For each file: the estimated azimuth drift of the spectrum (TOPS), the estimated band (share of
the spectrum, azimuth/range, after deramping), the lag-1 speckle
correlation in azimuth and range before and after (``engine.metrics.speckle_correlation``, and
``speckle_coherence`` squared, which measures the speckle without the scene's texture),
the mean intensity after / before over non-target pixels, and whether the point targets are
bit-identical. Targets: |rho| < 0.05, mean within 1 %, targets identical. The suite also runs
synthetic SLC images with known spectra as a reference for what the method reaches when the
data follow its model.
"""

from __future__ import annotations

import glob
import json
from pathlib import Path

import numpy as np
import xarray as xr

import engine
from benchmarks._report import markdown_table, write_results
from engine.metrics import speckle_coherence, speckle_correlation
from engine.slc import SpectralModel, decorrelate, estimate_spectrum
from engine.synthetic import synthetic_slc

SUITE = "decorrelation"
#: Sentinel-1 IW azimuth time interval (s), to express the drift in Hz/s.
S1_IW_LINE_S = 2.0555e-3
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sar" / "slc"


def real_crops(folder: Path = DATA) -> dict[str, xr.DataArray]:
    scenes = {
        "TerraSAR-X crop (npy)": engine.open_scene(folder / "tsx_crop_256_reim.npy"),
        "Envisat ASAR (raw .slc)": engine.open_scene(folder / "envisat_500x500_complex64.slc", shape="500x500", dtype="complex64", nodata=0),
        "UAVSAR winnipeg (HDF5)": engine.open_scene(folder / "winnipeg.h5"),
        "UAVSAR SanAnd_138 (HDF5)": engine.open_scene(folder / "SanAnd_138.h5"),
    }
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in sorted(glob.glob(str(folder / "s1_chips" / "*.tif"))):
            scenes[f"Sentinel-1 chip {Path(path).stem}"] = engine.open_scene(path, complex_pairs=True, bands=[1, 2])
    return {k: (v.isel(band=0) if "band" in v.dims else v) for k, v in scenes.items()}


def measure(scene: xr.DataArray, model: SpectralModel | None = None) -> dict[str, object]:
    """Before/after figures of decorrelating ``scene`` (by ``model``, estimated if not given)."""
    model = model if model is not None else estimate_spectrum(scene)
    z = np.asarray(scene.values, dtype=np.complex64)
    out = decorrelate(scene, model=model)
    whitened = np.asarray(out.values)
    before, after = np.abs(z) ** 2, np.abs(whitened) ** 2
    targets = before >= 50.0 * np.median(before[before > 0])
    valid = ~targets & (before > 0) & np.isfinite(after)
    described = json.loads(out.attrs["decorrelation"])
    return {
        "shape": list(z.shape),
        "band_fraction": [described["azimuth"]["band_fraction"], described["range"]["band_fraction"]],
        "azimuth_drift": described["azimuth_drift_cycles_per_line2"],
        "rho_before": [speckle_correlation(before, 0), speckle_correlation(before, 1)],
        "rho_after": [speckle_correlation(after, 0), speckle_correlation(after, 1)],
        # Measured on the deramped fields: the TOPS drift turns the phase of the lag products
        # along the lines, which would cancel in the sum and hide the correlation.
        "speckle_rho_before": [speckle_coherence(_deramped(z, model), axis) ** 2 for axis in (0, 1)],
        "speckle_rho_after": [speckle_coherence(_deramped(whitened, model), axis) ** 2 for axis in (0, 1)],
        "mean_ratio": float(after[valid].mean() / before[valid].mean()),
        "point_targets": int(targets.sum()),
        "targets_identical": bool(np.array_equal(whitened[targets], z[targets])),
    }


def _deramped(field: np.ndarray, model: SpectralModel) -> np.ndarray:
    import dask.array as da

    from engine.slc import deramp

    return np.asarray(deramp(da.from_array(np.nan_to_num(field), chunks=-1), model.azimuth_drift, model.drift_centre_line)[0])


def ideal_whitening(scene: xr.DataArray, model: SpectralModel) -> dict[str, list[float]]:
    """Lag-1 intensity and speckle correlation (azimuth, range) after whitening the whole image at
    once in the Fourier domain by the model's response, deramped the same way: what the band
    allows a grid-preserving filter to reach, free of the FIR's length and of tiling."""
    from engine.slc import AxisResponse

    z = np.asarray(scene.values, dtype=np.complex128)
    spectrum = np.fft.fft2(_deramped(z, model))
    for axis, response in ((0, model.azimuth), (1, model.range)):
        size = z.shape[axis]
        # The response on this image's frequency grid (it was estimated on segments of its own length).
        resampled = AxisResponse(size, int(round(response.start * size / response.length)),
                                 max(1, int(round(response.width * size / response.length))), response.coefficients)
        power = resampled.power()
        gain = np.where(power > 0, 1.0 / np.sqrt(np.maximum(power, 1e-300)), 0.0)
        spectrum = spectrum * (gain[:, None] if axis == 0 else gain[None, :])
    field = np.fft.ifft2(spectrum)
    return {"rho": [speckle_correlation(np.abs(field) ** 2, axis) for axis in (0, 1)],
            "speckle_rho": [speckle_coherence(field, axis) ** 2 for axis in (0, 1)]}


def _pair(values) -> str:
    return "/".join(f"{v:+.3f}" for v in values)


def run(*, workdir: Path | None = None) -> Path:
    results = {}
    synthetic = {
        "synthetic band 0.80/0.85, Hamming 0.75, shift 0.15": synthetic_slc((512, 384), seed=1),
        "synthetic band 0.90/0.90, Hamming 0.54": synthetic_slc((512, 384), band=(0.9, 0.9), shift=(-0.3, 0.1), hamming=0.54, seed=2),
        "synthetic band 0.70/0.80, rectangular": synthetic_slc((512, 384), band=(0.7, 0.8), shift=(0.0, 0.0), hamming=1.0, seed=3),
    }
    scenes = {k: xr.DataArray(v, dims=("y", "x"), attrs={"domain": "complex"}) for k, v in synthetic.items()}
    scenes.update(real_crops())
    rows = []
    for name, scene in scenes.items():
        model = estimate_spectrum(scene)
        stationary = estimate_spectrum(scene, azimuth_drift=0.0)
        r = results[name] = measure(scene, model) | {
            "ideal_whitening": ideal_whitening(scene, model),
            "rho_after_without_deramp": measure(scene, stationary)["rho_after"],
        }
        ok = max(abs(r["rho_after"][0]), abs(r["rho_after"][1])) < 0.05 and abs(r["mean_ratio"] - 1) <= 0.01 and r["targets_identical"]
        rows.append([name, "x".join(map(str, r["shape"])), f"{r['azimuth_drift']:+.4f}", "/".join(f"{b:.2f}" for b in r["band_fraction"]),
                     f"{r['rho_before'][0]:+.3f} -> {r['rho_after'][0]:+.3f} ({r['rho_after_without_deramp'][0]:+.3f})", f"{r['rho_before'][1]:+.3f} -> {r['rho_after'][1]:+.3f}",
                     _pair(r["speckle_rho_before"]) + " -> " + _pair(r["speckle_rho_after"]), _pair(np.sinc(r["band_fraction"]) ** 2),
                     _pair(r["ideal_whitening"]["rho"]) + " (" + _pair(r["ideal_whitening"]["speckle_rho"]) + ")", f"{r['mean_ratio']:.4f}", f"{r['point_targets']} / {'yes' if r['targets_identical'] else 'NO'}", "yes" if ok else "no"])
    met = sum(1 for r in rows if r[-1] == "yes")
    chips = [r for k, r in results.items() if k.startswith("Sentinel-1") and r["shape"][0] >= 60]
    drifts, bands = [r["azimuth_drift"] for r in chips], [r["band_fraction"][0] for r in chips]
    envisat, sanand = results["Envisat ASAR (raw .slc)"], results["UAVSAR SanAnd_138 (HDF5)"]
    chip_speckle = [r["speckle_rho_after"][0] for r in chips]
    khz_per_s = [d / S1_IW_LINE_S**2 / 1e3 for d in (min(drifts), max(drifts))]
    summary = (
        f"Decorrelation (azimuth deramping by the estimated drift, then grid-preserving whitening inside the estimated "
        f"band, 63-tap separable FIR) meets all three targets (|rho| < 0.05 in both axes, mean intensity within 1 %, "
        f"point targets bit-identical) on {met} of {len(rows)} images. Point targets are identical everywhere. "
        f"The Sentinel-1 IW chips of 60 lines or more show the TOPS Doppler-centroid drift, estimated from the data "
        f"alone at {min(drifts):.4f}-{max(drifts):.4f} cycles/line^2 ({khz_per_s[0]:.2f}-{khz_per_s[1]:.2f} kHz/s at "
        f"{S1_IW_LINE_S * 1e3:.3f} ms per line); deramped, their azimuth spectrum is stationary (band {min(bands):.2f}-"
        f"{max(bands):.2f} of the spectrum) and their mean azimuth rho after whitening is "
        f"{np.mean([r['rho_after'][0] for r in chips]):.3f}, against "
        f"{np.mean([r['rho_after_without_deramp'][0] for r in chips]):.3f} whitened without deramping. "
        "The speckle rho column separates speckle from scene: it is the squared lag-1 complex correlation "
        "(engine.metrics.speckle_coherence, on the deramped field), which for fully developed speckle equals the "
        "speckle's own intensity correlation and does not see texture. The rho columns are the local-mean-normalised "
        "intensity measure the targets are stated in, which reads 0.02-0.08 low on pure speckle and counts texture "
        f"finer than its 7-pixel box. On UAVSAR SanAnd the speckle is white after decorrelation (speckle rho "
        f"{_pair(sanand['speckle_rho_after'])}) and the intensity rho that remains ({_pair(sanand['rho_after'])}) is "
        "the scene's texture, which no speckle decorrelator should remove. On Envisat (azimuth) and the IW chips the "
        f"speckle itself stays correlated (speckle rho in azimuth {envisat['speckle_rho_after'][0]:.3f}, chips "
        f"{min(chip_speckle):.3f}-{max(chip_speckle):.3f}), and whitening the whole image at once in the Fourier domain "
        "by the same estimated response leaves about the same (ideal column): the limit is the response these crops "
        "allow to be estimated together with their band, not the FIR or the tiling. The band floor is what a "
        "perfectly flat band of the estimated width leaves on its grid (sinc^2 of the band share); only resampling "
        "could go below it, which would move the pixel grid and the point targets. The tiniest chips (21-33 px) are "
        "mostly filter border, hence their means, and too small for the measure (the standard error of rho on a "
        "25 x 25 chip is about 1/25 = 0.04)."
    )
    table = markdown_table(["image", "size", "azimuth drift (cycles/line^2)", "band az/rg", "rho azimuth (after, not deramped)", "rho range", "speckle rho az/rg", "band floor az/rg", "rho az/rg ideal in-band whitening (speckle rho)", "mean after/before", "targets / identical", "all targets met"], rows)
    return write_results(SUITE, summary=summary, tables=[table], data={"results": results})
