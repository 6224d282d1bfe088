"""What every algorithm of the provider shares: translation, instance creation, group."""

from qgis.core import QgsProcessingAlgorithm
from qgis.PyQt.QtCore import QCoreApplication


class EngineAlgorithm(QgsProcessingAlgorithm):
    """Subclasses set ALGORITHM_NAME, DISPLAY_NAME, GROUP, GROUP_ID and HELP."""

    ALGORITHM_NAME = DISPLAY_NAME = GROUP = GROUP_ID = HELP = ""

    def tr(self, text):
        return QCoreApplication.translate("Despeckle", text)

    def createInstance(self):  # noqa: N802 - QGIS API
        return type(self)()

    def name(self):
        return self.ALGORITHM_NAME

    def displayName(self):  # noqa: N802 - QGIS API
        return self.tr(self.DISPLAY_NAME)

    def group(self):
        return self.tr(self.GROUP)

    def groupId(self):  # noqa: N802 - QGIS API
        return self.GROUP_ID

    def shortHelpString(self):  # noqa: N802 - QGIS API
        return self.tr(self.HELP)
