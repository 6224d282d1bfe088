"""Building blocks shared by the networks. Every one of them is local: its output at a pixel
depends on a bounded neighbourhood, so tiled inference equals whole-image inference."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class LayerNorm2d(nn.Module):
    """Layer normalisation over channels at each pixel (local, unlike batch or instance norm)."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return x * self.weight[:, None, None] + self.bias[:, None, None]


class SimpleGate(nn.Module):
    """NAFNet's gate: split the channels in two halves and multiply them."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return a * b


def box_sum(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Sum over a ``height`` x ``width`` box centred on each pixel (odd sizes), pixels outside
    the tensor counting as zero: a row sum then a column sum, each a depthwise convolution with a
    kernel of ones (on the CPU several times faster than ``avg_pool2d``, whose square-kernel loop
    dominated mdn-cl's time). The channel count is fixed by the layer, so it is a constant in an
    ONNX export and the spatial size stays dynamic."""
    channels = int(x.shape[1])
    if width > 1:
        x = F.conv2d(x, x.new_ones(channels, 1, 1, width), padding=(0, width // 2), groups=channels)
    if height > 1:
        x = F.conv2d(x, x.new_ones(channels, 1, height, 1), padding=(height // 2, 0), groups=channels)
    return x


def box_mean(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Mean over a ``height`` x ``width`` box counting only pixels inside the tensor, as
    ``avg_pool2d(..., stride=1, count_include_pad=False)`` (the layer the weights were trained
    with): the box sum divided by the box sum of ones."""
    return box_sum(x, height, width) / box_sum(torch.ones_like(x[:, :1]), height, width)


def local_mean(x: torch.Tensor, window: int) -> torch.Tensor:
    """Mean over a ``window`` x ``window`` neighbourhood, counting only pixels inside the tensor.

    Replaces global average pooling: the statistic a pixel sees is that of its surroundings,
    not of whatever tile or image it happens to be processed in.
    """
    return box_mean(x, window, window)


class LocalChannelAttention(nn.Module):
    """NAFNet's simplified channel attention with the global average pool made local."""

    def __init__(self, channels: int, window: int) -> None:
        super().__init__()
        self.window = window
        self.project = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.project(local_mean(x, self.window))


class NAFBlock(nn.Module):
    """NAFNet block (layer norm, gated depthwise conv, channel attention, gated FFN), local,
    with optional FiLM modulation by a speckle-aware representation (scale, shift)."""

    def __init__(self, channels: int, attention_window: int) -> None:
        super().__init__()
        c = channels
        self.norm1 = LayerNorm2d(c)
        self.expand = nn.Conv2d(c, 2 * c, 1)
        self.depthwise = nn.Conv2d(2 * c, 2 * c, 3, padding=1, groups=2 * c)
        self.gate = SimpleGate()
        self.attention = LocalChannelAttention(c, attention_window)
        self.reduce = nn.Conv2d(c, c, 1)
        self.norm2 = LayerNorm2d(c)
        self.ffn_expand = nn.Conv2d(c, 2 * c, 1)
        self.ffn_reduce = nn.Conv2d(c, c, 1)
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, x: torch.Tensor, film: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        y = self.norm1(x)
        if film is not None:
            scale, shift = film
            y = y * (1 + scale) + shift
        y = self.reduce(self.attention(self.gate(self.depthwise(self.expand(y)))))
        x = x + y * self.beta
        y = self.ffn_reduce(self.gate(self.ffn_expand(self.norm2(x))))
        return x + y * self.gamma


#: Looks the conditioning is scaled for; the looks-aware networks are trained on 1 to 16, clamped to [0.5, 64] at inference.
LOOKS_RANGE = (0.5, 64.0)


def looks_features(looks: torch.Tensor) -> torch.Tensor:
    """(N,) ENL -> (N, 3) features on comparable scales: log L, 1/sqrt(L) (the speckle CV) and
    the log-domain bias digamma(L) - log(L), by its asymptotic series -1/(2L) - 1/(12L^2)
    (within 0.006 at L = 1; ONNX has no digamma)."""
    looks = looks.float().clamp(*LOOKS_RANGE)
    bias = -0.5 / looks - 1.0 / (12.0 * looks * looks)
    return torch.stack([torch.log(looks) / math.log(16.0), looks.rsqrt(), bias], dim=1)


class LooksFiLM(nn.Sequential):
    """Per-channel scale and shift for each of ``channels`` feature maps, computed from the ENL by
    a small perceptron (FiLM). The ENL is one number per scene, so the modulation is the same in
    every window and tiled inference still equals whole-scene inference. Starts as the identity
    (scale 1, shift 0): a network given it behaves as it did without it until trained."""

    def __init__(self, channels: list[int], width: int = 32) -> None:
        self.channels = list(channels)
        super().__init__(nn.Linear(3, width), nn.ReLU(inplace=True), nn.Linear(width, 2 * sum(self.channels)))
        nn.init.zeros_(self[-1].weight)
        nn.init.zeros_(self[-1].bias)

    def modulations(self, looks: torch.Tensor | float, batch: int, like: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(scale - 1, shift) per feature map, each (N, C, 1, 1) in ``like``'s dtype; ``looks`` is a
        number or one per image."""
        looks_t = torch.as_tensor(looks, dtype=torch.float32, device=like.device).reshape(-1)
        if looks_t.numel() == 1:
            looks_t = looks_t.expand(batch)
        params = self(looks_features(looks_t)).to(like.dtype)
        out, start = [], 0
        for c in self.channels:
            out.append((params[:, start : start + c, None, None], params[:, start + c : start + 2 * c, None, None]))
            start += 2 * c
        return out
