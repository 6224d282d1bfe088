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
is the fastest of the engine's models on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.models.nets._layers import LooksFiLM
from engine.models.nets.lite_unet import LiteUNet, LiteUNetConfig


@dataclass(frozen=True)
class LooksUNetConfig(LiteUNetConfig):
    widths: tuple[int, ...] = (12, 24, 48, 128)  # channel counts oneDNN runs fast (measured)
    convolutions: tuple[int, ...] = (1, 2, 3, 3)
    conditioning_width: int = 32


class LooksUNet(LiteUNet):
    conditioned_on_looks = True

    def __init__(self, config: LooksUNetConfig = LooksUNetConfig()) -> None:
        super().__init__(config)
        w = config.widths
        # One (scale, shift) pair per channel after the entry, every encoder level and every
        # decoder level: widths w0..wn, then decoder widths w(n-1)..w0.
        self.film = LooksFiLM([*w, *reversed(w[:-1])], config.conditioning_width)

    def body(self, log_intensity: torch.Tensor, looks: torch.Tensor | float = 1.0) -> torch.Tensor:  # type: ignore[override]
        """Normalised log intensity (N, 1, H, W), H and W multiples of the stride, and the ENL
        (a number or one per image) -> normalised log reflectivity, same shape."""
        h, w = log_intensity.shape[-2:]
        if not torch.jit.is_tracing() and (h % self.stride or w % self.stride):
            raise ValueError(f"looks-unet needs sizes that are multiples of {self.stride}, got {h}x{w}")
        film = iter(self.film.modulations(looks, log_intensity.shape[0], log_intensity))

        def modulate(features: torch.Tensor) -> torch.Tensor:
            scale, shift = next(film)
            return features * (1.0 + scale) + shift

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
