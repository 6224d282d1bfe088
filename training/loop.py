"""The training loop: phases, optimiser and schedule, checkpoints that resume exactly, logs.

A checkpoint holds the network, the optimiser, the iteration, and the states of the data
generator and of torch's generator. With deterministic algorithms and the same thread count,
a run resumed from a checkpoint produces the same weights as an uninterrupted run. Losses go to
``metrics.csv`` (and TensorBoard when it is installed), validation to ``validation.csv``.
"""

from __future__ import annotations

import csv
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.exceptions import ParameterError
from engine.models import SPECS, Weights, model_method, select_device
from engine.progress import Reporter
from training.config import REPO, TrainConfig, load_config
from training.data import PatchSampler
from training.evaluate import validate
from training.export import export_weights
from training.trainers import step

CHECKPOINT = "checkpoint.pt"


def phase_at(config: TrainConfig, iteration: int) -> tuple[str, int, int]:
    """(phase name, first iteration of the phase, its length) for a global iteration."""
    start = 0
    for phase in config.phases:
        if iteration < start + phase.iterations:
            return phase.name, start, phase.iterations
        start += phase.iterations
    last = config.phases[-1]
    return last.name, start - last.iterations, last.iterations


def learning_rate(config: TrainConfig, iteration: int) -> float:
    """Linear warm-up then cosine decay, restarted at each phase."""
    _, start, length = phase_at(config, iteration)
    local = iteration - start
    base = config.optim.learning_rate
    warmup = min(config.optim.warmup_iterations, max(1, length // 10))
    if local < warmup:
        return base * (local + 1) / warmup
    progress = (local - warmup) / max(1, length - warmup)
    return base * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _optimizer(config: TrainConfig, network: Any) -> torch.optim.Optimizer:
    o = config.optim
    if o.optimizer == "adamw":
        return torch.optim.AdamW(network.parameters(), lr=o.learning_rate, weight_decay=o.weight_decay)
    if o.optimizer == "adam":
        return torch.optim.Adam(network.parameters(), lr=o.learning_rate)
    raise ValueError(f"optimizer must be adam or adamw, got {o.optimizer!r}")


class _Logs:
    def __init__(self, folder: Path, resume_at: int) -> None:
        self.folder = folder
        for name in ("metrics.csv", "validation.csv"):
            path = folder / name
            if path.exists():  # drop rows written after the checkpoint we resume from
                rows = list(csv.DictReader(path.open()))
                kept = [r for r in rows if int(r["iteration"]) <= resume_at]
                self._rewrite(path, kept)
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.board: Any = SummaryWriter(str(folder / "tensorboard"))
        except ImportError:  # TensorBoard is optional
            self.board = None

    @staticmethod
    def _rewrite(path: Path, rows: list[dict[str, str]], fields: list[str] | None = None) -> None:
        if not rows:
            path.unlink()
            return
        temporary = path.with_name(path.name + ".partial")  # a failed rewrite keeps the old log
        with temporary.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields or list(rows[0]), restval="")
            writer.writeheader()
            writer.writerows(rows)
        os.replace(temporary, path)

    def write(self, name: str, row: dict[str, Any]) -> None:
        # Phases log different loss terms (the contrastive phases have no despeckling loss):
        # a row with a column the file lacks rewrites it under the union of the columns, so
        # that every value stays under its own header.
        path = self.folder / name
        fields = list(row)
        if path.exists():
            with path.open(newline="") as f:
                header = next(csv.reader(f), [])
                f.seek(0)
                rows = list(csv.DictReader(f))
            fields = header + [k for k in row if k not in header]
            if len(fields) > len(header):
                self._rewrite(path, rows, fields)
        new = not path.exists()
        with path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields, restval="")
            if new:
                writer.writeheader()
            writer.writerow(row)
        if self.board is not None:
            for key, value in row.items():
                if isinstance(value, float):
                    self.board.add_scalar(f"{name.split('.')[0]}/{key}", value, row["iteration"])


def _save(path: Path, state: dict[str, Any]) -> None:
    temporary = path.with_suffix(".partial")
    torch.save(state, temporary)
    os.replace(temporary, path)


