"""The engine's deep models: declared here, registered as methods at import (torch not needed
until one runs). Each description says how the network differs from its publication."""

from __future__ import annotations

from dataclasses import replace

from engine.methods import retire_method
from engine.models._spec import ModelSpec, register_model

# fast-cnn (a 47 k-parameter dilated CNN, the first CPU model) was slower than looks-unet on a CPU
# and less accurate at every number of looks (benchmarks speed and sar-synthetic, stops 17-21).
retire_method(
    "fast-cnn",
    "looks-unet is faster on a CPU and more accurate at every number of looks (1-look as well); use "
    "looks-unet (or 'auto', the default, which picks it)",
)

LITE_UNET = register_model(
    ModelSpec(
        name="lite-unet",
        title="Lite U-Net (CPU)",
        network="engine.models.nets.lite_unet:LiteUNet",
        config="engine.models.nets.lite_unet:LiteUNetConfig",
        halo_px=66,  # the exact receptive field, largest over the 8 positions within the stride
        stride_px=8,
        activation_bytes_per_px=450,  # largest of repeated benchmarks/models.py probes (fp32, CPU)
        description=(
            "A small log-domain U-Net for computers without a GPU (1.3 M parameters, 0.08 MMAC "
            "per pixel): 16 channels at full resolution and most of its capacity at 1/2, 1/4 "
            "and 1/8 resolution, which gives single-look speckle the context it needs. See "
            "engine/models/nets/lite_unet.py."
        ),
        preferred_chunk_px=1024,
        maturity_note="trained for 1-look, spatially white speckle: the best model there; for multi-look or "
                      "GRD scenes use looks-unet",
    )
)

LOOKS_UNET = register_model(
    ModelSpec(
        name="looks-unet",
        title="Looks-aware U-Net (any number of looks, GRD and SLC)",
        network="engine.models.nets.looks_unet:LooksUNet",
        config="engine.models.nets.looks_unet:LooksUNetConfig",
        halo_px=66,  # the layout of lite-unet: the same receptive field
        stride_px=8,
        activation_bytes_per_px=450,
        description=(
            "A small log-domain U-Net told the equivalent number of looks of its input (from the "
            "scene's metadata, the looks parameter, or the engine's estimate): it was trained on "
            "1 to 16 looks, white and GRD-like correlated speckle (band-limited, multilooked, "
            "resampled), so it smooths single-look SLC and multi-look GRD each as much as they "
            "need. 0.7 M parameters, the fastest model on a CPU."
        ),
        uses_looks=True,
        looks_conditioned=True,
        preferred_chunk_px=1024,
    )
)

SPECKLE2VOID = register_model(
    ModelSpec(
        name="speckle2void",
        title="Speckle2Void (blind-spot, self-supervised)",
        network="engine.models.nets.speckle2void:Speckle2Void",
        config="engine.models.nets.speckle2void:Speckle2VoidConfig",
        halo_px=31,  # 2 * (1+1+1+2+2+2+2+4) rows above the pixel, plus the one-row shift
        activation_bytes_per_px=1850,  # largest of repeated benchmarks/models.py probes (fp32, CPU)
        description=(
            "Blind-spot network trained without clean references (Molini et al. 2022): four "
            "rotated half-plane receptive fields that exclude the pixel predict an inverse-Gamma "
            "prior, and the output is the Bayesian posterior mean (beta + L y) / (alpha + L - 1) "
            "under L-look Gamma speckle. It needs spatially uncorrelated speckle: decorrelate "
            "SLC data first. Unlike the published U-Net, the half-plane stacks use dilation instead of "
            "pooling, so the reach is finite and exact (31 pixels)."
        ),
        references=(
            "A. B. Molini, D. Valsesia, G. Fracastoro, E. Magli, 'Speckle2Void: deep self-supervised "
            "SAR despeckling with blind-spot convolutional neural networks', IEEE TGRS 60, 2022.",
        ),
        needs_gpu=True,
        uses_looks=True,
        decorrelated_input=True,
        maturity="experimental",
        maturity_note="self-supervised on real 1-look SLC; about ten times slower than looks-unet on a CPU: GPU "
                      "recommended. Below the supervised models on the synthetic and real benchmarks",
    )
)

