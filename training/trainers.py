"""One optimisation step per trainer and phase: batch in, loss (and its parts) out.

- ``supervised`` / phase ``despeckle``: noisy log intensity -> clean log intensity, L1 + Sobel.
- ``contrastive``: the MDN's three phases. ``contrastive-clean``: the contrastive encoder alone,
  NT-Xent on two crops of the same clean region. ``contrastive-noisy``: the same on speckled
  crops (each crop with its own speckle). ``joint``: despeckling loss plus NT-Xent on the
  despeckling batch's representation.
- ``blindspot``: the inverse-Gamma/Gamma likelihood of the pixels the network did not see, plus
  optional total variation of the posterior mean.

Inputs are normalised as the engine does at inference: log(I / median of the noisy patch).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from training.config import TrainConfig
from training.data import Batch, PatchSampler
from training.losses import blindspot_nll, l1_gradient, nt_xent, total_variation


def normalised_log(noisy: np.ndarray, reference: np.ndarray | None = None) -> tuple[torch.Tensor, np.ndarray]:
    """log(noisy / reference), the network's input; ``reference`` defaults to each patch's median."""
    medians = np.median(noisy, axis=(1, 2, 3), keepdims=True) if reference is None else reference
    return torch.from_numpy(np.log(np.maximum(noisy, medians * 1e-6) / medians).astype(np.float32)), medians


def _despeckle_loss(network: Any, batch: Batch, config: TrainConfig, device: Any) -> tuple[torch.Tensor, Any]:
    x, medians = normalised_log(batch.noisy, batch.reference)
    target = torch.from_numpy(np.log(batch.clean / medians).astype(np.float32)).to(device)
    x = x.to(device)
    looks = torch.from_numpy(batch.looks).to(device)
    if hasattr(network, "contrastive"):
        representation = network.contrastive(x)
        prediction = network.body(x, looks, representation)
    elif getattr(network, "conditioned_on_looks", False):
        representation = None
        prediction = network.body(x, looks)
    else:
        representation = None
        prediction = network.body(x)
    return l1_gradient(prediction, target, gradient_weight=config.loss.gradient_weight), representation


def step(network: Any, phase: str, sampler: PatchSampler, config: TrainConfig, device: Any) -> dict[str, torch.Tensor]:
    """The loss of one batch for ``phase``, with its named parts (all scalars)."""
    if config.trainer == "blindspot":
        batch = sampler.batch()
        x, medians = normalised_log(batch.noisy, batch.reference)
        x = x.to(device)
        raw = network.body(x, hide_vertical=config.loss.hide_vertical)
        alpha, beta = network.prior(raw.float())
        y = torch.exp(x)
        looks = torch.from_numpy(batch.looks).to(device)[:, None, None, None]
        nll = blindspot_nll(alpha, beta, y, looks, torch.from_numpy(batch.weight).to(device))
        parts = {"nll": nll}
        if config.loss.tv_weight:
            parts["tv"] = config.loss.tv_weight * total_variation(network.finish(raw, x, 1.0).log())
        return {"loss": sum(parts.values()), **parts}

    if phase in ("contrastive-clean", "contrastive-noisy"):
        batch = sampler.batch(crops=2)
        images = batch.clean if phase == "contrastive-clean" else batch.noisy
        x, _ = normalised_log(images)
        encoder = network.contrastive
        loss = nt_xent(encoder.embed(encoder(x.to(device))), temperature=config.loss.temperature)
        return {"loss": loss, "nt_xent": loss}

    if phase == "joint":
        batch = sampler.batch(crops=2)
        despeckle, representation = _despeckle_loss(network, batch, config, device)
        contrastive = nt_xent(network.contrastive.embed(representation), temperature=config.loss.temperature)
        return {"loss": despeckle + config.loss.contrastive_weight * contrastive, "despeckle": despeckle, "nt_xent": contrastive}

    if phase == "despeckle":
        loss, _ = _despeckle_loss(network, sampler.batch(), config, device)
        return {"loss": loss, "despeckle": loss}
    raise ValueError(f"unknown phase {phase!r}; phases: despeckle, contrastive-clean, contrastive-noisy, joint")
