"""``looks-unet``: a U-Net that is told how many looks the speckle has.

The strength of a despeckler must follow the speckle: one look (intensity CV 1) needs tens of
pixels of context, sixteen looks (CV 0.25) almost none, and the log-domain bias to remove,
E[log speckle] = digamma(L) - log(L), goes from -0.58 to -0.03. A network trained on one-look
speckle applies one-look smoothing and one-look bias to every input; this one receives the
equivalent number of looks (ENL) and conditions every level on it (FiLM: a per-channel scale
and shift computed from the ENL by a small perceptron). The ENL is a number per scene, so the
conditioning is the same in every window and tiled inference still equals whole-scene
inference.

The layout is :mod:`lite_unet`'s (little at full resolution, most capacity at 1/2 to 1/8,
stride-2 down- and up-sampling, no normalisation over the image), made narrower so that it
runs faster than ``fast-cnn`` on a CPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from engine.models.nets.lite_unet import LiteUNet, LiteUNetConfig

#: Looks the conditioning is scaled for; trained on 1 to 16, clamped to [0.5, 64] at inference.
LOOKS_RANGE = (0.5, 64.0)


@dataclass(frozen=True)
class LooksUNetConfig(LiteUNetConfig):
    widths: tuple[int, ...] = (12, 24, 48, 128)  # channel counts oneDNN runs fast (measured)
    convolutions: tuple[int, ...] = (1, 2, 3, 3)
    conditioning_width: int = 32


def looks_features(looks: torch.Tensor) -> torch.Tensor:
    """(N,) ENL -> (N, 3) features on comparable scales: log L, 1/sqrt(L) (the speckle CV) and
    the log-domain bias digamma(L) - log(L), by its asymptotic series -1/(2L) - 1/(12L^2)
    (within 0.006 at L = 1; ONNX has no digamma)."""
    looks = looks.float().clamp(*LOOKS_RANGE)
    bias = -0.5 / looks - 1.0 / (12.0 * looks * looks)
    return torch.stack([torch.log(looks) / math.log(16.0), looks.rsqrt(), bias], dim=1)


class LooksUNet(LiteUNet):
    conditioned_on_looks = True

    def __init__(self, config: LooksUNetConfig = LooksUNetConfig()) -> None:
        super().__init__(config)
        w = config.widths
        # One (scale, shift) pair per channel after the entry, every encoder level and every
        # decoder level: widths w0..wn, then decoder widths w(n-1)..w0.
        self.film_channels = [*w, *reversed(w[:-1])]
        self.film = nn.Sequential(
            nn.Linear(3, config.conditioning_width),
            nn.ReLU(inplace=True),
            nn.Linear(config.conditioning_width, 2 * sum(self.film_channels)),
        )
        nn.init.zeros_(self.film[-1].weight)  # start as the unconditioned U-Net
        nn.init.zeros_(self.film[-1].bias)

    def _modulations(self, looks: torch.Tensor | float, batch: int, like: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        looks_t = torch.as_tensor(looks, dtype=torch.float32, device=like.device).reshape(-1)
        if looks_t.numel() == 1:
            looks_t = looks_t.expand(batch)
        params = self.film(looks_features(looks_t)).to(like.dtype)
        out, start = [], 0
        for channels in self.film_channels:
            scale = params[:, start : start + channels, None, None]
            shift = params[:, start + channels : start + 2 * channels, None, None]
            out.append((1.0 + scale, shift))
            start += 2 * channels
        return out

    def body(self, log_intensity: torch.Tensor, looks: torch.Tensor | float = 1.0) -> torch.Tensor:  # type: ignore[override]
        """Normalised log intensity (N, 1, H, W), H and W multiples of the stride, and the ENL
        (a number or one per image) -> normalised log reflectivity, same shape."""
        h, w = log_intensity.shape[-2:]
        if not torch.jit.is_tracing() and (h % self.stride or w % self.stride):
            raise ValueError(f"looks-unet needs sizes that are multiples of {self.stride}, got {h}x{w}")
        film = iter(self._modulations(looks, log_intensity.shape[0], log_intensity))

        def modulate(features: torch.Tensor) -> torch.Tensor:
            scale, shift = next(film)
            return features * scale + shift

        features = modulate(self.entry(log_intensity))
        skips = [features]
        for down, encoder in zip(self.down, self.encoder, strict=True):
            features = modulate(encoder(torch.relu(down(features))))
            skips.append(features)
        skips.pop()
        for up, decoder in zip(self.up, self.decoder, strict=True):
            features = modulate(decoder(torch.cat([torch.relu(up(features)), skips.pop()], dim=1)))
        return log_intensity - self.exit(features)

    def forward(self, log_intensity: torch.Tensor, looks: torch.Tensor | float = 1.0) -> torch.Tensor:
        return self.finish(self.body(log_intensity, looks), log_intensity, 1.0)
