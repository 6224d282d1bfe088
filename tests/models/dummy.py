"""Dummy networks with a known function, to test the runtime and the tiler (not shipped)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class IdentityConfig:
    pass


class IdentityNet(nn.Module):
    """Returns its input: through the engine, the output must equal the input."""

    def __init__(self, config: IdentityConfig = IdentityConfig()) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))

    def body(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.unused

    def finish(self, raw: torch.Tensor, x: torch.Tensor, looks: float) -> torch.Tensor:
        return torch.exp(raw.float())

    def forward(self, x: torch.Tensor, looks: float = 1.0) -> torch.Tensor:
        return self.finish(self.body(x), x, looks)
