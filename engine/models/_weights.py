"""Shipped weights: ``engine/weights/<name>.safetensors`` with a JSON model card beside them.

Weights are loaded from the installed package, never from the network. A card says what the
weights are: architecture and its configuration, input domain and normalisation, measured halo,
training data, how they were trained (config, hardware, duration) and validation metrics.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"


def weights_path(name: str) -> Path:
    return WEIGHTS_DIR / f"{name}.safetensors"


def card_path(name: str) -> Path:
    return WEIGHTS_DIR / f"{name}.json"


def load_card(name: str) -> dict[str, Any] | None:
    path = card_path(name)
    if not path.is_file() or not weights_path(name).is_file():
        return None
    return json.loads(path.read_text())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Weights:
    """Where a model's parameters come from: a safetensors file, or tensors in memory (tests,
    training checkpoints). Small and picklable, so it travels to dask workers."""

    path: str | None = None
    tensors: dict[str, Any] | None = None
    identity: str = ""

    @classmethod
    def shipped(cls, name: str) -> Weights:
        path = weights_path(name)
        return cls(path=str(path), identity=f"shipped:{name}")

    @classmethod
    def in_memory(cls, state_dict: dict[str, Any], identity: str) -> Weights:
        return cls(tensors={k: v.detach().cpu() for k, v in state_dict.items()}, identity=identity)

    def state_dict(self) -> dict[str, Any]:
        if self.tensors is not None:
            return dict(self.tensors)
        from safetensors.torch import load_file

        assert self.path is not None
        return {k: v.float() for k, v in load_file(self.path).items()}

    def __dask_tokenize__(self) -> tuple[str, str]:
        return ("Weights", self.identity)
