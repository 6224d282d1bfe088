"""despeckle's engine: stream huge speckled scenes through classical filters and deep models.

``open_scene`` -> ``despeckle`` (lazy) -> ``write_scene``, or ``despeckle_file`` for the whole
file-to-file run. The public names below are imported on first use (the command line starts in a
fraction of a second), the methods are registered on the registry's first use, and the
``.despeckle`` accessor of xarray objects as soon as xarray is imported.

Examples
--------
>>> import engine
>>> "lee" in engine.list_methods()
True
"""

import importlib as _importlib

import lazy_loader as _lazy

from engine._import_hooks import when_imported as _when_imported

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    # engine.stack, engine.slc...: imported on first access, as an eager package's would be there.
    submodules=["accessor", "bmode", "conventions", "demo", "display", "domain", "exceptions", "filters", "io", "methods",
                "metrics", "models", "overlap", "pipeline", "progress", "run", "scene", "scene_statistics", "scheduling", "slc",
                "sources", "speckle", "stack", "synthetic", "ultrasound"],
    submod_attrs={
        "_options": ["get_option", "set_options"],
        "_version": ["__version__"],
        "domain": ["to_domain"],
        "io": ["describe_scene", "open_scene", "write_scene"],
        "methods": ["Method", "Parameter", "get_method", "list_methods", "list_stack_methods", "register_method"],
        "pipeline": ["despeckle"],
        "run": ["despeckle_file"],
        "scheduling": ["open_runner"],
        "stack": ["despeckle_stack", "open_stack"],
    },
)

# da.despeckle / ds.despeckle, registered as soon as xarray is imported (now, if it already is).
_when_imported("xarray", lambda _xarray: _importlib.import_module("engine.accessor"))
