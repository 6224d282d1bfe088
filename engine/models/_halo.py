"""Measuring how far a network looks: the halo a tile needs so that it equals the whole image.

The gradient of one output pixel with respect to the input shows which input pixels influence
it. The halo is the largest distance (in pixels, Chebyshev) at which some pixel still has an
influence above ``threshold`` times the strongest. It is measured on speckled synthetic
scenes, at several positions relative to the network's stride, and the largest value is kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.models._torch import require_torch
from engine.synthetic import reflectivity, speckle

THRESHOLD = 1e-6


def probe_size_px(halo_px: int, stride_px: int = 1) -> int:
    """A probe comfortably wider than twice the declared reach, a multiple of the stride, and no
    larger: the gradient is taken through the whole network, whose saved activations grow with
    the probe's area (a 768-pixel probe of mdn-cl needs over 24 GiB)."""
    stride = max(stride_px, 1)
    return max(192, -(-(2 * halo_px + 128) // stride) * stride)


def influence_radius(gradient: np.ndarray, centre: tuple[int, int], threshold: float) -> int:
    magnitude = np.abs(gradient)
    strong = magnitude > threshold * magnitude.max()
    rows, cols = np.nonzero(strong)
    return int(max(np.max(np.abs(rows - centre[0])), np.max(np.abs(cols - centre[1]))))


def measure_halo(
    network: Any,
    *,
    stride: int = 1,
    size_px: int = 256,
    threshold: float = THRESHOLD,
    seeds: tuple[int, ...] = (0, 1),
    looks: float = 1.0,
) -> int:
    """The network's measured reach in pixels (see the module docstring)."""
    torch = require_torch()
    if size_px % max(stride, 1):
        raise ValueError(f"size_px {size_px} must be a multiple of the stride {stride}")
    network = network.eval()
    radius = 0
    for seed in seeds:
        rng = np.random.default_rng(seed)
        intensity = reflectivity((size_px, size_px), rng) * speckle((size_px, size_px), looks, rng)
        x = torch.from_numpy(np.log(intensity / np.median(intensity)).astype(np.float32))[None, None]
        x.requires_grad_(True)
        out = network.finish(network.body(x), x, looks)
        for offset in range(0, max(stride, 1), max(1, stride // 4)):
            centre = (size_px // 2 + offset, size_px // 2 + offset)
            (gradient,) = torch.autograd.grad(out[0, 0, centre[0], centre[1]], x, retain_graph=True)
            radius = max(radius, influence_radius(gradient[0, 0].numpy(), centre, threshold))
    if radius >= size_px // 2 - 1:
        raise ValueError(f"the network reaches the edge of the {size_px}-pixel probe; measure with a larger size_px")
    return radius
