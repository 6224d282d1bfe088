"""Export trained weights into the engine: fp16 safetensors (when fp16 changes nothing that
matters) and the JSON model card that says how they came to be."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from engine import __version__
from engine.domain import NOMINAL_DISPLAY_RANGE_DB
from engine.models import INPUT_CONVENTION, SPECS, WEIGHTS_DIR, measure_halo, probe_size_px, sha256
from training.config import DataConfig, TrainConfig

#: fp16 weights are shipped when they change the output by less than this (relative, max).
FP16_TOLERANCE = 1e-2


def _hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or "CPU"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} logical cores"


def fp16_difference(network: Any, size: int = 128) -> float:
    """Largest relative change of the output when the weights are rounded to fp16."""
    rng = np.random.default_rng(0)
    x = torch.from_numpy(np.log(rng.gamma(1.0, 1.0, (1, 1, size, size))).astype(np.float32))
    rounded = {k: v.half().float() for k, v in network.state_dict().items()}
    original = {k: v.clone() for k, v in network.state_dict().items()}
    with torch.no_grad():
        reference = network(x)
        network.load_state_dict(rounded)
        changed = network(x)
        network.load_state_dict(original)
    return float(((changed - reference).abs() / reference.abs().clamp_min(1e-6)).max())


def export_weights(network: Any, config: TrainConfig, summary: dict[str, Any], device: torch.device) -> Path:
    spec = SPECS[config.model]
    folder = Path(config.export_dir) if config.export_dir else WEIGHTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    network = network.float().cpu().eval()
    difference = fp16_difference(network, size=max(128, 4 * spec.stride_px))
    half = difference < FP16_TOLERANCE
    tensors = {k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in network.state_dict().items()}
    weights = folder / f"{spec.name}.safetensors"
    temporary = weights.with_suffix(".partial")
    save_file(tensors, str(temporary))
    os.chmod(temporary, 0o644)  # safetensors creates files readable by their owner only; weights ship
    os.replace(temporary, weights)
    halo = measure_halo(network, stride=spec.stride_px, size_px=probe_size_px(spec.halo_px, spec.stride_px))
    card = {
        "name": spec.name,
        "title": spec.title,
        "architecture": spec.network,
        "parameters": int(sum(p.numel() for p in network.parameters())),
        **conventions(config),
        "halo_px": halo,
        "halo_threshold": "influence below 1e-6 of the strongest (gradient of one output pixel)",
        "stride_px": spec.stride_px,
        "weights_dtype": "float16" if half else "float32",
        "fp16_max_relative_difference": difference,
        "sha256": sha256(weights),
        "training": {
            "config": os.path.relpath(config.source, Path(__file__).resolve().parents[1]) if config.source else None,
            "trainer": config.trainer,
            "initialised_from": config.init_from or None,
            "phases": [{"name": p.name, "iterations": p.iterations} for p in config.phases],
            "data": data_card(config.data),
            "hardware": _hardware(device),
            "duration_s": round(summary["elapsed_s"], 1),
            "iterations": summary["iteration"],
            "final_loss": summary.get("loss"),
            "engine_version": __version__,
            "torch_version": torch.__version__,
            "command": f"despeckle train {config.source}" if config.source else None,
        },
        "speckle": speckle_trained_for(config),
        "metrics": summary.get("validation", {}),
        "notes": config.notes,
    }
    (folder / f"{spec.name}.json").write_text(json.dumps(card, indent=2) + "\n")
    return weights


def conventions(config: TrainConfig) -> dict[str, Any]:
    """What a runtime outside the engine needs to reproduce it: the network's whole configuration
    (the model's own settings and the run's), and what it is fed and returns."""
    spec = SPECS[config.model]
    normalisation = f"input {INPUT_CONVENTION}; output * scene median"
    if spec.display_native:
        normalisation = (f"display grey levels g read as intensity 10^((g / 255 - 1) * D / 10), D = {NOMINAL_DISPLAY_RANGE_DB:g} dB "
                         "(the scale it was trained on), or the image's dynamic range measured on its speckle where that is "
                         f"narrower (engine.display), the median taken over the pixels not shown black; {normalisation}; back to grey levels on that scale, the estimate keeping the "
                         "grey level of speckle (the engine then matches its brightness to the input's)")
    architecture = {k: list(v) if isinstance(v, tuple) else v for k, v in {**spec.config_overrides, **config.architecture}.items()}
    return {"architecture_config": architecture, "domain": "display" if spec.display_native else "intensity", "normalisation": normalisation}


def data_card(data: DataConfig) -> dict[str, Any]:
    """The card's account of the training data: what this kind of data uses, nothing else."""
    card: dict[str, Any] = {"kind": data.kind, "sources": list(data.sources)}
    if data.kind == "synthetic":
        card.update({"looks_range": list(data.looks_range)} if data.looks_range else {"looks": list(data.looks)})
        card.update({name: getattr(data, name) for name in ("grd_fraction", "correlated_fraction", "looks_jitter") if getattr(data, name)})
    elif data.kind == "bmode-synthetic":
        card["phantoms"] = data.phantoms
    else:  # real speckle, self-supervised: the looks assumed, the point targets left out of the loss
        card.update(looks=list(data.looks), point_target_factor=data.point_target_factor)
    card.update(patch_px=data.patch_px, batch_size=data.batch_size,
                normalised_by="the source image's median" if data.normalise_by == "image" else "each patch's median")
    return card


