"""Set up the despeckle engine: its own virtual environment under the QGIS profile, from the wheel
this plugin ships, found by every other algorithm afterwards."""

from qgis.core import (
    QgsApplication,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterFile,
    QgsProcessingParameterString,
)

from ..engine_cli import SETTING
from ..engine_setup import bundled_wheel, default_folder, set_up_engine
from ._base import EngineAlgorithm


class SetUpEngine(EngineAlgorithm):
    ALGORITHM_NAME = "setup_engine"
    DISPLAY_NAME = "Set up the despeckle engine"
    GROUP, GROUP_ID = "Engine", "engine"
    HELP = (
        "Installs the despeckle engine that every other algorithm of this provider runs: a Python virtual environment "
        "in your QGIS profile (the folder below), with the engine from the package shipped in this plugin and its "
        "dependencies (numpy, dask, rasterio, xarray...) downloaded from the Python package index. It needs an internet "
        "connection and a system Python 3.10 or later with venv (Debian/Ubuntu: python3-venv). About 400 MB; with the "
        "deep models, PyTorch for the CPU adds about 800 MB. The engine runs in its own environment, never inside QGIS's "
        "Python, so it cannot upset QGIS or other plugins. When it ends, the provider uses it: no setting to change. "
        "Running it again replaces an environment it made earlier (never another folder); if it fails or is cancelled, "
        "the earlier one is kept."
    )
    MODELS = "MODELS"
    FOLDER = "FOLDER"
    WHEEL = "WHEEL"
    INDEX_URL = "INDEX_URL"
    EXECUTABLE = "EXECUTABLE"

    def tags(self):
        return ["install", "engine", "setup", "python", "environment", "despeckle"]

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        self.addParameter(QgsProcessingParameterBoolean(
            self.MODELS, self.tr("Also install the deep models (PyTorch for the CPU, about 800 MB more)"), defaultValue=False))
        self.addParameter(QgsProcessingParameterString(self.FOLDER, self.tr("Install in this folder"), defaultValue=default_folder()))
        wheel = QgsProcessingParameterFile(self.WHEEL, self.tr("Engine package (.whl; default: the one shipped in this plugin)"),
                                           extension="whl", optional=True, defaultValue=bundled_wheel())
        index = QgsProcessingParameterString(self.INDEX_URL, self.tr("Package index URL (default: PyPI)"), optional=True)
        for advanced in (wheel, index):
            advanced.setFlags(advanced.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
            self.addParameter(advanced)
        self.addOutput(QgsProcessingOutputString(self.EXECUTABLE, self.tr("The engine's command")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API
        executable = set_up_engine(
            self.parameterAsString(parameters, self.FOLDER, context) or default_folder(), feedback,
            wheel=self.parameterAsFile(parameters, self.WHEEL, context) or None,
            models=self.parameterAsBool(parameters, self.MODELS, context),
            index_url=self.parameterAsString(parameters, self.INDEX_URL, context) or None,
        )
        if executable is None:
            feedback.reportError("cancelled: nothing was installed (an earlier engine is unchanged)", False)
            return {}
        self.installed = executable
        feedback.pushInfo(f"the engine is installed: {executable}")
        return {self.EXECUTABLE: executable}

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802 - QGIS API
        """In QGIS's main thread: make the provider use the new engine and list its methods."""
        executable = getattr(self, "installed", None)
        if executable:
            from processing.core.ProcessingConfig import ProcessingConfig

            ProcessingConfig.setSettingValue(SETTING, executable)
            provider = QgsApplication.processingRegistry().providerById("despeckle")
            if provider is not None:
                provider.refreshAlgorithms()
        return {}
