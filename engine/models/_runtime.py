"""Running a network over a dask block: windows in batches, on the chosen device.

The kernel receives a block of intensity carrying the method's halo (NaN at nodata and outside
the scene) and how many of its pixels on each side lie outside the scene (``outside_px``). It
normalises the block to log(I / scene median), with nodata set to 0 (the scene median). It then
cuts the block's core into windows (``engine.models._windows``): each reaches the halo beyond
its piece of the core, except at the scene's edge, where it stops and the network's own padding
is the border condition. Windows run in batches through one model instance per process; only
one forward pass per device is in flight at a time. Unless the caller sets the piece size, the
layout is the one that computes the fewest pixels (halos are recomputed for every window) among
those whose windows fit the device's memory budget for the network's peak activation memory per
pixel (``ModelSpec.activation_bytes_per_px``). Finally it stitches the cores back together and
applies the radiometric guard (``engine.models._radiometry``: zeros, point targets, no estimate
above its neighbourhood).
Autocast (bf16/fp16) covers the network body only; the final exponential or posterior is
computed in float32.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from engine.exceptions import ParameterError
from engine.models._torch import require_torch
from engine.models._weights import Weights
from engine.models._windows import plan_windows
from engine.progress import kernel_progress, raise_if_cancelled

#: Loaded networks, most recent last; a few are kept (training validates many checkpoints).
_MODELS: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_MODELS_KEPT = 4
_MODELS_LOCK = threading.Lock()
_DEVICE_LOCKS: dict[str, threading.Lock] = {}

#: Windows per forward pass when the caller leaves it to the engine.
DEFAULT_BATCH = {"cpu": 1, "cuda": 4, "mps": 2}
#: Memory one forward pass may take when the engine lays out the windows: a share of the
#: free GPU memory, and on the CPU (or MPS, whose memory is the system's) a share of the
#: available RAM up to a cap, so that a scene's memory stays bounded whatever the model.
_GPU_MEMORY_SHARE = 0.5
_HOST_MEMORY_SHARE = 0.125
_HOST_MEMORY_CAP = 2 * 2**30
#: What a network is fed, for model cards and ONNX metadata (a runtime outside the engine must
#: do the same to reproduce it).
INPUT_CONVENTION = (
    "log(I / scene median intensity), nodata and exact zeros set to 0; windows stop at the scene's edge (the network's own zero "
    "padding is the border there; the far edges padded with 0 to a multiple of the stride) and carry the halo elsewhere"
)
#: Smallest piece a caller may ask for.
MIN_SUBTILE_PX = 32
#: Intensities below this fraction of the scene median (-60 dB) are floored before the log.
_FLOOR = 1e-6


def select_device(requested: str) -> Any:
    """``auto`` -> CUDA if present, else MPS, else CPU; otherwise check the named device exists."""
    torch = require_torch()
    name = requested.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ParameterError(f"unknown device {requested!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and (not torch.cuda.is_available() or (device.index or 0) >= torch.cuda.device_count()):
        raise ParameterError(f"device {requested!r} is not available here (no such CUDA device); use device=auto or cpu")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ParameterError("device 'mps' is not available here; use device=auto or cpu")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ParameterError(f"unsupported device {requested!r}; use auto, cpu, cuda, cuda:N or mps")
    return device


def autocast_dtype(precision: str, device: Any) -> Any:
    torch = require_torch()
    if precision == "fp32" or (precision == "auto" and device.type != "cuda"):
        return None
    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if precision == "fp16":
        if device.type == "cpu":
            raise ParameterError("precision fp16 needs a GPU; use fp32 or bf16 on the CPU")
        return torch.float16
    return torch.bfloat16


def load_network(spec: Any, weights: Weights, device: Any, config: Mapping[str, Any] | None = None) -> Any:
    """One evaluation-mode instance per (model, weights, device) and process."""
    torch = require_torch()
    key = (spec.name, weights.identity, str(device))
    with _MODELS_LOCK:
        if key not in _MODELS:
            network = spec.build(config)
            network.load_state_dict(weights.state_dict())
            # Channels-last (NHWC) lets oneDNN skip reordering every activation on the CPU:
            # measured 1.35-1.6x faster for the shipped models (benchmarks/results/models.md).
            # GPUs keep PyTorch's default layout until measured there.
            layout = torch.channels_last if device.type == "cpu" else torch.contiguous_format
            network = network.eval().to(device, memory_format=layout)
            # A cancelled run stops inside a forward pass, at its next layer: one window of a
            # large chunk takes seconds on a CPU, too long to wait after Ctrl-C or QGIS's Cancel.
            # On the layers with weights (the convolutions): fine enough to stop within a
            # fraction of a window, few enough to cost nothing measurable (A/B in the same process).
            for module in network.modules():
                if next(module.parameters(recurse=False), None) is not None:
                    module.register_forward_pre_hook(_stop_if_cancelled)
            _MODELS[key] = network
            while len(_MODELS) > _MODELS_KEPT:
                _MODELS.popitem(last=False)
        _MODELS.move_to_end(key)
        return _MODELS[key]


def _stop_if_cancelled(module: Any, inputs: Any) -> None:
    raise_if_cancelled()


def memory_budget(device: Any) -> int:
    """Bytes one forward pass may use on ``device`` when the engine lays out the windows."""
    if device.type == "cuda":
        torch = require_torch()
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * _GPU_MEMORY_SHARE)
    import psutil  # a dependency of dask.distributed

    return int(min(_HOST_MEMORY_CAP, psutil.virtual_memory().available * _HOST_MEMORY_SHARE))


class ModelKernel:
    """A picklable kernel: the model spec and where its weights are; the network itself is
    loaded lazily, once per process, on the device the call asks for."""

    def __init__(self, spec: Any, weights: Weights, config: Mapping[str, Any] | None = None) -> None:
        self.spec = spec
        self.weights = weights
        self.config = dict(config) if config else None

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        return ("ModelKernel", self.spec.name, self.weights.identity)

    def __call__(
        self,
        block: np.ndarray,
        *,
        device: str,
        precision: str,
        batch_size: int,
        subtile_px: int,
        scene_median: float,
        looks: float = 1.0,
        point_targets: bool = True,
        halo: int,
        outside_px: tuple[int, int, int, int] | None = None,
    ) -> np.ndarray:
        torch = require_torch()
        if 0 < subtile_px < MIN_SUBTILE_PX:
            # Each piece is computed with the whole halo around it: tiny pieces multiply the work
            # by ((piece + 2 halo) / piece)^2, thousands of times for a piece of one pixel.
            raise ParameterError(f"subtile_px must be 0 (chosen for the device's memory) or at least {MIN_SUBTILE_PX}, got {subtile_px}")
        target = select_device(device)
        dtype = autocast_dtype(precision, target)
        stride = self.spec.stride_px
        height, width = block.shape
        out = np.full(block.shape, np.nan, dtype=np.float32)
        if height <= 2 * halo or width <= 2 * halo:
            return out
        batch = batch_size or DEFAULT_BATCH[target.type]
        bytes_per_px = self.spec.activation_bytes_per_px // (2 if dtype is not None else 1)
        rows, cols = plan_windows(
            block.shape, halo, stride, outside=outside_px or (0, 0, 0, 0), bytes_per_px=bytes_per_px, batch=batch,
            budget=0 if subtile_px else memory_budget(target), piece=subtile_px,
        )
        network = load_network(self.spec, self.weights, target, self.config)
        conditioned = getattr(network, "conditioned_on_looks", False)
        median = float(scene_median) if scene_median and np.isfinite(scene_median) and scene_median > 0 else 1.0

        valid = np.isfinite(block)
        # Exact zeros (no-data borders of SLC products) are not intensities a log-domain network
        # can read: it sees them as no-data; the guard writes them back as 0.
        readable = valid & (block > 0)
        normalised = np.where(readable, np.maximum(block, median * _FLOOR), median) / median
        x = np.log(normalised).astype(np.float32)
        # Windows of equal shape share batches.
        windows_by_shape: dict[tuple[int, int], list[tuple[Any, Any]]] = {}
        for row in rows:
            for col in cols:
                windows_by_shape.setdefault((row.padded_length, col.padded_length), []).append((row, col))
        lock = _DEVICE_LOCKS.setdefault(str(target), threading.Lock())
        total_windows, done_windows = len(rows) * len(cols), 0
        for (extent_h, extent_w), members in windows_by_shape.items():
            for start in range(0, len(members), batch):
                kernel_progress(done_windows / total_windows)  # and stop here if the run was cancelled
                group = members[start : start + batch]
                done_windows += len(group)
                tiles = np.zeros((len(group), 1, extent_h, extent_w), dtype=np.float32)  # 0 = the scene median
                for i, (row, col) in enumerate(group):
                    tiles[i, 0, : row.window_length, : col.window_length] = x[
                        row.window_start : row.window_start + row.window_length,
                        col.window_start : col.window_start + col.window_length,
                    ]
                with lock, torch.inference_mode():
                    inputs = torch.from_numpy(tiles).to(target)
                    with torch.autocast(device_type=target.type, dtype=dtype, enabled=dtype is not None):
                        raw = network.body(inputs, float(looks)) if conditioned else network.body(inputs)
                    estimate = network.finish(raw, inputs, float(looks)).float().cpu().numpy()
                for i, (row, col) in enumerate(group):
                    out[row.core_start : row.core_start + row.core_length, col.core_start : col.core_start + col.core_length] = estimate[
                        i, 0, row.core_offset : row.core_offset + row.core_length, col.core_offset : col.core_offset + col.core_length
                    ]
        out *= median
        from engine.models._radiometry import guard  # scipy: imported when a model runs, not when it is registered

        return guard(block, out, looks=float(looks), keep_point_targets=point_targets)
