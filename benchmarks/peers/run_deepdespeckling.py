"""Run a published deep despeckler from the PyPI package ``deepdespeckling`` on one image.

Executed by the Python of the peers' own virtual environment (``make peers-venv``), never
imported by the engine: ``deepdespeckling`` pins its own torch and OpenCV.

    python run_deepdespeckling.py MODEL INPUT.npy OUTPUT.npy

MODEL is ``spotlight`` or ``stripmap`` (MERLIN; INPUT is (rows, cols, 2) real/imaginary SLC) or
``sar2sar`` (INPUT is detected amplitude). OUTPUT is the despeckled amplitude, float32.
"""

import sys

import numpy as np


def main() -> int:
    model, source, target = sys.argv[1:4]
    from deepdespeckling.utils.constants import PATCH_SIZE, STRIDE_SIZE

    image = np.load(source)
    patch = min(PATCH_SIZE, 2 ** int(np.log2(min(image.shape[:2]))))
    stride = STRIDE_SIZE if patch == PATCH_SIZE else patch // 2
    if model == "sar2sar":
        import torch
        from deepdespeckling.sar2sar.sar2sar_denoiser import Sar2SarDenoiser

        # The packaged SAR2SAR checkpoint stores NumPy scalars, which torch >= 2.6 refuses to
        # unpickle by default; it comes from the installed package, so they are allowed here.
        scalar = getattr(np, "_core", np.core).multiarray.scalar
        torch.serialization.add_safe_globals([(scalar, "numpy.core.multiarray.scalar"), np.dtype, type(np.dtype(np.float64))])

        amplitude = Sar2SarDenoiser().denoise_image(image.astype(np.float32), patch, stride)["denoised"]
    else:
        from deepdespeckling.merlin.merlin_denoiser import MerlinDenoiser

        amplitude = MerlinDenoiser(model_name=model, symetrise=True).denoise_image(image.astype(np.float32), patch, stride)["denoised"]["full"]
    np.save(target, np.asarray(amplitude, dtype=np.float32))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
