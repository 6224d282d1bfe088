"""Cutting a block into the windows a network runs on.

A block carries its core plus ``halo`` pixels of context on each side. Its core is cut, along
each axis, into pieces whose sizes are multiples of the network's stride; each piece runs in a
window that reaches ``halo`` pixels beyond it, so the piece's output does not depend on where the
window ends. Where the block meets the edge of the scene, the window stops at the edge instead:
there is nothing beyond it, and the network's own zero padding is the border condition there, as
for the crops it was trained on. Whole-scene inference is the same rule with one window, so
every chunking gives the same result, and windows at scene borders compute no halo at all.

A window that stops at the scene's far edge is padded with zeros (the scene median in the
normalised log domain) up to a multiple of the stride; since windows start at multiples of the
stride in scene coordinates, every such window ends at the same padded edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Span:
    """One piece of an axis, in block coordinates."""

    core_start: int
    core_length: int
    window_start: int
    window_length: int  # pixels of the block the window holds
    padded_length: int  # the window's extent in the network: a multiple of the stride

    @property
    def core_offset(self) -> int:
        """Where the core starts inside the window."""
        return self.core_start - self.window_start


def split_axis(length: int, halo: int, stride: int, piece: int, outside: tuple[int, int] = (0, 0)) -> list[Span]:
    """The core ``[halo, length - halo)`` of a block axis in pieces of ``piece`` pixels.

    ``outside`` is how many pixels at the axis's start and end lie outside the scene (multiples of
    the stride at the start); windows do not reach into them.
    """
    low, high = outside[0], length - outside[1]
    spans = []
    for start in range(halo, length - halo, piece):
        core = min(piece, length - halo - start)
        window_start = max(start - halo, low)
        window_end = min(start + core + halo, high)
        extent = window_end - window_start
        spans.append(Span(start, core, window_start, extent, math.ceil(extent / stride) * stride))
    return spans


def even_piece(core: int, pieces: int, stride: int) -> int:
    """The piece size (a multiple of ``stride``) that cuts ``core`` pixels into ``pieces`` nearly equal parts."""
    return max(stride, math.ceil(math.ceil(core / pieces) / stride) * stride)


def _candidates(length: int, halo: int, stride: int, outside: tuple[int, int]) -> list[list[Span]]:
    """Every distinct way of cutting the axis into nearly equal pieces, fewest pieces first."""
    core = length - 2 * halo
    layouts: list[list[Span]] = []
    seen: set[int] = set()
    for pieces in range(1, math.ceil(core / stride) + 1):
        piece = even_piece(core, pieces, stride)
        if piece not in seen:
            seen.add(piece)
            layouts.append(split_axis(length, halo, stride, piece, outside))
    return layouts


@lru_cache(maxsize=256)  # the blocks of a scene share a few shapes
def plan_windows(
    shape: tuple[int, int],
    halo: int,
    stride: int,
    *,
    outside: tuple[int, int, int, int] = (0, 0, 0, 0),
    bytes_per_px: int,
    batch: int,
    budget: int,
    piece: int = 0,
) -> tuple[tuple[Span, ...], tuple[Span, ...]]:
    """Row and column spans for a block of ``shape`` with ``halo`` context.

    ``outside`` = (top, bottom, left, right) pixels of the block outside the scene. With a
    ``piece`` size given, the core is cut into pieces of that size. Otherwise the layout computes
    the fewest pixels (halos are recomputed for every window) among those whose largest batch of
    windows fits ``budget`` bytes at ``bytes_per_px`` per input pixel; ties go to fewer windows.
    When none fits, the smallest windows the stride allows are used.
    """
    rows_outside, cols_outside = outside[:2], outside[2:]
    if piece:
        piece = max(stride, piece // stride * stride)
        return tuple(split_axis(shape[0], halo, stride, piece, rows_outside)), tuple(split_axis(shape[1], halo, stride, piece, cols_outside))
    row_layouts = _candidates(shape[0], halo, stride, rows_outside)
    col_layouts = _candidates(shape[1], halo, stride, cols_outside)

    def summary(layout: list[Span]) -> tuple[int, int]:
        return max(s.padded_length for s in layout), sum(s.padded_length for s in layout)

    col_summaries = [summary(layout) for layout in col_layouts]
    best: tuple[tuple[int, int], list[Span], list[Span]] | None = None
    for rows in row_layouts:
        tallest, row_total = summary(rows)
        for cols, (widest, col_total) in zip(col_layouts, col_summaries, strict=True):
            if batch * tallest * widest * bytes_per_px <= budget:
                cost = (row_total * col_total, len(rows) * len(cols))
                if best is None or cost < best[0]:
                    best = (cost, rows, cols)
    if best is None:
        return tuple(row_layouts[-1]), tuple(col_layouts[-1])
    return tuple(best[1]), tuple(best[2])
