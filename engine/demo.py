"""The built-in demo: a generated, georeferenced, speckled scene, despeckled with the default
method, written as GeoTIFFs plus a before/after PNG. Needs no data and no network."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine._options import get_option
from engine.exceptions import OutputError
from engine.io import open_scene, write_scene
from engine.pipeline import despeckle
from engine.progress import Reporter
from engine.scheduling import Runner
from engine.synthetic import synthetic_scene


@dataclass(frozen=True)
class DemoResult:
    scene: Path
    despeckled: Path
    figure: Path
    method: str


def _to_display(intensity: np.ndarray, low_db: float, high_db: float) -> np.ndarray:
    db = 10.0 * np.log10(np.maximum(intensity, 1e-10))
    return np.clip((db - low_db) / (high_db - low_db), 0.0, 1.0)


def before_after_figure(noisy: np.ndarray, filtered: np.ndarray, path: Path, *, title: str) -> None:
    """Side-by-side dB images of the whole scene and of a 256-pixel crop, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    finite = noisy[np.isfinite(noisy) & (noisy > 0)]
    low_db, high_db = np.percentile(10.0 * np.log10(finite), [2, 98]) if finite.size else (-25.0, 5.0)
    crop = (slice(noisy.shape[0] // 2 - 128, noisy.shape[0] // 2 + 128), slice(noisy.shape[1] // 2 - 128, noisy.shape[1] // 2 + 128))
    fig, axes = plt.subplots(2, 2, figsize=(10, 10), constrained_layout=True)
    panels = [(noisy, "speckled"), (filtered, title)]
    for column, (image, label) in enumerate(panels):
        axes[0, column].imshow(_to_display(image, low_db, high_db), cmap="gray", interpolation="nearest")
        axes[0, column].set_title(f"{label} (whole scene, dB)")
        axes[1, column].imshow(_to_display(image[crop], low_db, high_db), cmap="gray", interpolation="nearest")
        axes[1, column].set_title(f"{label} (central 256 px)")
    for ax in axes.ravel():
        ax.set_axis_off()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def run_demo(
    output_dir: str | Path = "demo_output",
    *,
    size_px: int = 2048,
    method: str | None = None,
    looks: float = 1.0,
    seed: int = 0,
    overwrite: bool = True,
    runner: Runner | None = None,
    reporter: Reporter | None = None,
) -> DemoResult:
    """Generate, despeckle and plot a synthetic scene; return the paths written."""
    folder = Path(output_dir)
    if not folder.parent.resolve().is_dir():
        raise OutputError(f"the folder {folder.parent.resolve()} does not exist")
    folder.mkdir(exist_ok=True)
    method = method or get_option("default_method")
    reporter = reporter or Reporter()
    scene_path, out_path, figure_path = folder / "scene.tif", folder / f"scene_{method}.tif", folder / "before_after.png"
    noisy = synthetic_scene((size_px, size_px), looks=looks, seed=seed)
    write_scene(noisy, scene_path, overwrite=overwrite, runner=runner, reporter=reporter, phase="generate")
    scene = open_scene(scene_path)
    write_scene(despeckle(scene, method), out_path, overwrite=overwrite, runner=runner, reporter=reporter, phase=method)
    before = open_scene(scene_path).values[0]
    after = open_scene(out_path).values[0]
    before_after_figure(before, after, figure_path, title=method)
    return DemoResult(scene_path, out_path, figure_path, method)
