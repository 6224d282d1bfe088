"""Mosaic tiles: join processed tiles back into one raster, dropping their overlaps."""

from qgis.core import (
    QgsProcessing,
    QgsProcessingParameterFile,
    QgsProcessingParameterRasterDestination,
)

from ..engine_cli import run_engine
from ._base import EngineAlgorithm


class MosaicTiles(EngineAlgorithm):
    ALGORITHM_NAME = "mosaic_tiles"
    DISPLAY_NAME = "Mosaic tiles"
    GROUP, GROUP_ID = "Tiling", "tiling"
    HELP = "Joins tiles cut by 'Tile scene' (and processed under the same file names) into one GeoTIFF, keeping each tile's core."
    INDEX = "INDEX"
    TILES = "TILES"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        self.addParameter(QgsProcessingParameterFile(self.INDEX, self.tr("Tile index (index.geojson)"), extension="geojson"))
        self.addParameter(QgsProcessingParameterFile(self.TILES, self.tr("Folder of the processed tiles (default: the index's folder)"), behavior=QgsProcessingParameterFile.Folder, optional=True))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Mosaic"), defaultValue=QgsProcessing.TEMPORARY_OUTPUT))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        args = ["mosaic", self.parameterAsFile(parameters, self.INDEX, context), output, "--overwrite"]
        tiles = self.parameterAsFile(parameters, self.TILES, context)
        if tiles:
            args += ["--tiles", tiles]
        result = run_engine(args, feedback)
        if result is None:
            return {}
        return {self.OUTPUT: output}
