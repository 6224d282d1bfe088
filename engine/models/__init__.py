"""Deep despeckling models: registered methods that run PyTorch networks tile by tile.

``despeckle methods --kind model`` lists them; a model without installed weights (or without
PyTorch) is listed as not available instead of running with random weights. ``model_method``
binds a model to other weights (a training checkpoint) without registering it. The runtime's
pieces that training and benchmarks use (device choice, network loading, window layout, weights
and cards, reach measurement) are public here; the modules behind them are private.
"""

from engine.models import _catalog as _catalog  # registers the models
from engine.models._catalog import FAST_CNN as FAST_CNN
from engine.models._catalog import LITE_UNET as LITE_UNET
from engine.models._catalog import LOOKS_UNET as LOOKS_UNET
from engine.models._catalog import MDN_CL as MDN_CL
from engine.models._catalog import SPECKLE2VOID as SPECKLE2VOID
from engine.models._catalog import SPECKLE2VOID_ULTRASOUND as SPECKLE2VOID_ULTRASOUND
from engine.models._catalog import ULTRASOUND_UNET as ULTRASOUND_UNET
from engine.models._halo import measure_halo as measure_halo
from engine.models._halo import probe_size_px as probe_size_px
from engine.models._runtime import DEFAULT_BATCH as DEFAULT_BATCH
from engine.models._runtime import INPUT_CONVENTION as INPUT_CONVENTION
from engine.models._runtime import autocast_dtype as autocast_dtype
from engine.models._runtime import load_network as load_network
from engine.models._runtime import memory_budget as memory_budget
from engine.models._runtime import select_device as select_device
from engine.models._spec import ModelSpec as ModelSpec
from engine.models._spec import declared_halo as declared_halo
from engine.models._spec import model_method as model_method
from engine.models._weights import WEIGHTS_DIR as WEIGHTS_DIR
from engine.models._weights import Weights as Weights
from engine.models._weights import load_card as load_card
from engine.models._weights import sha256 as sha256
from engine.models._windows import Span as Span
from engine.models._windows import plan_windows as plan_windows

SPECS = {spec.name: spec for spec in (FAST_CNN, LITE_UNET, LOOKS_UNET, SPECKLE2VOID, SPECKLE2VOID_ULTRASOUND, ULTRASOUND_UNET, MDN_CL)}

__all__ = [
    "DEFAULT_BATCH", "FAST_CNN", "INPUT_CONVENTION", "LITE_UNET", "LOOKS_UNET", "MDN_CL", "SPECKLE2VOID", "SPECKLE2VOID_ULTRASOUND", "SPECS", "ULTRASOUND_UNET",
    "WEIGHTS_DIR", "ModelSpec", "Span", "Weights", "autocast_dtype", "declared_halo", "load_card", "load_network", "measure_halo",
    "memory_budget", "model_method", "plan_windows", "probe_size_px", "select_device", "sha256",
]