# The same network, trained on ultrasound: its own name, so that both sets of weights can ship.
SPECKLE2VOID_ULTRASOUND = register_model(
    replace(
        SPECKLE2VOID,
        name="speckle2void-ultrasound",
        title="Speckle2Void trained on ultrasound (blind-spot, self-supervised)",
        imagery=("ultrasound",),
        description=(
            "The Speckle2Void network trained on ultrasound instead of SAR: beamformed in-vivo "
            "channel RF (complex IQ), decorrelated like SLC, with the blind spot widened to the "
            "nearest neighbours because lateral speckle stays correlated after whitening. Meant "
            "for beamformed RF/IQ data; scan-converted B-mode images carry no phase to decorrelate."
        ),
        maturity="study",
        maturity_note="kept for the ultrasound comparison (benchmarks ultrasound): a blind-spot model trained on "
                      "one beamformed RF frame of one muscle, not for production; for B-mode and OCT images use ultrasound-unet",
    )
)

# A CPU U-Net made for display images: log-compressed, 8-bit, scan-converted B-mode and OCT.
ULTRASOUND_UNET = register_model(
    ModelSpec(
        name="ultrasound-unet",
        title="U-Net for B-mode ultrasound and OCT images",
        network="engine.models.nets.lite_unet:LiteUNet",
        config="engine.models.nets.lite_unet:LiteUNetConfig",
        config_overrides={"widths": (12, 24, 48, 128), "convolutions": (1, 2, 3, 3)},  # looks-unet's layout
        halo_px=66,
        stride_px=8,
        activation_bytes_per_px=450,
        description=(
            "A small log-domain U-Net (looks-unet's layout, 0.7 M parameters) trained on simulated "
            "B-mode images with a speckle-free reference: tissue phantoms and natural textures "
            "imaged with random point-spread functions (1-8 px grain, tilted as in sector scans), "
            "40-80 dB log compression, 8-bit grey levels, interpolation blur and JPEG. It despeckles "
            "display images (PNG/JPEG/BMP, domain 'display') and beamformed RF/IQ; the output keeps the "
            "grey level of speckle regions and stays in the display's range."
        ),
        imagery=("ultrasound",),
        display_native=True,
        preferred_chunk_px=1024,
    )
)

MDN_CL = register_model(
    ModelSpec(
        name="mdn-cl",
        title="MDN with contrastive speckle-aware encoder",
        network="engine.models.nets.mdn_cl:MDN",
        config="engine.models.nets.mdn_cl:MDNConfig",
        halo_px=96,
        stride_px=16,
        activation_bytes_per_px=1500,  # above the largest of repeated benchmarks/models.py probes, 1445 (fp32, CPU)
        description=(
            "The multi-scale despeckling network with excitation-aggregation pooling and a "
            "contrastive speckle-aware encoder (ISPRS J. 2024), made tile-local: channel "
            "attention, softmax pooling and row/column means over local windows instead of the "
            "whole image, the speckle representation at a fixed 16-pixel stride instead of a "
            "fixed 32x32 grid, scene-median normalisation instead of per-image min-max, and the "
            "contrastive encoder run once per pass. Like looks-unet it is told the equivalent "
            "number of looks of its input (FiLM on every block) and was trained on 1 to 16 looks, "
            "white and GRD-like correlated speckle. See engine/models/nets/mdn_cl.py."
        ),
        references=(
            "Contrastive learning for SAR despeckling (MDN with excitation-aggregation pooling and "
            "a speckle-aware contrastive encoder), ISPRS Journal of Photogrammetry and Remote "
            "Sensing, 2024.",
        ),
        needs_gpu=True,
        uses_looks=True,
        looks_conditioned=True,
        preferred_chunk_px=2048,
        maturity="experimental",
        maturity_note="the contrastive MDN of the ISPRS 2024 paper, told the looks, trained on 2 CPU cores on a short "
                      "schedule: 0.1-0.45 dB below looks-unet at every number of looks (benchmarks sar-synthetic) and about "
                      "twenty times slower on a CPU; GPU recommended",
    )
)

#: Every registered model's spec, by name (training and benchmarks look them up here).
SPECS = {spec.name: spec for spec in (LITE_UNET, LOOKS_UNET, SPECKLE2VOID, SPECKLE2VOID_ULTRASOUND, ULTRASOUND_UNET, MDN_CL)}
