"""Despeckle time series (stack): a multi-temporal filter over co-registered dates (``despeckle stack``)."""

import os

from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingOutputMultipleLayers,
    QgsProcessingOutputRasterLayer,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
    QgsProcessingUtils,
)

from ..engine_cli import run_engine
from ._base import EngineAlgorithm, help_text, named_enum
from .despeckle import TAGS, input_domains, raster_path

#: The stack methods offered while the engine's contract has none (an engine without
#: ``despeckle stack``, or a method list shipped before it): the dialog still shows, and
#: canExecute says what is missing. The engine's own list ("stack_methods") replaces it.
FALLBACK_STACK_METHODS = [
    {"name": "quegan", "title": "Quegan", "default": True, "description": "", "references": [], "parameters": [
        {"name": "spatial", "type": "str", "default": "boxcar", "help": "spatial estimator of each date's local mean"},
        {"name": "temporal_window", "type": "int", "default": 0, "minimum": 0, "help": "dates combined around each date (0: all dates)"},
    ]},
    {"name": "ratio", "title": "Ratio (temporal super-image)", "default": False, "description": "", "references": [], "parameters": [
        {"name": "ratio_method", "type": "str", "default": "auto", "help": "single-image method that despeckles each date's ratio to the super-image"},
        {"name": "super_image_method", "type": "str", "default": "auto", "help": "how the temporal super-image is made"},
        {"name": "temporal_window", "type": "int", "default": 0, "minimum": 0, "help": "dates combined around each date (0: all dates)"},
    ]},
]
#: The spatial estimators offered when the contract lists no single-image filter.
FALLBACK_SPATIAL = ["boxcar"]
#: Where the dialog's labels would otherwise be the engine's terse help.
LABELS = {
    "spatial": "Spatial estimator of each date's local mean",
    "temporal_window": "Temporal window: dates used around each date (0 = all dates)",
    "ratio_method": "Method despeckling each date's ratio to the super-image (auto, or a method's name)",
    "super_image_method": "Method despeckling the super-image (auto, none, or a method's name)",
}
HELP = (
    "Despeckles a time series: several co-registered SAR images of the same place (one raster layer "
    "per date, at least 2). Speckle changes from date to date while the scene mostly does not, so "
    "combining the dates removes more speckle than filtering each image alone, and keeps each date's "
    "own changes.\n\n"
    "Quegan (the default): each output date is that date's local mean (from the spatial "
    "estimator, a single-image filter) multiplied by the average, over the dates, of each date's "
    "ratio to its own local mean. Where a date has no data at a pixel, that date is left out of the "
    "average; it stays without data in its own output.\n"
    "Ratio: the dates are first averaged into a temporal super-image, which has little "
    "speckle. Each date's ratio to the super-image is then despeckled by a single-image method, and "
    "multiplied back by the super-image.\n\n"
    "All dates must share one grid (same CRS, pixel size and extent) unless 'Reproject dates onto the "
    "first date's grid' is ticked. The output folder holds one GeoTIFF per date, in date order, loaded "
    "into the project when the run ends; optionally the temporal mean (temporal_mean.tif) and a map of "
    "the equivalent number of looks reached (enl.tif)."
)


def _stack_methods(contract):
    return contract.get("stack_methods") or FALLBACK_STACK_METHODS


def _spatial_choices(contract):
    return [m["name"] for m in contract.get("methods", []) if m.get("kind") == "filter"] or FALLBACK_SPATIAL


