"""Parameter declarations and window helpers shared by methods (filters and models), so each is
stated once, with the method contract."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.methods._parameters import Parameter


def window_size(default: int = 7, *, choices: tuple[int, ...] | None = None) -> Parameter:
    """The square window side in pixels (SNAP ``filterSizeX/Y``; OTB ``rad`` = (size - 1) / 2)."""
    return Parameter(
        "window_size_px",
        int,
        default,
        "side of the square moving window, in pixels (odd)",
        minimum=3,
        maximum=101,
        odd=True,
        choices=choices,
        snap="filterSizeX/filterSizeY",
        otb="rad = (window_size_px - 1) / 2",
    )


LOOKS = Parameter(
    "looks",
    float,
    1.0,
    "equivalent number of looks (ENL) of the input",
    minimum=0.1,
    maximum=10000.0,
    from_attr="looks",
    snap="enl / numLooksStr",
    otb="nblooks",
)


def window_radius(params: Mapping[str, Any]) -> int:
    """Halo of a filter whose output looks at one square window around the pixel."""
    return int(params["window_size_px"]) // 2


@dataclass(frozen=True)
class Deferred:
    """A function named ``"package.module:attribute"``, imported when first called.

    Registering a method then imports none of its numerical code (numba, dask, scipy, torch):
    listing the methods, the command line's help and QGIS's provider start in a fraction of a
    second. It pickles by its name, so dask.distributed workers import the function themselves.
    """

    target: str

    def __post_init__(self) -> None:
        if self.target.count(":") != 1:
            raise ValueError(f"a deferred function is named 'module:attribute', got {self.target!r}")

    def resolve(self) -> Callable[..., Any]:
        module, attribute = self.target.split(":")
        return getattr(importlib.import_module(module), attribute)  # type: ignore[no-any-return]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)
