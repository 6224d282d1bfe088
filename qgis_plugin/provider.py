"""The Processing provider: one algorithm per engine method, plus time series, statistics, tiling,
mosaic, and the engine's own set-up.

The engine's location is a Processing setting (Settings > Options > Processing > Providers >
Despeckle), auto-detected on the PATH. The list of methods comes from the engine itself
(``despeckle methods --json``) and is cached per executable, so QGIS starts fast. An algorithm
that fails to load is logged and skipped; the others still load.
"""

import json
import os

from qgis.core import Qgis, QgsMessageLog, QgsProcessingException, QgsProcessingProvider, QgsSettings
from qgis.PyQt.QtGui import QIcon

from .algorithms.despeckle import MethodAlgorithm
from .algorithms.mosaic import MosaicTiles
from .algorithms.retired import RetiredMethod
from .algorithms.setup import SetUpEngine
from .algorithms.stack import DespeckleStack
from .algorithms.statistics import SpeckleStatistics
from .algorithms.tile import TileScene
from .engine_cli import SETTING, configured_executable, query_methods

CACHE_KEY = "despeckle/methods_cache"


def _plugin_version():
    with open(os.path.join(os.path.dirname(__file__), "metadata.txt"), encoding="utf-8") as metadata:  # closed: no ResourceWarning
        return next((line.split("=", 1)[1].strip() for line in metadata if line.startswith("version=")), "unknown")


PLUGIN_VERSION = _plugin_version()
ICON = os.path.join(os.path.dirname(__file__), "icon.svg")
#: The engine's method list as of this plugin's release (``make plugin`` refreshes it).
SHIPPED_CONTRACT = os.path.join(os.path.dirname(__file__), "shipped_contract.json")


def cached_methods(executable):
    """The engine's methods, from the cache when the executable has not changed."""
    stamp = os.path.getmtime(executable) if os.path.exists(executable) else None
    settings = QgsSettings()
    try:
        cached = json.loads(settings.value(CACHE_KEY, "") or "{}")
    except ValueError:
        cached = {}
    if cached.get("executable") == executable and cached.get("stamp") == stamp and cached.get("contract"):
        return cached["contract"]
    contract, version = query_methods(executable)
    settings.setValue(CACHE_KEY, json.dumps({"executable": executable, "stamp": stamp, "version": version, "contract": contract}))
    return contract


class DespeckleProvider(QgsProcessingProvider):
    def id(self):
        return "despeckle"

    def name(self):
        return "Despeckle"

    def longName(self):  # noqa: N802 - QGIS API
        return "Despeckle (SAR and ultrasound speckle filters and deep models)"

    def icon(self):
        return QIcon(ICON)

    def versionInfo(self):  # noqa: N802 - QGIS API
        """Shown in the toolbox and Processing's history: the plugin's and the engine's versions."""
        try:
            cached = json.loads(QgsSettings().value(CACHE_KEY, "") or "{}")
        except ValueError:
            cached = {}
        engine = cached.get("version") or "not found"
        return f"plugin {PLUGIN_VERSION}, engine {engine}"

    def load(self):
        from processing.core.ProcessingConfig import ProcessingConfig, Setting

        ProcessingConfig.settingIcons[self.name()] = self.icon()
        ProcessingConfig.addSetting(
            Setting(self.name(), SETTING, self.tr("despeckle executable (the engine's command line)"), configured_executable(), valuetype=Setting.FILE)
        )
        ProcessingConfig.readSettings()
        self.refreshAlgorithms()
        return True

    def unload(self):
        from processing.core.ProcessingConfig import ProcessingConfig

        ProcessingConfig.removeSetting(SETTING)

    def loadAlgorithms(self):  # noqa: N802 - QGIS API
        for algorithm in (SetUpEngine(), SpeckleStatistics(), TileScene(), MosaicTiles()):
            self.addAlgorithm(algorithm)
        executable = configured_executable()
        missing = None
        try:
            contract = cached_methods(executable)
        except QgsProcessingException as error:
            # Without an engine every algorithm stays listed, from the list this plugin ships, and
            # says what is missing when chosen (canExecute), as the GRASS and OTB providers do.
            missing = str(error)
            QgsMessageLog.logMessage(missing, "Despeckle", Qgis.Warning)
            with open(SHIPPED_CONTRACT, encoding="utf-8") as handle:
                contract = json.load(handle)
        for method in contract["methods"]:
            try:
                self.addAlgorithm(MethodAlgorithm(method, contract, engine_problem=missing))
            except Exception as error:  # one broken method must not hide the others
                QgsMessageLog.logMessage(f"could not load method {method.get('name')}: {error}", "Despeckle", Qgis.Warning)
        for name, why in contract.get("retired_methods", {}).items():  # older engines list none
            if name not in {m.get("name") for m in contract["methods"]}:
                self.addAlgorithm(RetiredMethod(name, why))
        try:
            self.addAlgorithm(DespeckleStack(contract, engine_problem=missing))
        except Exception as error:  # nor a broken stack contract the single-image methods
            QgsMessageLog.logMessage(f"could not load the time series algorithm: {error}", "Despeckle", Qgis.Warning)
