"""Deep despeckling models: registered methods that run PyTorch networks tile by tile.

``despeckle methods --kind model`` lists them; a model without installed weights (or without
PyTorch) is listed as not available instead of running with random weights. ``model_method``
binds a model to other weights (a training checkpoint) without registering it. The runtime's
pieces that training and benchmarks use (device choice, network loading, window layout, weights
and cards, reach measurement) are public here; the modules behind them are private.
"""

import lazy_loader as _lazy

#: Names the catalog defines (the registered models' specs).
_CATALOG_NAMES = ["LITE_UNET", "LOOKS_UNET", "MDN_CL", "SPECKLE2VOID", "SPECKLE2VOID_ULTRASOUND", "SPECS", "ULTRASOUND_UNET"]

# Public names, imported on first use: registering the models (``_catalog``, loaded by the method
# registry) needs neither PyTorch nor scipy; running one does.
_getattr, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "_catalog": _CATALOG_NAMES,
        "_halo": ["measure_halo", "probe_size_px"],
        "_runtime": ["DEFAULT_BATCH", "INPUT_CONVENTION", "autocast_dtype", "load_network", "memory_budget", "select_device"],
        "_spec": ["ModelSpec", "declared_halo", "model_method"],
        "_weights": ["WEIGHTS_DIR", "Weights", "load_card", "sha256"],
        "_windows": ["Span", "plan_windows"],
    },
)


def __getattr__(name: str) -> object:
    if name in _CATALOG_NAMES:
        # Through the registry, which loads every catalog in its order (the stack methods offer
        # the models by name, so they must find all of them registered).
        from engine.methods import load_catalogs

        load_catalogs()
    return _getattr(name)
