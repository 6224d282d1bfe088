"""Typed training configurations, read from YAML and checked: an unknown or misspelt key is an
error naming the valid ones, not a setting silently ignored."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from engine.exceptions import ParameterError

REPO = Path(__file__).resolve().parents[1]
TRAINERS = ("supervised", "contrastive", "blindspot")
DATA_KINDS = ("synthetic", "bmode-synthetic", "slc", "bmode")


@dataclass(frozen=True)
class DataConfig:
    """Training patches.

    kind: ``synthetic`` (pseudo-clean references times simulated speckle), ``bmode-synthetic``
    (the sources and ``phantoms`` random tissue phantoms as echogenicity, imaged as B-mode by
    random scanner settings, :mod:`engine.bmode`), ``slc`` (real complex
    SAR, self-supervised: decorrelated by the engine, intensity |z|^2, point targets kept out
    of the loss) or ``bmode`` (ultrasound images, self-supervised).
    sources: files or glob patterns relative to ``data_root``, or mappings ``{path: ..., ...}``
    whose other keys go to ``engine.open_scene`` (``shape``/``dtype`` of raw files,
    ``complex_pairs``...).
    correlated_fraction: share of synthetic patches whose speckle is spatially correlated
    (simulated through a SAR transfer function), so the model also handles detected SLC and GRD.
    looks_range: (low, high): draw each synthetic patch's looks log-uniformly in this range
    (continuous; replaces ``looks``). grd_fraction: share of synthetic patches whose speckle
    comes from a random GRD-like processor (``engine.synthetic.GRDSpeckle.random``: band-limited,
    multilooked, resampled); their looks are what the engine estimates for that speckle
    (``engine.speckle.estimate_looks``), as at inference on a scene without looks metadata.
    looks_jitter: standard deviation of a log-normal error put on the looks a network is told,
    so that it tolerates the error of an ENL estimate.
    normalise_by: what the log-intensity input is divided by: ``patch`` (each patch's median) or
    ``image`` (the median of the image the patch comes from, as the engine divides by the scene's
    median at inference; real noisy images only, kinds ``slc`` and ``bmode``).
    """

    kind: str = "synthetic"
    sources: tuple[Any, ...] = ("sar/clean/*.png",)
    patch_px: int = 64
    batch_size: int = 16
    looks: tuple[float, ...] = (1.0,)
    correlated_fraction: float = 0.0
    looks_range: tuple[float, ...] = ()
    grd_fraction: float = 0.0
    looks_jitter: float = 0.0
    point_target_factor: float = 50.0
    normalise_by: str = "patch"
    phantoms: int = 0


@dataclass(frozen=True)
class OptimConfig:
    optimizer: str = "adamw"
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    warmup_iterations: int = 100
    clip_grad_norm: float = 1.0


@dataclass(frozen=True)
class LossConfig:
    """``gradient_weight``: Sobel-gradient MSE next to the L1 loss; ``temperature``: NT-Xent;
    ``contrastive_weight``: NT-Xent in the joint phase; ``tv_weight``: total variation with the
    blind-spot likelihood; ``hide_vertical``: blind spot also over the pixels above and below."""

    gradient_weight: float = 0.1
    temperature: float = 0.1
    contrastive_weight: float = 0.1
    tv_weight: float = 0.0
    hide_vertical: bool = False


@dataclass(frozen=True)
class PhaseConfig:
    """One phase of a schedule: what it trains (``contrastive-clean``, ``contrastive-noisy``,
    ``joint`` or ``despeckle``) for how many iterations."""

    name: str
    iterations: int


@dataclass(frozen=True)
class ValidationConfig:
    """``pairs``: folder of clean/noisy SAR pairs; ``slc``: real SLC crops (mean of the ratio
    image); ``bmode_images``: that many simulated B-mode images (:mod:`engine.bmode`, from a seed
    of their own) scored against their references."""

    every: int = 500
    pairs: str | None = "sar/pairs"
    slc: tuple[Any, ...] = ()
    bmode_images: int = 0

    def __bool__(self) -> bool:
        return bool(self.pairs or self.slc or self.bmode_images)


@dataclass(frozen=True)
class TrainConfig:
    model: str
    trainer: str = "supervised"
    phases: tuple[PhaseConfig, ...] = (PhaseConfig("despeckle", 1000),)
    architecture: dict[str, Any] = field(default_factory=dict)
    data: DataConfig = DataConfig()
    optim: OptimConfig = OptimConfig()
    loss: LossConfig = LossConfig()
    validation: ValidationConfig = ValidationConfig()
    seed: int = 0
    device: str = "auto"
    threads: int = 0
    log_every: int = 50
    checkpoint_every: int = 500
    output: str = "runs/{model}"
    data_root: str = "../shared/data"
    export: bool = True
    export_dir: str = ""
    init_from: str = ""  # a config (path relative to the repository) whose finished run's checkpoint starts this one
    notes: str = ""  # what a user of the weights must know (limits of the data...): copied to the model card
    source: str = ""

    @property
    def iterations(self) -> int:
        return sum(p.iterations for p in self.phases)

    def output_dir(self) -> Path:
        path = Path(self.output.format(model=self.model))
        return path if path.is_absolute() else REPO / path

    def data_dir(self) -> Path:
        root = Path(os.environ.get("DESPECKLE_DATA", self.data_root))
        return root if root.is_absolute() else (REPO / root).resolve()


def _build(cls: type, values: Any, where: str) -> Any:
    if not isinstance(values, dict):
        raise ParameterError(f"{where} must be a mapping, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ParameterError(f"unknown key(s) {', '.join(unknown)} in {where}; valid keys: {', '.join(fields)}")
    hints = get_type_hints(cls)
    kwargs = {}
    for name, value in values.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            value = _build(hint, value, f"{where}.{name}")
        elif name == "phases":
            value = tuple(_build(PhaseConfig, v, f"{where}.phases[{i}]") for i, v in enumerate(value))
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)


def load_config(path: str | Path, **overrides: Any) -> TrainConfig:
    """Read and check a YAML training configuration; ``overrides`` replace top-level keys."""
    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ParameterError(f"cannot read the training configuration {path}: {error}") from None
    values.update({k: v for k, v in overrides.items() if v is not None})
    config = _build(TrainConfig, {**values, "source": str(path)}, path.name)
    if config.trainer not in TRAINERS:
        raise ParameterError(f"trainer must be one of {', '.join(TRAINERS)}, got {config.trainer!r}")
    if config.data.normalise_by not in ("patch", "image"):
        raise ParameterError(f"data.normalise_by must be 'patch' or 'image', got {config.data.normalise_by!r}")
    if config.data.kind not in DATA_KINDS:
        raise ParameterError(f"data.kind must be one of {', '.join(DATA_KINDS)}, got {config.data.kind!r}")
    if config.data.normalise_by == "image" and config.data.kind in ("synthetic", "bmode-synthetic"):
        raise ParameterError("data.normalise_by: image needs real noisy images (kind slc or bmode); synthetic patches are normalised by their own median")
    if config.data.looks_range and not (len(config.data.looks_range) == 2 and 0 < config.data.looks_range[0] <= config.data.looks_range[1]):
        raise ParameterError(f"data.looks_range must be [low, high] with 0 < low <= high, got {list(config.data.looks_range)}")
    if not 0.0 <= config.data.grd_fraction + config.data.correlated_fraction <= 1.0:
        raise ParameterError("data.grd_fraction and data.correlated_fraction must add up to at most 1")
    from engine.methods import refuse_if_retired
    from engine.models import SPECS

    refuse_if_retired(config.model, noun="model")
    if config.model not in SPECS:
        raise ParameterError(f"unknown model {config.model!r}; models: {', '.join(SPECS)}")
    return config
