"""How the engine's shipped models are trained: ``despeckle train CONFIG.yaml`` or
``python -m training CONFIG.yaml``, configurations in ``training/configs/``.

The engine never imports this package; this package imports the engine.
"""