class DespeckleStack(EngineAlgorithm):
    ALGORITHM_NAME = "despeckle_stack"
    DISPLAY_NAME = "Despeckle time series (stack)"
    GROUP, GROUP_ID = "Multi-temporal", "multitemporal"
    HELP = HELP
    INPUT = "INPUT"
    METHOD = "METHOD"
    ALIGN = "ALIGN"
    MEAN = "MEAN"
    ENL = "ENL"
    SPATIAL_OPTIONS = "SPATIAL_OPTIONS"
    INPUT_DOMAIN = "INPUT_DOMAIN"
    LOOKS = "LOOKS"
    NODATA = "NODATA"
    COMPRESS = "COMPRESS"
    CHUNK_SIZE = "CHUNK_SIZE"
    OUTPUT = "OUTPUT"
    DATE_LAYERS = "DATE_LAYERS"
    MEAN_LAYER = "MEAN_LAYER"
    ENL_LAYER = "ENL_LAYER"

    def __init__(self, contract=None, engine_problem=None):
        """``contract``: the engine's ``despeckle methods --json``; its "stack_methods" give the
        methods and their parameters, its single-image filters the spatial estimators."""
        super().__init__()
        self.contract = contract or {}
        self.engine_problem = engine_problem  # why the engine cannot run (not found, broken), else None
        self.methods = _stack_methods(self.contract)
        self.spatial = _spatial_choices(self.contract)
        self.input_domains = input_domains(self.contract) if self.contract.get("input_domains") else ["as the file says (else intensity)"]
        self.compressions = list(self.contract.get("compressions") or ["deflate"])
        self.parameters = {}  # each method parameter once (temporal_window is shared), by dialog key
        for method in self.methods:
            for p in method.get("parameters", []):
                self.parameters.setdefault(p["name"].upper(), p)

    def createInstance(self):  # noqa: N802 - QGIS API
        return DespeckleStack(self.contract, self.engine_problem)

    def canExecute(self):  # noqa: N802 - QGIS API
        if self.engine_problem:
            return False, self.engine_problem
        if not self.contract.get("stack_methods"):
            return False, (f"this despeckle engine ({self.contract.get('engine_version', 'unknown version')}) cannot despeckle time series "
                           "(it has no 'despeckle stack'); install a newer engine")
        return True, ""

    def tags(self):
        return [*TAGS, "time series", "multi-temporal", "multitemporal", "stack", "dates", *[m["name"] for m in self.methods]]

    def shortHelpString(self):  # noqa: N802 - QGIS API
        lines = [self.tr(HELP), ""]
        problem = self.canExecute()[1]
        if problem:
            lines += [f"Cannot run: {problem}", ""]
        for m in self.methods:
            if m.get("description"):
                lines.append(f"{m.get('title', m['name'])}{' (the default)' if m.get('default') else ''}: {m['description']}")
            for p in m.get("parameters", []):
                text = p.get("help") or p["name"]
                lines.append(f"- {LABELS.get(p['name'], text[:1].upper() + text[1:])} (--{p['name'].replace('_', '-')})")
            lines.append("")
        references = [r for m in self.methods for r in m.get("references", [])]
        lines += [f"Reference: {r}" for r in dict.fromkeys(references)]
        return help_text(lines)

    # The dialog ---------------------------------------------------------------------------

    def _choices(self, p):
        """An enum's options for a method parameter, None for a free value."""
        if p["name"] == "spatial":
            return [str(c) for c in p.get("choices") or self.spatial]
        if p.get("choices") and p.get("type") == "str":
            return [str(c) for c in p["choices"]]
        return None

    def _enums(self):
        """Each enum parameter's options, so that a value may also be given by name (``METHOD=ratio``)."""
        return {self.INPUT_DOMAIN: self.input_domains, self.COMPRESS: self.compressions}

    def _named_enums(self):
        """The method and the choices among the engine's methods (``METHOD=ratio``, ``SPATIAL=lee``)."""
        enums = {self.METHOD: [m["name"] for m in self.methods]}
        enums.update({key: self._choices(p) for key, p in self.parameters.items() if self._choices(p)})
        return enums

    def _parameter(self, key, p):
        users = [m["name"] for m in self.methods if any(q["name"] == p["name"] for q in m.get("parameters", []))]
        text = p.get("help") or p["name"]
        label = LABELS.get(p["name"], text[:1].upper() + text[1:])
        if len(users) < len(self.methods):
            label += f" ({', '.join(users)} only)"
        default = p.get("default")
        choices = self._choices(p)
        if choices:
            return named_enum(key, self.tr(label), choices, default=str(default) if str(default) in choices else choices[0])
        if p.get("type") in ("int", "float"):
            kind = QgsProcessingParameterNumber.Integer if p["type"] == "int" else QgsProcessingParameterNumber.Double
            parameter = QgsProcessingParameterNumber(key, self.tr(label), type=kind, defaultValue=default, optional=default is None)
            if p.get("minimum") is not None:
                parameter.setMinimum(p["minimum"])
            if p.get("maximum") is not None:
                parameter.setMaximum(p["maximum"])
            return parameter
        if p.get("type") == "bool":
            return QgsProcessingParameterBoolean(key, self.tr(label), defaultValue=bool(default))
        return QgsProcessingParameterString(key, self.tr(label), defaultValue=default, optional=default is None)

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        dates = QgsProcessingParameterMultipleLayers(self.INPUT, self.tr("Dates (one raster layer per date, at least 2)"), layerType=QgsProcessing.TypeRaster)
        dates.setMinimumNumberInputs(2)
        self.addParameter(dates)
        names = [m["name"] for m in self.methods]
        self.addParameter(named_enum(self.METHOD, self.tr("Method"), names, default=next((m["name"] for m in self.methods if m.get("default")), names[0])))
        for key, p in self.parameters.items():
            parameter = self._parameter(key, p)
            if p.get("advanced"):
                parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
            self.addParameter(parameter)
        self.addParameter(QgsProcessingParameterBoolean(self.ALIGN, self.tr("Reproject dates onto the first date's grid (--align)"), defaultValue=False))
        self.addParameter(QgsProcessingParameterBoolean(self.MEAN, self.tr("Also write the temporal mean"), defaultValue=False))
        self.addParameter(QgsProcessingParameterBoolean(self.ENL, self.tr("Also write the ENL map"), defaultValue=False))
        advanced = [
            QgsProcessingParameterString(self.SPATIAL_OPTIONS, self.tr("Parameters of the single-image method used inside, NAME=VALUE separated "
                                                                       "by spaces (e.g. window_size_px=9)"), optional=True),
            QgsProcessingParameterEnum(self.INPUT_DOMAIN, self.tr("The dates hold"), options=self.input_domains, defaultValue=0),
            QgsProcessingParameterNumber(self.LOOKS, self.tr("Looks of each date, if the files do not say"),
                                         type=QgsProcessingParameterNumber.Double, optional=True, minValue=0.0),
            QgsProcessingParameterNumber(self.NODATA, self.tr("No-data value of every date (overrides the files')"),
                                         type=QgsProcessingParameterNumber.Double, optional=True),
            QgsProcessingParameterEnum(self.COMPRESS, self.tr("GeoTIFF compression"), options=self.compressions, defaultValue=0),
            QgsProcessingParameterNumber(self.CHUNK_SIZE, self.tr("Chunk size (pixels per side of each block processed at once)"),
                                         type=QgsProcessingParameterNumber.Integer, defaultValue=1024, minValue=64, maxValue=16384),
        ]
        for parameter in advanced:
            parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
            self.addParameter(parameter)
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT, self.tr("Output folder (one GeoTIFF per date)"),
                                                              defaultValue=QgsProcessing.TEMPORARY_OUTPUT))
        self.addOutput(QgsProcessingOutputMultipleLayers(self.DATE_LAYERS, self.tr("Despeckled dates")))
        self.addOutput(QgsProcessingOutputRasterLayer(self.MEAN_LAYER, self.tr("Temporal mean")))
        self.addOutput(QgsProcessingOutputRasterLayer(self.ENL_LAYER, self.tr("ENL map")))

    # Checking and running -----------------------------------------------------------------

    def checkParameterValues(self, parameters, context):  # noqa: N802 - QGIS API
        parameters = self.with_indices(parameters)
        problem = self.unknown_enum_name(parameters)
        if problem:
            return False, problem
        layers = self.parameterAsLayerList(parameters, self.INPUT, context)
        if len(layers) < 2:
            return False, self.tr(f"a time series needs at least 2 dates, got {len(layers)}: choose one raster layer per date "
                                  "(to despeckle a single image, use a 'Despeckle raster' algorithm)")
        for layer in layers:
            try:
                raster_path(layer)
            except QgsProcessingException as error:
                return False, str(error)
        output = parameters.get(self.OUTPUT)
        output = output.staticValue() if hasattr(output, "staticValue") else output
        if isinstance(output, str) and output.rstrip("/\\").lower().endswith(".zarr"):
            return False, self.tr(f"this algorithm writes one GeoTIFF per date into a folder: name the folder without .zarr (got {output}); "
                                  "'despeckle stack --format zarr' writes a Zarr store from the command line")
        return super().checkParameterValues(parameters, context)

    def command(self, parameters, context):
        """The engine's command line for these parameter values, and the output folder."""
        parameters = self.with_indices(parameters)
        sources = [raster_path(layer) for layer in self.parameterAsLayerList(parameters, self.INPUT, context)]
        folder = self.parameterAsString(parameters, self.OUTPUT, context)
        name = self.parameterAsEnumString(parameters, self.METHOD, context)
        method = next(m for m in self.methods if m["name"] == name)
        args = ["stack", *sources, "-o", folder, "--method", method["name"], "--format", "gtiff", "--overwrite",
                "--chunk-size", self.parameterAsInt(parameters, self.CHUNK_SIZE, context),
                "--compress", self.compressions[self.parameterAsEnum(parameters, self.COMPRESS, context)]]
        for p in method.get("parameters", []):
            key = p["name"].upper()
            if parameters.get(key) is None or parameters.get(key) == "":
                continue
            choices = self._choices(p)
            if choices:
                value = self.parameterAsEnumString(parameters, key, context)
            elif p.get("type") == "int":
                value = self.parameterAsInt(parameters, key, context)
            elif p.get("type") == "float":
                value = self.parameterAsDouble(parameters, key, context)
            elif p.get("type") == "bool":
                value = str(self.parameterAsBoolean(parameters, key, context)).lower()
            else:
                value = self.parameterAsString(parameters, key, context)
            args += ["--" + p["name"].replace("_", "-"), value]
        for option in self.parameterAsString(parameters, self.SPATIAL_OPTIONS, context).replace(";", " ").split():
            args += ["--spatial-option", option]
        for key, flag in ((self.ALIGN, "--align"), (self.MEAN, "--mean"), (self.ENL, "--enl")):
            if self.parameterAsBoolean(parameters, key, context):
                args.append(flag)
        domain = self.parameterAsEnum(parameters, self.INPUT_DOMAIN, context)
        if domain:
            args += ["--domain", self.input_domains[domain]]
        for key, flag in ((self.LOOKS, "--looks"), (self.NODATA, "--nodata")):
            if parameters.get(key) not in (None, ""):
                args += [flag, self.parameterAsDouble(parameters, key, context)]
        return args, folder

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API
        usable, problem = self.canExecute()
        if not usable:
            raise QgsProcessingException(problem)
        args, folder = self.command(parameters, context)
        result = run_engine(args, feedback)
        if result is None:  # cancelled
            return {}
        outputs = [str(path) for path in result.get("outputs") or []]
        if not outputs:
            raise QgsProcessingException(f"the despeckle engine reported no output in {folder}")
        dates = result.get("dates") or []
        # Loaded into the project when the run ends, like a despeckled raster: the name says the
        # date (QGIS may show the file name instead, as its 'prefer file name as layer name' setting says).
        for order, path in enumerate(outputs):
            date = dates[order] if order < len(dates) else None
            date = date[: -len("T00:00:00")] if date and date.endswith("T00:00:00") else date  # a day without a time
            name = f"despeckled {date}" if date else os.path.splitext(os.path.basename(path))[0]
            self._load_on_completion(context, path, name, self.DATE_LAYERS, order)
        for key, output_key, name in (("mean", self.MEAN_LAYER, "temporal mean"), ("enl", self.ENL_LAYER, "ENL")):
            if result.get(key):
                self._load_on_completion(context, result[key], name, output_key, len(outputs))
        feedback.pushInfo(f"wrote {len(outputs)} dates in {result.get('folder') or folder}")
        return {self.OUTPUT: result.get("folder") or folder, self.DATE_LAYERS: outputs,
                self.MEAN_LAYER: result.get("mean"), self.ENL_LAYER: result.get("enl")}

    @staticmethod
    def _load_on_completion(context, path, name, output_name, order):
        details = QgsProcessingContext.LayerDetails(name, context.project(), output_name, QgsProcessingUtils.LayerHint.Raster)
        if hasattr(details, "layerSortKey"):  # QGIS >= 3.32: keep the dates in order in the layer tree
            details.layerSortKey = order
        context.addLayerToLoadOnCompletion(path, details)
