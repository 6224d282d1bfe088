"""A method the engine withdrew (its contract's ``retired_methods``): kept under its old
algorithm id, hidden from the toolbox and the modeler and marked deprecated, so that a saved
model, a batch file or a script naming it is told why and what to use instead, not that the
algorithm does not exist."""

from qgis.core import QgsProcessingAlgorithm, QgsProcessingException

from ._base import EngineAlgorithm


class RetiredMethod(EngineAlgorithm):
    GROUP = "Despeckle raster (experimental and study models)"
    GROUP_ID = "experimental"

    def __init__(self, name, why):
        super().__init__()
        self.method_name = name
        self.why = why

    def createInstance(self):  # noqa: N802 - QGIS API
        return RetiredMethod(self.method_name, self.why)

    def name(self):
        return self.method_name.replace("-", "_")

    def displayName(self):  # noqa: N802 - QGIS API
        return self.tr(f"{self.method_name} (retired)")

    def message(self):
        return f"despeckle method {self.method_name} was retired: {self.why}"

    def shortHelpString(self):  # noqa: N802 - QGIS API
        return self.message()

    def flags(self):
        return (super().flags() | QgsProcessingAlgorithm.FlagDeprecated | QgsProcessingAlgorithm.FlagHideFromToolbox
                | QgsProcessingAlgorithm.FlagHideFromModeler)

    def canExecute(self):  # noqa: N802 - QGIS API
        return False, self.message()

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        """No parameters: whatever a saved model passes, the run stops with the message."""

    def checkParameterValues(self, parameters, context):  # noqa: N802 - QGIS API
        return False, self.message()

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API
        raise QgsProcessingException(self.message())
