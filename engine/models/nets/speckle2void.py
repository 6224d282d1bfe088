"""``speckle2void``: a blind-spot network for self-supervised despeckling (Molini et al., TGRS 2022).

The network never sees the pixel it estimates. Four rotated copies of the input go through one
shared stack of "upward-looking" 3x3 convolutions: each layer is padded above only, so an output
row sees only that row and rows above it. A final one-row shift also hides the current row.
Rotated back and fused by 1x1 convolutions, the four half-planes cover the whole neighbourhood
except the pixel itself. From it the network predicts the shape ``alpha`` and scale ``beta`` of an
inverse-Gamma prior on the reflectivity. With L-look Gamma speckle (mean-one intensity
y | x ~ Gamma(L, x / L)) the posterior is inverse-Gamma(alpha + L, beta + L y), and the estimate is
its mean, (beta + L y) / (alpha + L - 1): the network's context combined with the pixel's own value.

The layers use no pooling, so the network is a pure convolution stack with a finite receptive
field: up to 2 * sum(dilations) + 1 pixels in every direction. In training, ``hide_vertical``
also hides the pixels directly above and below (for speckle with residual vertical correlation).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class Speckle2VoidConfig:
    channels: int = 32
    dilations: tuple[int, ...] = (1, 1, 1, 2, 2, 2, 2, 4)


class UpwardConv(nn.Module):
    """3x3 convolution whose output at row i sees input rows i - 2d .. i only."""

    def __init__(self, in_channels: int, out_channels: int, dilation: int) -> None:
        super().__init__()
        self.dilation = dilation
        self.conv = nn.Conv2d(in_channels, out_channels, 3, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = self.dilation
        return self.conv(F.pad(x, (d, d, 2 * d, 0)))


def rotate(x: torch.Tensor, quarter_turns: int) -> torch.Tensor:
    """torch.rot90 over the spatial dims, written with transpose and flip so it exports to ONNX."""
    k = quarter_turns % 4
    if k == 1:
        return x.transpose(2, 3).flip(2)
    if k == 2:
        return x.flip(2).flip(3)
    if k == 3:
        return x.transpose(2, 3).flip(3)
    return x


class Speckle2Void(nn.Module):
    def __init__(self, config: Speckle2VoidConfig = Speckle2VoidConfig()) -> None:
        super().__init__()
        c = config.channels
        layers: list[nn.Module] = []
        for i, dilation in enumerate(config.dilations):
            layers += [UpwardConv(1 if i == 0 else c, c, dilation), nn.LeakyReLU(0.1, inplace=True)]
        self.upward = nn.Sequential(*layers)
        self.fuse = nn.Sequential(
            nn.Conv2d(4 * c, 2 * c, 1), nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(2 * c, c, 1), nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(c, 2, 1),
        )

    def _half_plane(self, x: torch.Tensor, hide_vertical: bool) -> torch.Tensor:
        y = self.upward(x)
        shift = 2 if hide_vertical else 1  # hide the current row (and the one above it)
        return F.pad(y, (0, 0, shift, 0))[:, :, : y.shape[2], :]

    def body(self, log_intensity: torch.Tensor, hide_vertical: bool = False) -> torch.Tensor:
        """Normalised log intensity -> (a, b) maps: alpha = 1 + softplus(a) + 1e-3, beta = exp(b)."""
        branches = []
        for k in range(4):
            rotated = rotate(log_intensity, k)
            branches.append(rotate(self._half_plane(rotated, hide_vertical), -k))
        return self.fuse(torch.cat(branches, dim=1))

    @staticmethod
    def prior(raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Inverse-Gamma shape alpha (> 1, so the prior has a mean) and scale beta (> 0)."""
        a, b = raw[:, :1], raw[:, 1:2]
        return 1.0 + 1e-3 + F.softplus(a), torch.exp(b.clamp(-30.0, 30.0))

    def finish(self, raw: torch.Tensor, log_intensity: torch.Tensor, looks: float) -> torch.Tensor:
        """Posterior mean of the (normalised) reflectivity, computed in float32."""
        alpha, beta = self.prior(raw.float())
        y = torch.exp(log_intensity.float())
        return (beta + looks * y) / (alpha + looks - 1.0)

    def forward(self, log_intensity: torch.Tensor, looks: float = 1.0) -> torch.Tensor:
        return self.finish(self.body(log_intensity), log_intensity, looks)
