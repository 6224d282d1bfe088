"""How a network becomes a method: ``ModelSpec`` declares it; ``model_method`` builds the
registry entry (or an unregistered one bound to given weights, for tests and training)."""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from engine.methods import LOOKS, Method, Parameter, register_method
from engine.models._torch import INSTALL_HINT, torch_available
from engine.models._weights import Weights, load_card, weights_path
from engine.scene_statistics import intensity_quantile, scene_looks


@dataclass(frozen=True)
class ModelSpec:
    """A network architecture as a despeckling method.

    ``network`` is ``"module:Class"`` and ``config`` that class's configuration dataclass
    (``"module:ConfigClass"``), both imported only when the model runs (torch is optional).
    ``halo_px`` is the declared reach; the model card of shipped weights records the reach
    measured for them, which wins. ``stride_px`` is the network's total downsampling: tiles
    start at multiples of it in scene coordinates. ``activation_bytes_per_px`` is the peak
    memory of an fp32 forward pass per input pixel (measured by ``python -m benchmarks models``),
    from which the runtime sizes its windows to the device's memory.
    """

    name: str
    title: str
    network: str
    config: str
    halo_px: int
    description: str
    references: tuple[str, ...] = ()
    stride_px: int = 1
    activation_bytes_per_px: int = 1024
    needs_gpu: bool = False
    preferred_chunk_px: int = 1024
    uses_looks: bool = False
    looks_conditioned: bool = False  # told the looks; estimated from the scene when nobody states them
    decorrelated_input: bool = False
    imagery: tuple[str, ...] = ("sar",)  # what it was trained on
    display_native: bool = False  # trained on display grey levels (see engine.methods.Method)
    maturity: str = "recommended"  # see engine.methods.Method
    maturity_note: str = ""
    config_overrides: Mapping[str, Any] = field(default_factory=dict)

    def build(self, overrides: Mapping[str, Any] | None = None) -> Any:
        module, cls = self.network.split(":")
        cfg_module, cfg_cls = self.config.split(":")
        config_type = getattr(importlib.import_module(cfg_module), cfg_cls)
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in {**self.config_overrides, **(overrides or {})}.items()}
        return getattr(importlib.import_module(module), cls)(config_type(**values))


DEVICE = Parameter("device", str, "auto", "where to run: auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps", advanced=True)
PRECISION = Parameter(
    "precision", str, "auto", "arithmetic: auto (bf16 on GPUs that have it, else fp32), fp32, bf16 or fp16 (GPU)",
    choices=("auto", "fp32", "bf16", "fp16"), advanced=True,
)
BATCH_SIZE = Parameter("batch_size", int, 0, "windows per forward pass; 0 chooses by device", minimum=0, maximum=1024, advanced=True)
SUBTILE_PX = Parameter(
    "subtile_px", int, 0,
    "size in pixels of the pieces a chunk is cut into, each run with its halo (at least 32); 0 chooses them for the device's free memory",
    minimum=0, maximum=8192, advanced=True,
)
POINT_TARGETS = Parameter(
    "point_targets", bool, True,
    "keep strong scatterers as measured: pixels that speckle around the estimate cannot explain (false-alarm rate 1e-4) pass through "
    "unchanged (not for display images given to a display model, unless set)",
    advanced=True,
)
#: Looks for networks conditioned on them: stated by the scene or the caller, else estimated.
ESTIMATED_LOOKS = replace(
    LOOKS, default=None, statistic=scene_looks,
    help="equivalent number of looks (ENL) of the input; default: the scene's metadata, else estimated from the scene (median ENL of 9x9 windows)",
)
SCENE_MEDIAN = Parameter(
    "scene_median", float, None,
    "median intensity used to normalise the input (default: computed over the scene)", minimum=0.0,
    statistic=partial(intensity_quantile, q=0.5), advanced=True,
)


def round_up(value: int, multiple: int) -> int:
    return int(math.ceil(value / multiple) * multiple)


def declared_halo(spec: ModelSpec, card: Mapping[str, Any] | None) -> int:
    halo = int(card["halo_px"]) if card and "halo_px" in card else spec.halo_px
    return round_up(halo, spec.stride_px)


def model_method(spec: ModelSpec, weights: Weights | None = None, *, card: Mapping[str, Any] | None = None) -> Method:
    """The :class:`Method` running ``spec``: with the shipped weights (registered), or with the
    given ``weights`` (for tests, training and evaluation of checkpoints)."""
    from engine.models._runtime import ModelKernel

    shipped = weights is None
    if shipped:
        card = load_card(spec.name)
    halo = declared_halo(spec, card)
    reach = int(card["halo_px"]) if card and "halo_px" in card else spec.halo_px
    description = spec.description
    if reach != halo:  # said, so that the halo shown and the model card's figure do not seem to disagree
        description += (f" Halo {halo} px: the measured reach ({reach} px, the model card's halo_px) rounded up to the "
                        f"network's stride ({spec.stride_px} px), so that every chunk sees the same pixel grid.")

    def availability() -> str | None:
        if not torch_available():
            return INSTALL_HINT
        if shipped and load_card(spec.name) is None:
            return f"no trained weights are installed ({weights_path(spec.name).name} and its model card)"
        return None

    parameters = [POINT_TARGETS, DEVICE, PRECISION, BATCH_SIZE, SUBTILE_PX, SCENE_MEDIAN]
    if spec.looks_conditioned:
        parameters.insert(0, ESTIMATED_LOOKS)
    elif spec.uses_looks:
        parameters.insert(0, LOOKS)
    return Method(
        name=spec.name,
        title=spec.title,
        kind="model",
        domain="intensity",
        kernel=ModelKernel(spec, weights or Weights.shipped(spec.name), card.get("architecture_config") if card else None),
        halo=lambda params, _halo=halo: _halo,
        parameters=tuple(parameters),
        description=description,
        references=spec.references,
        preferred_chunk_px=spec.preferred_chunk_px,
        needs_gpu=spec.needs_gpu,
        maturity=spec.maturity,
        maturity_note=spec.maturity_note,
        availability=availability,
        alignment_px=spec.stride_px,
        edge_aware=True,
        wants_decorrelated=spec.decorrelated_input,
        imagery=spec.imagery,
        display_native=spec.display_native,
    )


def register_model(spec: ModelSpec) -> ModelSpec:
    register_method(model_method(spec))
    return spec
