"""Speckle statistics: looks estimate of a layer and the ratio image against its noisy original."""

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterBand,
    QgsProcessingParameterEnum,
    QgsProcessingParameterRasterLayer,
)

from ..engine_cli import run_engine
from ._base import EngineAlgorithm
from .despeckle import raster_path

#: The domains the statistics tool offers (it is listed even without an engine, so it cannot read
#: them from the engine's contract; the engine refuses any it does not know).
INPUT_DOMAINS = ["as the file says (else intensity)", "intensity", "amplitude", "db", "complex"]


class SpeckleStatistics(EngineAlgorithm):
    ALGORITHM_NAME = "speckle_statistics"
    DISPLAY_NAME = "Speckle statistics"
    GROUP, GROUP_ID = "Speckle analysis", "analysis"
    HELP = (
        "Estimates the equivalent number of looks (ENL) of a layer: the median of mean^2/variance "
        "in 9x9 windows, a lower bound on textured scenes. With a reference (the noisy original of a "
        "despeckled layer), also the mean and standard deviation of the ratio image reference / layer: "
        "a mean of 1 means the filter kept the radiometry; a standard deviation close to 1/sqrt(looks) "
        "means it removed speckle and little else."
    )
    INPUT = "INPUT"
    REFERENCE = "REFERENCE"
    BAND = "BAND"
    DOMAIN = "DOMAIN"
    LOOKS = "LOOKS_ESTIMATE"
    RATIO_MEAN = "RATIO_MEAN"
    RATIO_STD = "RATIO_STD"

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Layer")))
        self.addParameter(QgsProcessingParameterRasterLayer(self.REFERENCE, self.tr("Noisy original (for the ratio image)"), optional=True))
        self.addParameter(QgsProcessingParameterBand(self.BAND, self.tr("Band"), defaultValue=1, parentLayerParameterName=self.INPUT))
        self.addParameter(QgsProcessingParameterEnum(self.DOMAIN, self.tr("The layers hold"), options=INPUT_DOMAINS, defaultValue=0))
        for name, label in ((self.LOOKS, "Looks estimate (ENL)"), (self.RATIO_MEAN, "Mean of the ratio image"), (self.RATIO_STD, "Standard deviation of the ratio image")):
            self.addOutput(QgsProcessingOutputNumber(name, self.tr(label)))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API
        args = ["stats", raster_path(self.parameterAsRasterLayer(parameters, self.INPUT, context)), "--band", self.parameterAsInt(parameters, self.BAND, context)]
        domain = self.parameterAsEnum(parameters, self.DOMAIN, context)
        if domain:
            args += ["--domain", INPUT_DOMAINS[domain], "--reference-domain", INPUT_DOMAINS[domain]]
        reference = self.parameterAsRasterLayer(parameters, self.REFERENCE, context)
        if reference is not None:
            args += ["--reference", raster_path(reference)]
        result = run_engine(args, feedback)
        if result is None:
            return {}
        outputs = {self.LOOKS: result.get("looks_estimate"), self.RATIO_MEAN: result.get("ratio_mean"), self.RATIO_STD: result.get("ratio_std")}
        for key, value in outputs.items():
            if value is not None:
                feedback.pushInfo(f"{key}: {value:.4f}")
        return outputs
