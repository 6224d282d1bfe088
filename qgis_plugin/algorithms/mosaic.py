"""Mosaic tiles: join processed tiles back into one raster, dropping their overlaps."""

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterFile,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterVectorLayer,
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
        # A layer: the index 'Tile scene' loaded into the project (or its file), also chained in a model.
        self.addParameter(QgsProcessingParameterVectorLayer(self.INDEX, self.tr("Tile index (index.geojson)"), [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterFile(self.TILES, self.tr("Folder of the processed tiles (default: the index's folder)"), behavior=QgsProcessingParameterFile.Folder, optional=True))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Mosaic"), defaultValue=QgsProcessing.TEMPORARY_OUTPUT))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        index = self.parameterAsVectorLayer(parameters, self.INDEX, context)
        path = index.source().split("|")[0] if index is not None else ""
        if not path.lower().endswith(".geojson"):
            raise QgsProcessingException(f"the tile index must be the index.geojson file written by 'Tile scene', got {path or 'nothing'}")
        args = ["mosaic", path, output, "--overwrite"]
        tiles = self.parameterAsFile(parameters, self.TILES, context)
        if tiles:
            args += ["--tiles", tiles]
        result = run_engine(args, feedback)
        if result is None:
            return {}
        return {self.OUTPUT: output}
