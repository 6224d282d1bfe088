"""``lite-unet``: a small U-Net in the log domain, for CPUs, with a wide reach.

Single-look speckle needs context: at full resolution every pixel is one exponential draw, so a
good estimate averages over tens of pixels while keeping edges. A plain CNN of 32 channels
everywhere (the retired ``fast-cnn``, 7 dilated convolutions) reached 22 pixels; this network
spends little at full resolution (three 3x3 convolutions of 16 channels: in, after the last
skip, out) and most of its capacity at 1/2, 1/4 and 1/8 resolution, where a 3x3 convolution
covers 2, 4 and 8 times as far for a quarter, a sixteenth and a sixty-fourth of the cost: for
about 1.7 times that CNN's arithmetic per pixel it has 27 times its parameters and a reach of
66 pixels (3 times as far).

Every layer is local (no normalisation over the image, no global pooling), and the down- and
up-sampling are 2x2 convolutions with stride 2, so the output at a pixel depends only on a
bounded neighbourhood and on the pixel's position modulo 8: the runtime aligns tiles to multiples
of the stride (8) in scene coordinates, which makes tiled inference equal whole-image inference.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class LiteUNetConfig:
    widths: tuple[int, ...] = (16, 48, 96, 128)  # full resolution, then each halving
    convolutions: tuple[int, ...] = (1, 2, 3, 3)  # 3x3 convolutions per level (encoder side)

    @property
    def stride(self) -> int:
        return 2 ** (len(self.widths) - 1)


def _convolutions(in_channels: int, out_channels: int, count: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for k in range(count):
        layers += [nn.Conv2d(in_channels if k == 0 else out_channels, out_channels, 3, padding=1), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class LiteUNet(nn.Module):
    def __init__(self, config: LiteUNetConfig = LiteUNetConfig()) -> None:
        super().__init__()
        w, n = config.widths, config.convolutions
        if len(w) != len(n) or len(w) < 2:
            raise ValueError("widths and convolutions need one entry per level, at least two levels")
        self.stride = config.stride
        self.entry = _convolutions(1, w[0], n[0])
        self.down = nn.ModuleList(nn.Conv2d(w[k - 1], w[k], 2, stride=2) for k in range(1, len(w)))
        self.encoder = nn.ModuleList(_convolutions(w[k], w[k], n[k]) for k in range(1, len(w)))
        # Decoder, coarsest first: upsample to the finer level's width, concatenate its skip.
        self.up = nn.ModuleList(nn.ConvTranspose2d(w[k], w[k - 1], 2, stride=2) for k in range(len(w) - 1, 0, -1))
        self.decoder = nn.ModuleList(
            _convolutions(2 * w[k - 1], w[k - 1], max(n[k - 1], 1)) for k in range(len(w) - 1, 0, -1)
        )
        self.exit = nn.Conv2d(w[0], 1, 3, padding=1)

    def body(self, log_intensity: torch.Tensor) -> torch.Tensor:
        """Normalised log intensity (N, 1, H, W), H and W multiples of the stride -> normalised
        log reflectivity, same shape."""
        h, w = log_intensity.shape[-2:]
        # Checked eagerly only: an ONNX export traces symbolic sizes (the runtime pads to the stride).
        if not torch.jit.is_tracing() and (h % self.stride or w % self.stride):
            raise ValueError(f"lite-unet needs sizes that are multiples of {self.stride}, got {h}x{w}")
        features = self.entry(log_intensity)
        skips = [features]
        for down, encoder in zip(self.down, self.encoder, strict=True):
            features = encoder(F.relu(down(features)))
            skips.append(features)
        skips.pop()  # the coarsest level feeds the decoder directly
        for up, decoder in zip(self.up, self.decoder, strict=True):
            features = decoder(torch.cat([F.relu(up(features)), skips.pop()], dim=1))
        return log_intensity - self.exit(features)

    def finish(self, raw: torch.Tensor, log_intensity: torch.Tensor, looks: float) -> torch.Tensor:
        """Back to (normalised) linear intensity, in float32."""
        return torch.exp(raw.float())

    def forward(self, log_intensity: torch.Tensor, looks: float = 1.0) -> torch.Tensor:
        return self.finish(self.body(log_intensity), log_intensity, looks)
