"""One small exception hierarchy for everything the engine refuses.

Every error a user can cause derives from :class:`DespeckleError`; the ones about bad input also
derive from the matching builtin (``ValueError``, ``TypeError``, ``FileExistsError``), so generic
``except ValueError`` code keeps working. The CLI prints these without a traceback.
"""

from __future__ import annotations


class DespeckleError(Exception):
    """Base class of every error the engine raises on purpose."""


class InputError(DespeckleError, ValueError):
    """The input scene cannot be used: unreadable, truncated, invalid values, no valid pixels."""


class UnsupportedDtypeError(DespeckleError, TypeError):
    """The input's data type is not one the engine can process."""


class ParameterError(DespeckleError, ValueError):
    """A method, option or parameter value is not valid."""


class MethodUnavailableError(DespeckleError, RuntimeError):
    """The method exists but cannot run here (no trained weights, missing optional dependency)."""


class OutputError(DespeckleError, OSError):
    """The output cannot be written where asked (missing directory, not writable, same as input)."""


class OutputExistsError(OutputError, FileExistsError):
    """The output path exists and overwriting was not asked for."""


class DespeckleWarning(UserWarning):
    """Base class of the engine's warnings."""


class MissingGeoreferenceWarning(DespeckleWarning):
    """The scene has no CRS, transform or GCPs; the output will not be georeferenced either."""


class DomainAssumedWarning(DespeckleWarning):
    """The scene does not say whether it holds intensity, amplitude or dB; a default was assumed."""


class DisplayImageAssumedWarning(DomainAssumedWarning):
    """An 8-bit picture without a map was read as a display image (B-mode, OCT grey levels)."""


class ChunkSizeWarning(DespeckleWarning):
    """The requested chunking was changed because it cannot carry the method's halo."""


class NotSpeckleWarning(DespeckleWarning):
    """The input's values or statistics are not those of the speckle a method was made for (a
    SAR model given an 8-bit display image, or a scene far smoother than SAR speckle)."""


class MethodFallbackWarning(DespeckleWarning):
    """``method="auto"`` could not use the preferred model (no PyTorch, no weights) and fell
    back to a classical filter."""


class LooksAssumedWarning(DespeckleWarning):
    """A method that needs the number of looks assumed 1 for a scene that does not state it, and
    the scene's speckle measures clearly more (multi-looked data, such as Sentinel-1 GRD)."""


def warn_at_caller(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` pointed at the first frame outside the engine package: the user's own
    call, whichever way it went through the engine (the accessor, ``despeckle``, ``despeckle_file``,
    a stack method). Python 3.12's ``skip_file_prefixes`` does this; the engine supports 3.10."""
    import os
    import sys
    import warnings

    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    level, frame = 2, sys._getframe(1)  # level 2: the frame that called this function
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        level += 1
        frame = frame.f_back
    warnings.warn(message, category, stacklevel=level)
