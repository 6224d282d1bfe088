"""engine.overlap: overlapped chunks give the whole-image result, whatever the chunking."""

from __future__ import annotations

import warnings

import dask.array as da
import numpy as np
import pytest

from engine.exceptions import ChunkSizeWarning
from engine.overlap import apply_overlapped


def identity(block: np.ndarray) -> np.ndarray:
    return block


def neighbourhood_sum(block: np.ndarray, *, radius: int, scale: float = 1.0) -> np.ndarray:
    """Sum over a (2r+1)^2 window, NaN counted as zero: exposes any wrong halo or seam."""
    out = np.zeros(block.shape, np.float32)
    filled = np.nan_to_num(block)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            out += np.roll(np.roll(filled, dy, 0), dx, 1)
    return out * scale


def reference_sum(image: np.ndarray, radius: int) -> np.ndarray:
    padded = np.pad(np.nan_to_num(image), radius)
    return neighbourhood_sum(padded, radius=radius)[radius:-radius, radius:-radius]


def test_apply_overlapped__identity_model_reproduces_the_input_exactly(rng: np.random.Generator) -> None:
    image = rng.random((101, 77)).astype(np.float32)
    out = apply_overlapped(da.from_array(image, chunks=(17, 30)), identity, halo=5, parameters={}).compute()
    np.testing.assert_array_equal(out, image)


@pytest.mark.parametrize("chunks", [(10, 10), (23, 7), (50, 77), (101, 5), (8, 13)])
@pytest.mark.parametrize("radius", [1, 3])
def test_apply_overlapped__equals_whole_image_processing(chunks: tuple[int, int], radius: int, rng: np.random.Generator) -> None:
    image = rng.random((50, 77)).astype(np.float32)
    image[10:12, 30:40] = np.nan
    out = apply_overlapped(
        da.from_array(image, chunks=chunks), neighbourhood_sum, halo=radius, parameters={"radius": radius}
    ).compute()
    np.testing.assert_allclose(out, reference_sum(image, radius), rtol=1e-6)
    assert out.dtype == np.float32


def test_apply_overlapped__chunks_smaller_than_the_halo_are_rechunked_with_a_warning(rng: np.random.Generator) -> None:
    image = rng.random((40, 40)).astype(np.float32)
    with pytest.warns(ChunkSizeWarning, match="smaller than the method's halo of 4 px"):
        result = apply_overlapped(da.from_array(image, chunks=3), neighbourhood_sum, halo=4, parameters={"radius": 4})
    np.testing.assert_allclose(result.compute(), reference_sum(image, 4), rtol=1e-6)


@pytest.mark.filterwarnings("ignore::engine.exceptions.ChunkSizeWarning")
@pytest.mark.parametrize("shape", [(1, 1), (1, 30), (30, 1), (3, 3)])
def test_apply_overlapped__scenes_smaller_than_the_halo(shape: tuple[int, int], rng: np.random.Generator) -> None:
    image = rng.random(shape).astype(np.float32)
    out = apply_overlapped(da.from_array(image, chunks=1), neighbourhood_sum, halo=3, parameters={"radius": 3})
    np.testing.assert_allclose(out.compute(), reference_sum(image, 3), rtol=1e-6)


def test_apply_overlapped__statistics_reach_every_block(rng: np.random.Generator) -> None:
    image = rng.random((30, 30)).astype(np.float32)
    scale = da.from_array(image, chunks=10).max()
    out = apply_overlapped(
        da.from_array(image, chunks=10), neighbourhood_sum, halo=1, parameters={"radius": 1}, statistics={"scale": scale}
    ).compute()
    np.testing.assert_allclose(out, reference_sum(image, 1) * image.max(), rtol=1e-6)


def test_apply_overlapped__leading_dimensions_are_independent(rng: np.random.Generator) -> None:
    stack = rng.random((3, 20, 20)).astype(np.float32)
    out = apply_overlapped(da.from_array(stack, chunks=(1, 7, 7)), neighbourhood_sum, halo=2, parameters={"radius": 2}).compute()
    for band in range(3):
        np.testing.assert_allclose(out[band], reference_sum(stack[band], 2), rtol=1e-6)


def outside_is_where_the_nan_padding_is(block: np.ndarray, *, halo: int, outside_px: tuple[int, int, int, int]) -> np.ndarray:
    """1 where the kernel was told exactly which of its block's pixels lie outside the scene (the
    test scenes have no nodata, so those are the NaN ones), 0 elsewhere."""
    top, bottom, left, right = outside_px
    inside = np.zeros(block.shape, bool)
    inside[top : block.shape[0] - bottom, left : block.shape[1] - right] = True
    return np.full(block.shape, float(np.array_equal(inside, np.isfinite(block))), np.float32)


@pytest.mark.parametrize("chunks", [(10, 10), (23, 7), (50, 77), (101, 5), (30, 72), (-1, -1)])
def test_tiling__kernels_that_ask_are_told_what_lies_outside_the_scene(chunks: tuple[int, int], rng: np.random.Generator) -> None:
    from engine.overlap import apply_with_halo_reads

    image = rng.random((101, 77)).astype(np.float32) + 1.0
    halo = 8  # (30, 72): last chunks of 11 and 5 px, smaller than the halo
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChunkSizeWarning)  # (23, 7) and (101, 5) are rechunked
        overlapped = apply_overlapped(da.from_array(image, chunks=chunks), outside_is_where_the_nan_padding_is,
                                      halo=halo, parameters={"halo": halo}, edges=True).compute()
    np.testing.assert_array_equal(overlapped, 1.0)
    dask_chunks = da.from_array(image, chunks=chunks).chunks
    read = apply_with_halo_reads(lambda window: image[window], lambda raw, origin: raw, outside_is_where_the_nan_padding_is,
                                 shape=image.shape, chunks=dask_chunks, halo=halo, parameters={"halo": halo}, edges=True).compute()
    np.testing.assert_array_equal(read, 1.0)
