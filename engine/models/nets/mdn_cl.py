"""``mdn-cl``: the multi-scale despeckling network with a speckle-aware contrastive encoder
(contrastive-learning MDN, ISPRS J. Photogramm. Remote Sens. 2024), redesigned to be tile-local.

Architecture, following the published description:

- a U-shaped encoder-decoder of NAFNet blocks, widths 32, 64, 128, 256 over 4 levels, encoder
  blocks [1, 1, 2, 2], 2 middle blocks, decoder blocks [2, 2, 1, 1], and a global residual
  (the network predicts the log-domain correction to its input);
- a separate contrastive encoder producing a speckle-aware representation R, trained with NT-Xent
  on two crops of the same image; R modulates every encoder block (FiLM: scale and shift);
- excitation-aggregation pooling (EAP) in place of plain skip connections: at each decoder level,
  every encoder level is brought to that level's scale (max-pooled from finer levels, upsampled
  from coarser ones), projected to a common width and fused multiplicatively (the same-level
  features excited by the gates of the others), then aggregated and projected to the stage width.

The published network looks at the whole image in five places; each is replaced so that the
network has a finite, measured reach and tiles of a scene give the whole-scene result:

1. Global average pooling in channel attention -> the mean over a local window
   (``attention_windows``, per level).
2. The softmax over all pixels in the aggregation -> a softmax over a local window
   (``softmax_window``): weights exp(s) normalised within the window.
3. Row and column means over the whole image -> means over row and column strips of
   ``strip_window`` pixels.
4. R pooled to a fixed 32 x 32 grid (its cell size depends on the image size) -> R at a fixed
   stride of 16 pixels, upsampled bilinearly where it modulates.
5. Per-image min-max normalisation -> the runtime normalises log intensity by the scene's median,
   a statistic computed once over the whole scene.

The contrastive encoder runs once per forward pass (the published code runs it twice). The total
stride is 16: the runtime aligns tiles to multiples of 16 pixels in scene coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.models.nets._layers import LooksFiLM, NAFBlock, box_mean, box_sum

STRIDE = 16


@dataclass(frozen=True)
class MDNConfig:
    widths: tuple[int, ...] = (32, 64, 128, 256)
    encoder_blocks: tuple[int, ...] = (1, 1, 2, 2)
    middle_blocks: int = 2
    decoder_blocks: tuple[int, ...] = (2, 2, 1, 1)  # from the coarsest level to the finest
    attention_windows: tuple[int, ...] = (15, 11, 7, 5)
    representation_channels: int = 64
    strip_window: int = 15
    softmax_window: int = 7
    conditioning_width: int = 32


class ContrastiveEncoder(nn.Module):
    """Speckle-aware representation R: 64 channels at 1/16 resolution (stride 16, local)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        widths = (32, 64, 96, 128, 128)
        layers: list[nn.Module] = [nn.Conv2d(1, widths[0], 3, padding=1), nn.GELU()]
        for cin, cout in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.GELU()]
        layers.append(nn.Conv2d(widths[-1], channels, 1))
        self.body = nn.Sequential(*layers)
        # Projection head for the NT-Xent loss (training only): pooled R -> embedding.
        self.head = nn.Sequential(nn.Linear(channels, channels), nn.GELU(), nn.Linear(channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def embed(self, representation: torch.Tensor) -> torch.Tensor:
        """Training crops -> normalised embeddings for the contrastive loss."""
        return F.normalize(self.head(representation.mean(dim=(2, 3))), dim=1)


def _resample(x: torch.Tensor, level_from: int, level_to: int) -> torch.Tensor:
    if level_from < level_to:
        factor = 2 ** (level_to - level_from)
        return F.max_pool2d(x, factor, stride=factor)
    if level_from > level_to:
        return F.interpolate(x, scale_factor=2 ** (level_from - level_to), mode="bilinear", align_corners=False)
    return x


class ExcitationAggregationPooling(nn.Module):
    """EAP at one decoder level: every encoder level, at this scale, projected and fused."""

    def __init__(self, widths: tuple[int, ...], level: int, strip_window: int, softmax_window: int) -> None:
        super().__init__()
        width = widths[level]
        self.level = level
        self.projections = nn.ModuleList(nn.Conv2d(w, width, 1) for w in widths)
        self.score = nn.Conv2d(width, 1, 1)
        self.strip_window = strip_window
        self.softmax_window = softmax_window
        self.out = nn.Conv2d(4 * width, width, 1)

    def forward(self, skips: list[torch.Tensor]) -> torch.Tensor:
        # Written to keep few full-resolution tensors alive at once (this module sets the
        # network's peak memory at the finest level): the gates are summed as they are made, and
        # the output projection of the concatenation [fused, rows, cols, softmax-pooled] is
        # applied as the sum of its four slices, which is the same linear map.
        gates: torch.Tensor | None = None
        same: torch.Tensor | None = None
        for i, (projection, skip) in enumerate(zip(self.projections, skips, strict=True)):
            # Coarser levels are projected before they are upsampled: a 1x1 convolution and
            # bilinear upsampling are both linear (and the upsampling weights sum to 1), so the
            # order does not change the result, but the projection runs on 4^k times fewer pixels
            # and the wide coarse features are never held at this level's scale. Max-pooling is
            # not linear: finer levels are pooled first, as published.
            t = _resample(projection(skip), i, self.level) if i > self.level else projection(_resample(skip, i, self.level))
            if i == self.level:
                same = t
            else:
                gates = t if gates is None else gates + t
        assert same is not None and gates is not None
        fused = same * (1.0 + torch.tanh(gates))  # excitation by the other levels
        del same, gates
        k, w = self.strip_window, self.softmax_window
        weight = self.out.weight.chunk(4, dim=1)
        y = F.conv2d(fused, weight[0], self.out.bias)
        y = y + F.conv2d(box_mean(fused, 1, k), weight[1])
        y = y + F.conv2d(box_mean(fused, k, 1), weight[2])
        scores = torch.exp(self.score(fused).clamp(-10.0, 10.0))
        softmax_pooled = box_sum(scores * fused, w, w) / box_sum(scores, w, w)  # the pixel counts cancel
        return y + F.conv2d(softmax_pooled, weight[3])


class MDN(nn.Module):
    """The network told the equivalent number of looks of its input: as in looks-unet, a FiLM
    computed from the ENL modulates every block (encoder, middle and decoder), on top of the
    contrastive representation's modulation of the encoder, so one network smooths and removes
    the log-domain bias as each number of looks needs."""

    conditioned_on_looks = True

    def __init__(self, config: MDNConfig = MDNConfig()) -> None:
        super().__init__()
        w = config.widths
        levels = len(w)
        self.config = config
        self.contrastive = ContrastiveEncoder(config.representation_channels)
        self.intro = nn.Conv2d(1, w[0], 3, padding=1)
        self.encoders = nn.ModuleList(
            nn.ModuleList(NAFBlock(w[i], config.attention_windows[i]) for _ in range(config.encoder_blocks[i])) for i in range(levels)
        )
        self.films = nn.ModuleList(nn.Conv2d(config.representation_channels, 2 * w[i], 1) for i in range(levels))
        self.downs = nn.ModuleList(nn.Conv2d(w[i], w[i + 1], 2, stride=2) for i in range(levels - 1))
        self.middle = nn.ModuleList(NAFBlock(w[-1], config.attention_windows[-1]) for _ in range(config.middle_blocks))
        self.ups = nn.ModuleList(
            nn.Sequential(nn.Conv2d(w[i + 1], 4 * w[i], 1), nn.PixelShuffle(2)) for i in range(levels - 1)
        )
        self.eaps = nn.ModuleList(
            ExcitationAggregationPooling(w, i, config.strip_window, config.softmax_window) for i in range(levels)
        )
        self.decoders = nn.ModuleList(
            nn.ModuleList(NAFBlock(w[i], config.attention_windows[i]) for _ in range(config.decoder_blocks[levels - 1 - i]))
            for i in range(levels)
        )
        self.ending = nn.Conv2d(w[0], 1, 3, padding=1)
        # One (scale, shift) pair per block: encoder blocks, middle blocks, decoder blocks (coarse to fine).
        block_widths = [
            *(w[i] for i in range(levels) for _ in range(config.encoder_blocks[i])),
            *(w[-1] for _ in range(config.middle_blocks)),
            *(w[i] for i in reversed(range(levels)) for _ in range(config.decoder_blocks[levels - 1 - i])),
        ]
        self.looks_film = LooksFiLM(block_widths, config.conditioning_width)

    def body(
        self, log_intensity: torch.Tensor, looks: torch.Tensor | float = 1.0, representation: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Normalised log intensity (N, 1, H, W), H and W multiples of 16, and the ENL (a number or
        one per image) -> log reflectivity."""
        x = log_intensity
        r = self.contrastive(x) if representation is None else representation
        by_looks = iter(self.looks_film.modulations(looks, x.shape[0], x))
        h = self.intro(x)
        skips = []
        for level, blocks in enumerate(self.encoders):
            # Scale and shift made at R's stride, then upsampled (the same, as above, and lighter).
            film = F.interpolate(self.films[level](r), size=h.shape[-2:], mode="bilinear", align_corners=False)
            scale, shift = film.chunk(2, dim=1)
            for block in blocks:
                looks_scale, looks_shift = next(by_looks)
                h = block(h, (scale + looks_scale, shift + looks_shift))
            skips.append(h)
            if level < len(self.downs):
                h = self.downs[level](h)
        for block in self.middle:
            h = block(h, next(by_looks))
        for level in reversed(range(len(self.encoders))):
            if level < len(self.ups):
                h = self.ups[level](h)
            h = h + self.eaps[level](skips)
            for block in self.decoders[level]:
                h = block(h, next(by_looks))
        return x + self.ending(h)

    def finish(self, raw: torch.Tensor, log_intensity: torch.Tensor, looks: float) -> torch.Tensor:
        return torch.exp(raw.float())

    def forward(self, log_intensity: torch.Tensor, looks: float = 1.0) -> torch.Tensor:
        return self.finish(self.body(log_intensity, looks), log_intensity, looks)
