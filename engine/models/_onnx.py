"""Export a model to ONNX (dynamic batch and size), with what a runtime needs in its metadata.

The graph maps normalised log intensity, log(I / scene median) with nodata set to 0, to
normalised intensity (multiply by the scene median). Inputs: ``log_intensity``
(batch, 1, height, width), with height and width multiples of ``stride_px``, plus ``looks``
(a scalar) for models that use it. The metadata properties give the halo, stride, domain,
normalisation and engine version, so a tiled ONNX runtime can reproduce the engine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine._version import __version__
from engine.exceptions import ParameterError
from engine.models._runtime import INPUT_CONVENTION
from engine.models._torch import require_torch
from engine.models._weights import Weights, load_card


def _wrapper(network: Any) -> Any:
    torch = require_torch()

    class Despeckler(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network

        def forward(self, log_intensity: Any, looks: Any) -> Any:
            if getattr(self.network, "conditioned_on_looks", False):
                return self.network.finish(self.network.body(log_intensity, looks), log_intensity, looks)
            return self.network.finish(self.network.body(log_intensity), log_intensity, looks)

    return Despeckler().eval()


def export_onnx(name: str, path: str | Path, *, weights: Weights | None = None, opset: int = 17) -> Path:
    """Write model ``name`` (shipped weights unless ``weights`` are given) as ONNX to ``path``."""
    torch = require_torch()
    import onnx

    from engine.models import SPECS
    from engine.models._spec import declared_halo

    if name not in SPECS:
        raise ParameterError(f"unknown model {name!r}; models: {', '.join(SPECS)}")
    spec = SPECS[name]
    card = load_card(name) if weights is None else None
    if weights is None and card is None:
        raise ParameterError(f"model {name!r} has no installed weights to export")
    network = spec.build(card.get("architecture_config") if card else None)
    network.load_state_dict((weights or Weights.shipped(name)).state_dict())
    size = max(64, 4 * spec.stride_px)
    example = (torch.zeros(1, 1, size, size), torch.tensor(1.0))
    path = Path(path)
    dynamic = {0: "batch", 2: "height", 3: "width"}
    torch.onnx.export(
        _wrapper(network), example, str(path), input_names=["log_intensity", "looks"], output_names=["intensity"],
        dynamic_axes={"log_intensity": dynamic, "intensity": dynamic}, opset_version=opset, dynamo=False,
    )
    model = onnx.load(str(path))
    metadata = {
        "despeckle.model": name,
        "despeckle.version": __version__,
        "despeckle.halo_px": str(declared_halo(spec, card)),
        "despeckle.stride_px": str(spec.stride_px),
        "despeckle.domain": "intensity",
        "despeckle.input": INPUT_CONVENTION,
        "despeckle.output": "intensity / scene median intensity",
        "despeckle.inputs": json.dumps([i.name for i in model.graph.input]),
    }
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return path