def speckle_trained_for(config: TrainConfig) -> str:
    """What speckle the weights were trained for, in words, for the card (looks and correlation)."""
    data = config.data
    if data.kind == "bmode-synthetic":
        return ("simulated B-mode speckle (engine.bmode): fully developed, correlated by random point-spread functions "
                "(axial 0.6-2.2 px, lateral 1-2.5x wider, half tilted up to 30 degrees), log-compressed to 40-80 dB "
                "and 8-bit grey levels, half blurred by interpolation, 40 % JPEG-compressed")
    if data.kind != "synthetic":
        what = "complex (SLC or beamformed IQ) data, decorrelated" if data.kind == "slc" else f"{data.kind} images"
        return f"real speckle of {what}, self-supervised; {', '.join(f'{v:g}' for v in data.looks)} look(s) assumed"
    looks = (f"{data.looks_range[0]:g} to {data.looks_range[1]:g} looks (log-uniform, continuous)" if data.looks_range
             else f"{', '.join(f'{v:g}' for v in data.looks)} look(s)")
    kinds = []
    white = 1.0 - data.grd_fraction - data.correlated_fraction
    if white > 0:
        kinds.append(f"{white:.0%} white L-look Gamma")
    if data.grd_fraction:
        kinds.append(f"{data.grd_fraction:.0%} GRD-like correlated (random band-limited, multilooked, resampled processors)")
    if data.correlated_fraction:
        kinds.append(f"{data.correlated_fraction:.0%} band-limited correlated")
    told = "; told the looks" + (f" with a {data.looks_jitter:.0%} log-normal error" if data.looks_jitter else "") if SPECS[config.model].looks_conditioned else ""
    return f"{looks}: {', '.join(kinds)}{told}"


def revalidate(config: TrainConfig) -> dict[str, float]:
    """Re-measure the validation metrics of exported weights with the engine as it is now, and
    record them in the model card with the configuration's notes (the weights are unchanged).

    A card's metrics are the engine's output on the validation data: when the engine changes how
    it runs a network (at scene edges, say), they are re-measured so that the card stays true.
    The metrics measured at training are kept under ``training.metrics_at_training``.
    """
    from engine.models import Weights, model_method, select_device
    from training.evaluate import validate

    spec = SPECS[config.model]
    folder = Path(config.export_dir) if config.export_dir else WEIGHTS_DIR
    card_path = folder / f"{spec.name}.json"
    card = json.loads(card_path.read_text())
    weights = folder / f"{spec.name}.safetensors"
    method = model_method(spec, Weights(path=str(weights), identity=f"revalidate:{card['sha256']}"), card=card)
    device = select_device(config.device)
    metrics = validate(method, config.data_dir(), config.validation, device=str(device))
    card["training"].setdefault("metrics_at_training", card["metrics"])
    card["metrics"] = metrics
    card.update(conventions(config))  # as the engine now runs it
    card["notes"] = config.notes  # what a user must know, kept in the configuration with the figures it quotes
    card["training"]["data"] = data_card(config.data)  # as the card writes it now (the data are the configuration's)
    card["metrics_measured"] = {
        "engine_version": __version__,
        "torch_version": torch.__version__,
        "hardware": _hardware(device),
        "command": f"despeckle train {card['training']['config'] or config.source} --revalidate",
    }
    temporary = card_path.with_suffix(".partial")
    temporary.write_text(json.dumps(card, indent=2) + "\n")
    os.replace(temporary, card_path)
    return metrics
