"""Dates of a stack: read from file names, put in order, and which dates a temporal window keeps."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine.exceptions import ParameterError

# 20150309, 20150309T173017 (Sentinel-1, S1Tiling, SNAP names) or 2015-03-09: not inside a longer number.
_DATE = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?:T(\d{2})(\d{2})(\d{2}))?(?!\d)")


def date_in_name(path: Path) -> np.datetime64 | None:
    """The first plausible acquisition date in a file name (``S1A_..._20150309T173017_...``), or None."""
    for match in _DATE.finditer(path.name):
        year, month, day, hour, minute, second = match.groups()
        text = f"{year}-{month}-{day}" + (f"T{hour}:{minute}:{second}" if hour else "")
        try:
            value = np.datetime64(text, "s")
        except ValueError:
            continue
        if 1950 <= int(year) <= 2200:
            return value
    return None


def temporal_weights(times: Sequence[float], window: int) -> np.ndarray:
    """``W[k, t] = 1`` when date ``t`` is among the ``window`` dates nearest in time to date ``k``
    (itself included; ties go to the earlier date); every date when ``window`` is 0 or covers them
    all. ``times`` in any increasing unit (days, or the dates' order when they are unknown)."""
    count = len(times)
    if window < 0:
        raise ParameterError(f"temporal_window must be 0 (every date) or a number of dates, got {window}")
    if window == 0 or window >= count:
        return np.ones((count, count), dtype=np.float32)
    values = np.asarray(times, dtype=np.float64)
    weights = np.zeros((count, count), dtype=np.float32)
    for k in range(count):
        order = np.lexsort((np.arange(count), np.abs(values - values[k])))
        weights[k, order[:window]] = 1.0
    return weights


def time_values(times: np.ndarray) -> np.ndarray:
    """The time coordinate as days (datetimes) or as given (numbers): what windows measure."""
    if np.issubdtype(times.dtype, np.datetime64):
        return (times - times[0]) / np.timedelta64(1, "D")
    return times.astype(np.float64)
