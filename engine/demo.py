"""The built-in demo: a generated, georeferenced, speckled scene, despeckled with the default
method (the best available model) and with Lee beside it, written as GeoTIFFs plus a
before/after PNG. Needs no data and no network."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.exceptions import OutputError
from engine.io import open_scene, write_scene
from engine.methods import choose_method
from engine.progress import Reporter
from engine.run import despeckle_file
from engine.scheduling import Runner
from engine.synthetic import synthetic_scene


@dataclass(frozen=True)
class DemoResult:
    scene: Path
    despeckled: Path
    figure: Path
    method: str
    #: Every method run, beside the default one (Lee, the classical reference), and its output.
    outputs: dict[str, Path] = field(default_factory=dict)


def _to_display(intensity: np.ndarray, low_db: float, high_db: float) -> np.ndarray:
    db = 10.0 * np.log10(np.maximum(intensity, 1e-10))
    return np.clip((db - low_db) / (high_db - low_db), 0.0, 1.0)


def before_after_figure(noisy: np.ndarray, filtered: Mapping[str, np.ndarray], path: Path) -> None:
    """Side-by-side dB images of the whole scene and of a 256-pixel crop, as a PNG: the input,
    then each method's output (``filtered``: title -> intensity)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    finite = noisy[np.isfinite(noisy) & (noisy > 0)]
    low_db, high_db = np.percentile(10.0 * np.log10(finite), [2, 98]) if finite.size else (-25.0, 5.0)
    crop = (slice(noisy.shape[0] // 2 - 128, noisy.shape[0] // 2 + 128), slice(noisy.shape[1] // 2 - 128, noisy.shape[1] // 2 + 128))
    panels = [(noisy, "speckled"), *((image, title) for title, image in filtered.items())]
    fig, axes = plt.subplots(2, len(panels), figsize=(5 * len(panels), 10), constrained_layout=True, squeeze=False)
    for column, (image, label) in enumerate(panels):
        axes[0, column].imshow(_to_display(image, low_db, high_db), cmap="gray", interpolation="nearest")
        axes[0, column].set_title(f"{label} (whole scene, dB)")
        axes[1, column].imshow(_to_display(image[crop], low_db, high_db), cmap="gray", interpolation="nearest")
        axes[1, column].set_title(f"{label} (central 256 px)")
    for ax in axes.ravel():
        ax.set_axis_off()
    fig.savefig(path, dpi=90)
    plt.close(fig)


#: The classical filter the default method is shown beside.
REFERENCE_METHOD = "lee"


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
    """Generate a synthetic scene, despeckle it with ``method`` (default: the default method,
    the best available model) and with Lee, and plot them side by side; return the paths."""
    folder = Path(output_dir)
    if not folder.parent.resolve().is_dir():
        raise OutputError(f"the folder {folder.parent.resolve()} does not exist")
    folder.mkdir(exist_ok=True)
    chosen = choose_method(method).name
    reporter = reporter or Reporter()
    scene_path, figure_path = folder / "scene.tif", folder / "before_after.png"
    noisy = synthetic_scene((size_px, size_px), looks=looks, seed=seed)
    write_scene(noisy, scene_path, overwrite=overwrite, runner=runner, reporter=reporter, phase="generate")
    outputs: dict[str, Path] = {}
    for name in dict.fromkeys([chosen, REFERENCE_METHOD]):
        outputs[name] = folder / f"scene_{name}.tif"
        despeckle_file(scene_path, outputs[name], name, overwrite=overwrite, runner=runner, reporter=reporter)
    before = open_scene(scene_path).values[0]
    labels = {name: f"{name} (default)" if name == chosen else name for name in outputs}
    before_after_figure(before, {labels[name]: open_scene(path).values[0] for name, path in outputs.items()}, figure_path)
    return DemoResult(scene_path, outputs[chosen], figure_path, chosen, outputs)
