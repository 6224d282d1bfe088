"""``fast-cnn``: a small dilated CNN in the log domain, fast enough for CPUs.

Seven 3x3 convolutions of 32 channels with dilations 1, 2, 4, 8, 4, 2, 1 (receptive field
radius 22 pixels) predict the log-domain speckle; the estimate is the input minus it. About
47 000 parameters and 0.047 MMAC per pixel: a 10 000 x 10 000 scene takes a few minutes on a
laptop CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class FastCNNConfig:
    channels: int = 32
    dilations: tuple[int, ...] = (1, 2, 4, 8, 4, 2, 1)


class FastCNN(nn.Module):
    def __init__(self, config: FastCNNConfig = FastCNNConfig()) -> None:
        super().__init__()
        c, d = config.channels, config.dilations
        layers: list[nn.Module] = [nn.Conv2d(1, c, 3, padding=d[0], dilation=d[0]), nn.ReLU(inplace=True)]
        for dilation in d[1:-1]:
            layers += [nn.Conv2d(c, c, 3, padding=dilation, dilation=dilation), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(c, 1, 3, padding=d[-1], dilation=d[-1]))
        self.body_layers = nn.Sequential(*layers)

    def body(self, log_intensity: torch.Tensor) -> torch.Tensor:
        """Normalised log intensity (N, 1, H, W) -> normalised log reflectivity, same shape."""
        return log_intensity - self.body_layers(log_intensity)

    def finish(self, raw: torch.Tensor, log_intensity: torch.Tensor, looks: float) -> torch.Tensor:
        """Back to (normalised) linear intensity, in float32."""
        return torch.exp(raw.float())

    def forward(self, log_intensity: torch.Tensor, looks: float = 1.0) -> torch.Tensor:
        return self.finish(self.body(log_intensity), log_intensity, looks)
