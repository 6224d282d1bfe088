"""The plugin only registers the Processing provider; the algorithms live in the provider."""

import os
import sys

from qgis.core import Qgis, QgsApplication, QgsMessageLog

from .provider import DespeckleProvider


class DespecklePlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None

    def initProcessing(self):  # noqa: N802 - QGIS API
        warn_about_activated_environment()
        self.provider = DespeckleProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802 - QGIS API
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None


def warn_about_activated_environment():
    """QGIS started from a shell with a virtual environment activated (often the engine's own)
    may load that environment's packages instead of its own: said, not crashed on. The engine is
    unaffected: it always runs in its own environment, without QGIS's or the shell's Python paths."""
    active = os.environ.get("VIRTUAL_ENV")
    if active and not os.path.realpath(sys.prefix).startswith(os.path.realpath(active)):
        QgsMessageLog.logMessage(
            f"QGIS was started with the virtual environment {active} activated; QGIS may then load its packages instead "
            "of its own and misbehave. Start QGIS from a shell where it is not activated (run 'deactivate' first). "
            "The despeckle engine is not affected.", "Despeckle", Qgis.Warning)
