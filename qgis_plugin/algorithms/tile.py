"""Tile scene: overlapping georeferenced GeoTIFF tiles and an index layer."""

import os

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
)

from ..engine_cli import run_engine
from ._base import EngineAlgorithm
from .despeckle import raster_path


class TileScene(EngineAlgorithm):
    ALGORITHM_NAME = "tile_scene"
    DISPLAY_NAME = "Tile scene"
    GROUP, GROUP_ID = "Tiling", "tiling"
    HELP = (
        "Cuts a raster into GeoTIFF tiles that overlap their neighbours, plus index.geojson (one feature per "
        "tile core). Process the tiles with an overlap of at least the method's halo (see its help), then "
        "join them with 'Mosaic tiles' to get exactly the whole-scene result."
    )
    INPUT = "INPUT"
    SIZE = "SIZE"
    OVERLAP = "OVERLAP"
    OUTPUT = "OUTPUT"
    INDEX = "INDEX"

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Scene")))
        self.addParameter(QgsProcessingParameterNumber(self.SIZE, self.tr("Tile core size (pixels)"), type=QgsProcessingParameterNumber.Integer, defaultValue=2048, minValue=16))
        self.addParameter(QgsProcessingParameterNumber(self.OVERLAP, self.tr("Overlap on each side (pixels)"), type=QgsProcessingParameterNumber.Integer, defaultValue=80, minValue=0))
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT, self.tr("Tile folder"), defaultValue=QgsProcessing.TEMPORARY_OUTPUT))
        self.addOutput(QgsProcessingOutputVectorLayer(self.INDEX, self.tr("Tile index")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API
        folder = self.parameterAsString(parameters, self.OUTPUT, context)
        args = ["tile", raster_path(self.parameterAsRasterLayer(parameters, self.INPUT, context)), folder,
                "--size", self.parameterAsInt(parameters, self.SIZE, context), "--overlap", self.parameterAsInt(parameters, self.OVERLAP, context), "--overwrite"]
        result = run_engine(args, feedback)
        if result is None:
            return {}
        return {self.OUTPUT: folder, self.INDEX: os.path.join(folder, "index.geojson")}
