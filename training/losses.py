"""Training losses."""

from __future__ import annotations

import torch
import torch.nn.functional as F

_SOBEL = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def sobel(x: torch.Tensor) -> torch.Tensor:
    """Horizontal and vertical Sobel gradients, (N, 2, H-2, W-2)."""
    kernel = torch.stack([_SOBEL, _SOBEL.T])[:, None].to(x)
    return F.conv2d(x, kernel)


def l1_gradient(prediction: torch.Tensor, target: torch.Tensor, *, gradient_weight: float) -> torch.Tensor:
    """L1 between log-domain images plus the MSE of their Sobel gradients (sharp edges)."""
    return F.l1_loss(prediction, target) + gradient_weight * F.mse_loss(sobel(prediction), sobel(target))


def nt_xent(embeddings: torch.Tensor, *, temperature: float) -> torch.Tensor:
    """Normalised-temperature cross entropy (SimCLR) for pairs: rows 2k and 2k+1 are positives,
    every other row of the batch a negative. ``embeddings`` are L2-normalised."""
    n = embeddings.shape[0]
    if n % 2:
        raise ValueError("NT-Xent needs an even batch of pairs")
    similarity = embeddings @ embeddings.T / temperature
    similarity = similarity.masked_fill(torch.eye(n, dtype=torch.bool, device=embeddings.device), float("-inf"))
    partner = torch.arange(n, device=embeddings.device) ^ 1
    return F.cross_entropy(similarity, partner)


def blindspot_nll(
    alpha: torch.Tensor, beta: torch.Tensor, y: torch.Tensor, looks: torch.Tensor, weight: torch.Tensor
) -> torch.Tensor:
    """Negative log-likelihood of intensity y under L-look Gamma speckle with an inverse-Gamma
    (alpha, beta) prior on the reflectivity, i.e. of the compound marginal
    p(y) = L^L y^(L-1) beta^alpha Gamma(L + alpha) / (Gamma(L) Gamma(alpha) (beta + L y)^(L + alpha)).
    Pixels with ``weight`` 0 (point targets) are left out."""
    log_p = (
        looks * torch.log(looks)
        + (looks - 1.0) * torch.log(y)
        + alpha * torch.log(beta)
        + torch.lgamma(looks + alpha)
        - torch.lgamma(looks)
        - torch.lgamma(alpha)
        - (looks + alpha) * torch.log(beta + looks * y)
    )
    return -(log_p * weight).sum() / weight.sum().clamp_min(1.0)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()
