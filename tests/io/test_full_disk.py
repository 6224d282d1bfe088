"""Writes that fail half-way (a full disk on a small tmpfs, CI runs as root): a clear error,
nothing at the target, no traceback from the command line, also from a LocalCluster's workers;
and temporaries that killed runs left behind are cleaned by the next run."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

import engine
from engine.exceptions import OutputError
from engine.io import mosaic_tiles, tile_scene
from engine.io._atomic import _HOST, temporary_sibling
from tests.conftest import require, write_geotiff


def _tmpfs(folder: Path, options: str):
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True, text=True)
    require(done.returncode == 0, f"cannot mount a tmpfs (needs root): {done.stderr.strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 2 MiB tmpfs: a 1024 x 1024 float32 output (4 MiB, about 3 MiB compressed) cannot fit."""
    yield from _tmpfs(tmp_path / "tiny", "size=2m")


@pytest.fixture(scope="module")
def big_input(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    return write_geotiff(tmp_path_factory.mktemp("in") / "big.tif", rng.gamma(1.0, 1.0, (1024, 1024)).astype(np.float32))


@pytest.mark.parametrize("output, options", [
    ("o.tif", {"compress": "none"}),
    # Compressed blocks that do not fit are dropped when GDAL closes the file, without an error.
    ("o.tif", {"compress": "deflate"}),
    ("o.tif", {"compress": "none", "scheduler": "local:2"}),
    ("o.tif", {"compress": "zstd", "scheduler": "local:2"}),
    ("o.cog.tif", {"format": "cog", "compress": "none"}),
    ("o.cog.tif", {"format": "cog", "compress": "deflate"}),
    ("o.zarr", {"chunk_px": 256}),
    ("o.zarr", {"chunk_px": 256, "scheduler": "local:2"}),
], ids=["geotiff", "geotiff-deflate", "geotiff-local2", "geotiff-zstd-local2", "cog", "cog-deflate", "zarr", "zarr-local2"])
def test_a_full_disk_is_a_clear_error_with_nothing_at_the_target(tiny_disk: Path, big_input: Path, output: str, options: dict) -> None:
    target = tiny_disk / output
    with pytest.raises(OutputError, match="the disk is full") as caught:
        engine.despeckle_file(big_input, target, "lee", domain="intensity", **options)
    assert not target.exists()
    assert not [p for p in tiny_disk.iterdir() if p.name.startswith(".")]  # no hidden temporaries left
    partial = tiny_disk / (output + ".partial")
    if partial.exists():  # a Zarr store keeps what it wrote, for --resume, and says so
        assert "kept in" in str(caught.value) and "for --resume" in str(caught.value)


@pytest.fixture
def three_mib_disk(tmp_path: Path):
    yield from _tmpfs(tmp_path / "three", "size=3m")


def test_uncompressed_outputs_are_refused_up_front_counting_whole_edge_tiles(three_mib_disk: Path, tmp_path: Path) -> None:
    """600 x 600 float32 is 1.4 MiB of pixels, but a tiled GeoTIFF stores its edge tiles whole:
    2 x 2 tiles of 512^2, 4 MiB. On a 3 MiB disk that is said before any work."""
    source = write_geotiff(tmp_path / "in.tif", np.random.default_rng(1).gamma(1.0, 1.0, (600, 600)).astype(np.float32))
    with pytest.raises(OutputError, match=r"needs 4\.0 MiB .* the disk is full"):
        engine.despeckle_file(source, three_mib_disk / "o.tif", "lee", domain="intensity", compress="none", looks=1.0)
    assert not any(three_mib_disk.iterdir())


def test_the_command_line_says_it_in_one_line(tiny_disk: Path, big_input: Path, despeckle_cli: list[str]) -> None:
    """One line on stderr: also where the blocks themselves fail to fit (compressed outputs), for
    which libtiff would print a line of its own per block."""
    run = ["run", str(big_input), str(tiny_disk / "o.tif"), "--method", "lee", "--domain", "intensity"]
    for command in ([*run, "--compress", "none"], [*run, "--compress", "deflate"], [*run, "--compress", "zstd", "--scheduler", "local:2"],
                    ["tile", str(big_input), str(tiny_disk / "tiles"), "--size", "256", "--compress", "none", "--domain", "intensity"],
                    ["tile", str(big_input), str(tiny_disk / "tiles"), "--size", "256", "--compress", "deflate", "--domain", "intensity"]):
        done = subprocess.run([*despeckle_cli, *command, "--progress", "none"], capture_output=True, text=True, timeout=300)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "the disk is full" in lines[0], done.stderr
        assert not any(tiny_disk.iterdir())


def test_a_mosaic_on_a_full_disk_is_a_clear_error(tiny_disk: Path, big_input: Path, tmp_path: Path) -> None:
    index = tile_scene(big_input, tmp_path / "tiles", size_px=256, domain="intensity")
    for compress in ("deflate", "none"):
        with pytest.raises(OutputError, match="the disk is full"):
            mosaic_tiles(index, tiny_disk / "m.tif", compress=compress)
        assert not any(tiny_disk.iterdir())


def test_temporaries_of_a_killed_run_are_removed_by_the_next_run(tmp_path: Path, big_input: Path) -> None:
    target = tmp_path / "o.tif"
    killed = subprocess.Popen(["sleep", "0"])
    killed.wait()
    stale = tmp_path / f".o.tif.{_HOST}-{killed.pid}-deadbeef.partial"
    stale.write_bytes(b"left by a killed run")
    alive = temporary_sibling(target)  # this process's own: another write in progress
    alive.write_bytes(b"being written")
    engine.despeckle_file(big_input, target, "boxcar", domain="intensity", window_size_px=3)
    assert not stale.exists() and alive.exists() and target.exists()


@pytest.fixture
def read_only_folder(tmp_path: Path):
    """A read-only file system: refused even to root, which permissions alone never stop."""
    yield from _tmpfs(tmp_path / "readonly", "ro,size=1m")


def test_a_read_only_output_folder_is_refused_before_any_work(read_only_folder: Path, tmp_path: Path) -> None:
    from tests.stack.conftest import write_date

    dates = [write_date(tmp_path / f"d_2020010{k}.tif", np.ones((16, 16), "float32")) for k in (1, 2)]
    with pytest.raises(OutputError, match="not writable"):
        engine.run.despeckle_stack_files(dates, read_only_folder / "out")
    with pytest.raises(OutputError, match="not writable"):
        engine.despeckle_file(dates[0], read_only_folder / "out.tif", "lee")
