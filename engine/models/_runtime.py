"""Running a network over a dask block: sub-tiles in batches, on the chosen device.

The kernel receives a block of intensity carrying the method's halo (NaN outside the scene and
at nodata). It normalises the block to log(I / scene median), with NaN replaced by 0 (the
scene median), the same constant that pads the scene's border. It then cuts the block's core into
fixed-size sub-tiles, each extended by the halo, and runs them in batches through one model
instance per process. Only one forward pass per device is in flight at a time. Unless the caller
sets them, sub-tiles are as large as the device's memory budget allows for the network's peak
activation memory per pixel (``ModelSpec.activation_bytes_per_px``): the halo is recomputed for
every sub-tile, so larger sub-tiles waste less. Finally it
stitches the sub-tiles' cores back together. Autocast (bf16/fp16) covers the network body only;
the final exponential or posterior is computed in float32.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from engine.exceptions import ParameterError
from engine.models._torch import require_torch
from engine.models._weights import Weights

#: Loaded networks, most recent last; a few are kept (training validates many checkpoints).
_MODELS: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_MODELS_KEPT = 4
_MODELS_LOCK = threading.Lock()
_DEVICE_LOCKS: dict[str, threading.Lock] = {}

#: Sub-tiles per forward pass when the caller leaves it to the engine.
_DEFAULT_BATCH = {"cpu": 1, "cuda": 4, "mps": 2}
#: Memory one forward pass may take when the engine chooses the sub-tile size: a share of the
#: free GPU memory, and on the CPU (or MPS, whose memory is the system's) a share of the
#: available RAM up to a cap, so that a scene's memory stays bounded whatever the model.
_GPU_MEMORY_SHARE = 0.5
_HOST_MEMORY_SHARE = 0.125
_HOST_MEMORY_CAP = 2 * 2**30
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
            _MODELS[key] = network.eval().to(device, memory_format=layout)
            while len(_MODELS) > _MODELS_KEPT:
                _MODELS.popitem(last=False)
        _MODELS.move_to_end(key)
        return _MODELS[key]


def memory_budget(device: Any) -> int:
    """Bytes one forward pass may use on ``device`` when the engine sizes the sub-tiles."""
    if device.type == "cuda":
        torch = require_torch()
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * _GPU_MEMORY_SHARE)
    import psutil  # a dependency of dask.distributed

    return int(min(_HOST_MEMORY_CAP, psutil.virtual_memory().available * _HOST_MEMORY_SHARE))


def default_subtile(core_px: int, halo: int, stride: int, bytes_per_px: int, batch: int, budget: int) -> int:
    """The sub-tile core size, a multiple of ``stride``, for a block core of ``core_px``.

    The largest sub-tile whose batch fits ``budget`` (given the network's peak activation
    memory per input pixel), evened out so that the block's core splits into equal sub-tiles:
    the halo is recomputed for every sub-tile, so fewer, larger ones waste less.
    """
    fits = int((budget / max(1, batch * bytes_per_px)) ** 0.5) - 2 * halo
    largest = max(stride, fits // stride * stride)
    pieces = math.ceil(core_px / largest)
    return max(stride, math.ceil(math.ceil(core_px / pieces) / stride) * stride)


def _subtiles(core_h: int, core_w: int, size: int) -> Iterator[tuple[int, int]]:
    for r in range(0, core_h, size):
        for c in range(0, core_w, size):
            yield r, c


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
        halo: int,
    ) -> np.ndarray:
        torch = require_torch()
        target = select_device(device)
        dtype = autocast_dtype(precision, target)
        stride = self.spec.stride_px
        height, width = block.shape
        core_h, core_w = height - 2 * halo, width - 2 * halo
        out = np.full(block.shape, np.nan, dtype=np.float32)
        if core_h <= 0 or core_w <= 0:
            return out
        batch = batch_size or _DEFAULT_BATCH[target.type]
        if subtile_px:
            size = max(stride, subtile_px // stride * stride)
        else:
            bytes_per_px = self.spec.activation_bytes_per_px // (2 if dtype is not None else 1)
            size = default_subtile(max(core_h, core_w), halo, stride, bytes_per_px, batch, memory_budget(target))
        network = load_network(self.spec, self.weights, target, self.config)
        median = float(scene_median) if scene_median and np.isfinite(scene_median) and scene_median > 0 else 1.0

        valid = np.isfinite(block)
        normalised = np.where(valid, np.maximum(block, median * _FLOOR), median) / median
        x = np.log(normalised).astype(np.float32)
        # Sub-tiles as large as the core they cover (rounded up to the stride), plus the halo;
        # those of equal shape share batches.
        tiles_by_shape: dict[tuple[int, int], list[tuple[int, int, int, int]]] = {}
        for r, c in _subtiles(core_h, core_w, size):
            h, w = min(size, core_h - r), min(size, core_w - c)
            shape = (-(-h // stride) * stride + 2 * halo, -(-w // stride) * stride + 2 * halo)
            tiles_by_shape.setdefault(shape, []).append((r, c, h, w))
        lock = _DEVICE_LOCKS.setdefault(str(target), threading.Lock())
        for (extent_h, extent_w), members in tiles_by_shape.items():
            for start in range(0, len(members), batch):
                group = members[start : start + batch]
                tiles = np.zeros((len(group), 1, extent_h, extent_w), dtype=np.float32)  # 0 = the scene median
                for i, (r, c, _, _) in enumerate(group):
                    piece = x[r : r + extent_h, c : c + extent_w]
                    tiles[i, 0, : piece.shape[0], : piece.shape[1]] = piece
                with lock, torch.inference_mode():
                    inputs = torch.from_numpy(tiles).to(target)
                    with torch.autocast(device_type=target.type, dtype=dtype, enabled=dtype is not None):
                        raw = network.body(inputs)
                    estimate = network.finish(raw, inputs, float(looks)).float().cpu().numpy()
                for i, (r, c, h, w) in enumerate(group):
                    out[halo + r : halo + r + h, halo + c : halo + c + w] = estimate[i, 0, halo : halo + h, halo : halo + w]
        out *= median
        out[~valid] = np.nan
        return out
