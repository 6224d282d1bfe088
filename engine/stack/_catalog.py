"""The stack methods as the registry sees them (``quegan``, ``ratio``): names, parameters,
halos and descriptions. Their computations (``_quegan``, ``_ratio``) import dask and xarray
and are loaded when a stack is despeckled, not when the methods are listed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.methods import (
    Deferred,
    Parameter,
    StackMethod,
    choose_method,
    get_method,
    list_methods,
    register_stack_method,
)

#: The ratio method's choice for "keep the plain temporal mean".
NO_DESPECKLING = "none"

TEMPORAL_WINDOW = Parameter(
    "temporal_window",
    int,
    0,
    "dates combined for each date: the N nearest in time, itself included (0: every date). A window keeps a "
    "change from being smeared over years of dates",
    minimum=0,
    maximum=100000,
)


def filter_choices() -> tuple[str, ...]:
    return tuple(list_methods(kind="filter"))


def single_image_choices(*extra: str) -> tuple[str, ...]:
    """``auto`` (the best available model, else lee), ``extra``, then every single-image method
    meant for SAR (the ratios and the super-image are SAR intensities, never display images).
    A retired method's name is not offered; given anyway, it is told why it was retired
    (:meth:`StackMethod.resolve`). QGIS saves these choices by name, not by position."""
    return ("auto", *extra, *list_methods(imagery="sar"))


def resolved_name(name: str) -> str:
    """The single-image method ``name`` runs here (``auto`` resolved)."""
    return choose_method(name).name


def method_halo(method: str, parameters: Mapping[str, Any]) -> int:
    chosen = get_method(method)
    return chosen.halo_px(chosen.resolve(parameters, {}))


QUEGAN = register_stack_method(StackMethod(
    name="quegan",
    title="Quegan-Yu multi-temporal filter",
    run=Deferred("engine.stack._quegan:run_quegan"),
    halo=lambda p: method_halo(p["spatial"], {}),
    parameters=(
        Parameter("spatial", str, "boxcar", "the single-image filter that estimates each date's local mean E[I]",
                  choices=filter_choices()),
        TEMPORAL_WINDOW,
    ),
    description=(
        "Each date becomes its local mean times the average, over the dates, of every date's ratio to its own local "
        "mean (Quegan & Yu 2001): on a stationary scene the speckle variance drops by about the number of dates, "
        "at full resolution, and each date keeps its own radiometry, so changes stay. Dates without a pixel at a "
        "place are left out there. The local mean is any of the engine's filters (boxcar as in OTB/S1Tiling; "
        "refined-lee or lee-sigma keep edges sharper); a temporal window averages only the N nearest dates."
    ),
    references=(
        "S. Quegan and J. J. Yu, Filtering of multichannel SAR images, IEEE TGRS 39(11), 2001.",
        "S. Quegan, T. Le Toan, J. J. Yu, F. Ribbes, N. Floury, Multitemporal ERS SAR analysis applied to forest "
        "mapping, IEEE TGRS 38(2), 2000.",
    ),
))


def _settle(p: dict[str, Any]) -> dict[str, Any]:
    settled = {**p, "ratio_method": resolved_name(p["ratio_method"])}
    if p["super_image_method"] != NO_DESPECKLING:
        settled["super_image_method"] = resolved_name(p["super_image_method"])
    return settled


def _halo(p: Mapping[str, Any]) -> int:
    reach = [method_halo(resolved_name(p["ratio_method"]), {})]
    if p["super_image_method"] != NO_DESPECKLING:
        reach.append(method_halo(resolved_name(p["super_image_method"]), {}))
    return sum(reach)


RATIO = register_stack_method(StackMethod(
    name="ratio",
    title="Ratio to the temporal super-image, despeckled (RABASAR-style)",
    run=Deferred("engine.stack._ratio:run_ratio"),
    halo=_halo,
    settle=_settle,
    parameters=(
        Parameter("ratio_method", str, "auto",
                  "the single-image method that despeckles each date's ratio to the super-image (auto: the best available "
                  "model, else lee)", choices=single_image_choices()),
        Parameter("super_image_method", str, "auto",
                  "the single-image method that despeckles the super-image, told its looks (dates x looks); 'none' keeps "
                  "the plain temporal mean", choices=single_image_choices(NO_DESPECKLING)),
        TEMPORAL_WINDOW,
    ),
    description=(
        "The temporal super-image (mean intensity of the dates, N x L looks) is despeckled, each date's ratio to it "
        "(speckle times what changed: nearly stationary) is despeckled by a single-image method, and the two are "
        "multiplied back. Stronger than Quegan's filter where the scene does not change; changes are kept as the "
        "ratio shows them."
    ),
    references=(
        "W. Zhao, C.-A. Deledalle, L. Denis, H. Maitre, J.-M. Nicolas, F. Tupin, Ratio-based multitemporal SAR images "
        "denoising: RABASAR, IEEE TGRS 57(6), 2019.",
    ),
))