def _initial_network(config: TrainConfig, device: torch.device) -> dict[str, Any]:
    """The network state a fine-tuning run starts from: the finished run of ``config.init_from``.

    Only a finished run counts (a stage must not start from a half-trained checkpoint by accident)."""
    parent = load_config(REPO / config.init_from)
    if parent.model != config.model or parent.architecture != config.architecture:
        raise ParameterError(f"init_from {config.init_from} trains {parent.model} {parent.architecture or ''}; this run trains {config.model} {config.architecture or ''}")
    path = parent.output_dir() / CHECKPOINT
    if not path.exists():
        raise ParameterError(f"init_from: no checkpoint at {path}; run `python -m training {config.init_from}` first")
    state = torch.load(path, map_location=device, weights_only=False)
    if state["iteration"] != parent.iterations:
        raise ParameterError(f"init_from: the run of {config.init_from} stopped at iteration {state['iteration']} of {parent.iterations}; finish it with --resume first")
    return state["network"]


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    max_iterations: int | None = None,
    reporter: Reporter | None = None,
) -> dict[str, Any]:
    """Train ``config.model``; return a summary (iteration, loss, validation, output folder)."""
    reporter = reporter or Reporter()
    spec = SPECS[config.model]
    folder = config.output_dir()
    folder.mkdir(parents=True, exist_ok=True)
    device = select_device(config.device)
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.use_deterministic_algorithms(device.type == "cpu")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    sampler = PatchSampler(config.data, config.data_dir(), rng)
    network = spec.build(config.architecture).to(device)
    optimizer = _optimizer(config, network)
    iteration, elapsed = 0, 0.0
    checkpoint = folder / CHECKPOINT
    if not (resume and checkpoint.exists()) and config.init_from:
        network.load_state_dict(_initial_network(config, device))
    if resume and checkpoint.exists():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        network.load_state_dict(state["network"])
        optimizer.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["data_rng"]
        torch.set_rng_state(state["torch_rng"])
        iteration, elapsed = state["iteration"], state["elapsed_s"]
    logs = _Logs(folder, iteration)
    autocast = torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else None
    total = config.iterations
    stop = min(total, max_iterations) if max_iterations else total
    summary: dict[str, Any] = {"output": str(folder), "iteration": iteration, "elapsed_s": elapsed}

    def save() -> None:
        _save(checkpoint, {
            "network": network.state_dict(), "optimizer": optimizer.state_dict(), "iteration": iteration,
            "data_rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "elapsed_s": elapsed,
            "config": config.source,
        })

    def run_validation() -> dict[str, float]:
        method = model_method(spec, Weights.in_memory(network.state_dict(), f"{folder}:{iteration}"), card={"architecture_config": config.architecture})
        network.eval()
        with torch.no_grad():
            results = validate(method, config.data_dir(), config.validation, device=str(device))
        network.train()
        logs.write("validation.csv", {"iteration": iteration, **results})
        reporter.log("info", f"iteration {iteration}: " + ", ".join(f"{k} {v:.4g}" for k, v in results.items()))
        return results

    reporter.start(f"train {config.model}", stop)
    network.train()
    started = time.monotonic() - elapsed
    while iteration < stop:
        phase, _, _ = phase_at(config, iteration)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, iteration)
        with torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
            parts = step(network, phase, sampler, config, device)
        optimizer.zero_grad(set_to_none=True)
        parts["loss"].backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), config.optim.clip_grad_norm)
        optimizer.step()
        iteration += 1
        elapsed = time.monotonic() - started
        if iteration % config.log_every == 0 or iteration == stop:
            row = {"iteration": iteration, "phase": phase, "lr": optimizer.param_groups[0]["lr"], "elapsed_s": round(elapsed, 2)}
            row.update({k: float(v.detach()) for k, v in parts.items()})
            logs.write("metrics.csv", row)
            summary["loss"] = row["loss"]
        if iteration % config.checkpoint_every == 0 or iteration == stop:
            save()
        if config.validation.every and iteration % config.validation.every == 0 and iteration < total:
            summary["validation"] = run_validation()
        reporter.update(iteration, stop)
    reporter.finish()
    summary.update(iteration=iteration, elapsed_s=elapsed)
    if iteration == total:
        summary["validation"] = run_validation() if config.validation else {}
        if config.export:
            summary["weights"] = str(export_weights(network, config, summary, device))
    return summary
