"""Start-up: the commands that compute nothing import none of the numerical libraries, and the
lazy package still behaves as an eager one (accessor, registry, public names).

Timings are measured in ``benchmarks filters-vs-otb`` (its start-up row); here the property that
makes them small is checked: which modules a command imports.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

#: Libraries whose import takes 0.1-1.5 s each; a command that lists or explains needs none.
HEAVY = ("dask", "xarray", "rioxarray", "rasterio", "numba", "scipy", "pandas", "torch", "zarr", "distributed")


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("argv", [["--help"], ["methods", "--json"], ["methods"], ["methods", "lee-sigma"], ["methods", "quegan"], ["bogus"]])
def test_listing_commands_import_no_numerical_library(argv: list[str]) -> None:
    out = _python(f"""
        import contextlib, io, json, sys
        from engine.cli import main
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                main({argv!r})
            except SystemExit:
                pass
        print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
    """)
    assert json.loads(out.splitlines()[-1]) == []


def test_the_contract_lists_every_method_without_loading_their_code() -> None:
    out = _python("""
        import contextlib, io, json, sys
        from engine.cli import main
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            main(["methods", "--json"])
        contract = json.loads(buffer.getvalue())
        kernels = [m for m in sys.modules if m.startswith(("engine.filters._", "engine.stack._"))]
        print(json.dumps({"methods": [m["name"] for m in contract["methods"]], "stack": [m["name"] for m in contract["stack_methods"]],
                          "loaded": sorted(kernels)}))
    """)
    found = json.loads(out.splitlines()[-1])
    assert {"lee", "frost", "lee-sigma", "refined-lee", "median", "looks-unet", "ultrasound-unet"} <= set(found["methods"])
    assert found["stack"] == ["quegan", "ratio"]
    # only the catalogs: the filters' numba kernels and the stack computations are imported when they run
    assert found["loaded"] == ["engine.filters._catalog", "engine.stack._catalog"]


@pytest.mark.parametrize("first", ["engine", "xarray", "rioxarray"])
def test_the_accessor_is_registered_whichever_is_imported_first(first: str) -> None:
    """``import engine`` registers ``.despeckle`` when xarray is imported, also from inside
    another package's import of it (rioxarray imports xarray), and only once."""
    others = [m for m in ("engine", "rioxarray", "xarray") if m != first]
    out = _python(f"""
        import warnings
        warnings.simplefilter("error")  # a second registration would warn (AccessorRegistrationWarning)
        import {first}
        import {others[0]}
        import {others[1]}
        import importlib, numpy as np, xarray as xr
        importlib.reload(xr)
        da = xr.DataArray(np.full((24, 24), 2.0, np.float32), dims=("y", "x"), attrs={{"domain": "intensity"}})
        print(float(da.despeckle(method="boxcar", window_size_px=3).mean()), hasattr(xr.Dataset, "despeckle"))
    """)
    assert out.split() == ["2.0", "True"]


def test_model_specs_reached_first_still_register_every_catalog_in_order() -> None:
    """The stack methods offer every single-image SAR method by name: whichever public name is
    reached first, the catalogs load in their order (filters, models, stack methods)."""
    out = _python("""
        import json
        from engine.models import SPECS
        from engine.methods import get_stack_method
        ratio = next(p for p in get_stack_method("ratio").parameters if p.name == "ratio_method")
        print(json.dumps({"specs": sorted(name for name, spec in SPECS.items() if "sar" in spec.imagery), "choices": list(ratio.choices)}))
    """)
    found = json.loads(out.splitlines()[-1])
    assert found["specs"] and set(found["specs"]) <= set(found["choices"])
    assert {"auto", "lee", "boxcar"} <= set(found["choices"])


def test_deferred_kernels_pickle_by_name_and_refuse_malformed_names() -> None:
    import pickle

    from engine.methods import Deferred, get_method

    kernel = get_method("lee").kernel
    assert isinstance(kernel, Deferred)
    assert pickle.loads(pickle.dumps(kernel)) == kernel
    with pytest.raises(ValueError, match="module:attribute"):
        Deferred("engine.filters._frost.frost_kernel")


def test_the_engine_reloaded_before_xarray_still_lets_xarray_import_once() -> None:
    """Two hooks waiting for xarray (the engine reloaded, as %autoreload does) chain: xarray
    imports, the accessor is registered, once."""
    out = _python("""
        import importlib, warnings
        warnings.simplefilter("error")
        import engine
        importlib.reload(engine)
        import xarray as xr, numpy as np
        importlib.reload(xr)
        da = xr.DataArray(np.full((16, 16), 3.0, np.float32), dims=("y", "x"), attrs={"domain": "intensity"})
        print(float(da.despeckle(method="boxcar", window_size_px=3).mean()))
    """)
    assert out.split() == ["3.0"]
