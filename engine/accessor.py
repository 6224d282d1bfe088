"""``da.despeckle(...)`` and ``ds.despeckle(...)``: stateless delegates to :func:`engine.despeckle`,
or to :func:`engine.despeckle_stack` when the method is a stack method (``quegan``, ``ratio``)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import xarray as xr

from engine.exceptions import ParameterError
from engine.methods import is_stack_method


def _despeckle(data: xr.DataArray, method: str | None, parameters: dict[str, Any]) -> xr.DataArray:
    # Imported here: this module is imported as soon as xarray is (see engine/__init__), maybe in
    # the middle of another package's import of xarray, so it imports nothing else at its top.
    from engine.pipeline import despeckle
    from engine.stack import despeckle_stack

    if is_stack_method(method):
        return despeckle_stack(data, method, **parameters)
    return despeckle(data, method, **parameters)


@xr.register_dataarray_accessor("despeckle")
class DespeckleDataArrayAccessor:
    """Despeckle a DataArray: ``da.despeckle(method="lee", window_size_px=7)``.

    Lazy in, lazy out; coordinates, CRS and attributes are kept and provenance is added.
    See :func:`engine.despeckle` for the parameters. On a stack of dates (a ``time`` dimension,
    :func:`engine.open_stack`), a stack method despeckles every date:
    ``stack.despeckle(method="quegan", spatial="refined-lee")`` (:func:`engine.despeckle_stack`).

    Examples
    --------
    >>> import numpy as np, xarray as xr, engine
    >>> da = xr.DataArray(np.ones((32, 32), "float32"), dims=("y", "x"), attrs={"domain": "intensity"})
    >>> float(da.despeckle(method="boxcar", window_size_px=3).mean())
    1.0
    """

    def __init__(self, obj: xr.DataArray) -> None:
        self._obj = obj

    def __call__(self, method: str | None = None, **parameters: Any) -> xr.DataArray:
        return _despeckle(self._obj, method, parameters)


@xr.register_dataset_accessor("despeckle")
class DespeckleDatasetAccessor:
    """Despeckle the raster variables of a Dataset: ``ds.despeckle(method="lee")``.

    Every data variable whose last two dimensions are spatial (2-D or more) is despeckled;
    ``variables=[...]`` picks some. Other variables are kept unchanged.
    """

    def __init__(self, obj: xr.Dataset) -> None:
        self._obj = obj

    def __call__(
        self, method: str | None = None, *, variables: Iterable[Hashable] | None = None, **parameters: Any
    ) -> xr.Dataset:
        if isinstance(variables, (str, bytes)) or (variables is not None and not isinstance(variables, Iterable)):
            variables = [variables]  # one name, not the letters of a name
        names = list(variables) if variables is not None else [n for n, v in self._obj.data_vars.items() if v.ndim >= 2]
        missing = [n for n in names if n not in self._obj.data_vars]
        if missing:
            raise ParameterError(f"no data variable(s) {missing}; the dataset has {list(self._obj.data_vars)}")
        out = self._obj.copy()
        for name in names:
            out[name] = _despeckle(self._obj[name], method, parameters)
        return out
