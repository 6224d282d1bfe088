"""Deep despeckling models: registered methods that run PyTorch networks tile by tile.

``despeckle methods --kind model`` lists them; a model without installed weights (or without
PyTorch) is listed as not available instead of running with random weights. ``model_method``
binds a model to other weights (a training checkpoint) without registering it.
"""

from engine.models import _catalog as _catalog  # registers the models
from engine.models._catalog import FAST_CNN as FAST_CNN
from engine.models._catalog import LITE_UNET as LITE_UNET
from engine.models._catalog import LOOKS_UNET as LOOKS_UNET
from engine.models._catalog import MDN_CL as MDN_CL
from engine.models._catalog import SPECKLE2VOID as SPECKLE2VOID
from engine.models._catalog import SPECKLE2VOID_ULTRASOUND as SPECKLE2VOID_ULTRASOUND
from engine.models._halo import measure_halo as measure_halo
from engine.models._spec import ModelSpec as ModelSpec
from engine.models._spec import model_method as model_method
from engine.models._weights import Weights as Weights

SPECS = {spec.name: spec for spec in (FAST_CNN, LITE_UNET, LOOKS_UNET, SPECKLE2VOID, SPECKLE2VOID_ULTRASOUND, MDN_CL)}

__all__ = ["FAST_CNN", "LITE_UNET", "LOOKS_UNET", "MDN_CL", "SPECKLE2VOID", "SPECKLE2VOID_ULTRASOUND", "SPECS", "ModelSpec", "Weights", "measure_halo", "model_method"]
