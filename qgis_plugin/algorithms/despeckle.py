"""Despeckle raster: one algorithm per engine method, its parameters taken from the engine."""

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterBand,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from ..engine_cli import run_engine
from ._base import EngineAlgorithm, help_text, named_enum

DECORRELATION = ["when the method needs it", "yes", "no"]
#: What the engine writes: any other extension is refused before the run, not after it.
WRITTEN_EXTENSIONS = (".tif", ".tiff")
#: Pictures, for display images (B-mode, OCT), from engines whose contract lists that format.
PICTURE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
#: Search words (the Processing toolbox's filter finds algorithms by them).
TAGS = ["SAR", "radar", "Sentinel-1", "speckle", "despeckle", "noise", "filter", "backscatter", "ultrasound", "B-mode", "OCT"]
#: Parameters shown under Advanced when an engine's contract does not flag them (contract 1 does).
AS_THE_FILE_SAYS = "as the file says (else intensity; 8-bit pictures: display)"
#: The first choices, in the order saved models and batch files index them; newer ones follow.
_FIRST_DOMAINS = ("intensity", "amplitude", "db", "complex")
SAME_AS_INPUT = "same as the input (intensity for complex input)"


def input_domains(contract):
    """The dialog's input-domain choices from the engine's contract: "as the file says" first,
    then the domains in the order they were added, so that the indices saved in models and
    batch files stay the same."""
    domains = list(contract["input_domains"])
    return [AS_THE_FILE_SAYS, *[d for d in _FIRST_DOMAINS if d in domains], *[d for d in domains if d not in _FIRST_DOMAINS]]


def output_domains(contract):
    return [SAME_AS_INPUT, *contract["output_domains"]]


def raster_path(layer):
    """The file behind a raster layer (the engine reads files, not QGIS providers)."""
    if layer is None:
        raise QgsProcessingException("no input raster")
    if layer.providerType() != "gdal":
        raise QgsProcessingException(f"layer '{layer.name()}' is not a file raster (provider {layer.providerType()}); save it as GeoTIFF first")
    return layer.source().split("|")[0]


class MethodAlgorithm(EngineAlgorithm):
    INPUT = "INPUT"
    BAND = "BAND"
    INPUT_DOMAIN = "INPUT_DOMAIN"
    OUTPUT_DOMAIN = "OUTPUT_DOMAIN"
    CHUNK_SIZE = "CHUNK_SIZE"
    COMPRESS = "COMPRESS"
    DECORRELATE = "DECORRELATE"
    COMPLEX_PAIRS = "COMPLEX_PAIRS"
    COG = "COG"
    DYNAMIC_RANGE = "DYNAMIC_RANGE"
    OUTPUT = "OUTPUT"

    def __init__(self, method, contract, engine_problem=None):
        """``method``: one entry of the engine's ``despeckle methods --json`` contract; the dialog
        (parameters, choices, advanced flags, domains, compressions) is built from them."""
        super().__init__()
        self.method = method
        self.contract = contract
        self.input_domains = input_domains(contract)
        self.output_domains = output_domains(contract)
        self.compressions = list(contract["compressions"])
        self.engine_problem = engine_problem  # why the engine cannot run (not found, broken), else None

    def createInstance(self):  # noqa: N802 - QGIS API
        return MethodAlgorithm(self.method, self.contract, self.engine_problem)

    def canExecute(self):  # noqa: N802 - QGIS API
        """What is missing, said in the dialog before a run: the engine, or what this method needs."""
        if self.engine_problem:
            return False, self.engine_problem
        if not self.method.get("available", True):
            return False, f"method {self.method['name']} is not available: {self.method.get('unavailable_reason')}"
        return True, ""

    def name(self):
        return self.method["name"].replace("-", "_")

    def displayName(self):  # noqa: N802 - QGIS API
        return self.method["title"] + (" (default)" if self.method.get("default") else "")

    def _maturity(self):
        return self.method.get("maturity", "recommended")  # engines before the maturity field: all recommended

    def _for_ultrasound(self):
        """A model made for ultrasound and OCT, not for SAR."""
        return self.method["kind"] == "model" and "sar" not in self.method.get("imagery", ["sar"])

    def group(self):
        if self._maturity() != "recommended":
            return self.tr("Despeckle raster (experimental and study models)")
        if self._for_ultrasound():
            return self.tr("Despeckle ultrasound and OCT images (deep models)")
        return self.tr("Despeckle raster (deep models)" if self.method["kind"] == "model" else "Despeckle raster (classical filters)")

    def groupId(self):  # noqa: N802 - QGIS API
        if self._maturity() != "recommended":
            return "experimental"
        if self._for_ultrasound():
            return "ultrasound"
        return "models" if self.method["kind"] == "model" else "filters"

    def shortHelpString(self):  # noqa: N802 - QGIS API
        m = self.method
        lines = [m["description"], ""]
        if m.get("default"):
            lines += ["The default method: what the engine uses when no method is named.", ""]
        if self._maturity() != "recommended" or m.get("maturity_note"):
            lines += [f"{self._maturity().capitalize()}: {m.get('maturity_note', '')}", ""]
        if m.get("needs_gpu"):
            lines += ["GPU recommended: slow on a CPU.", ""]
        if self.engine_problem:
            lines += [f"Cannot run: {self.engine_problem}", ""]
        elif not m.get("available", True):
            lines += [f"Not available: {m['unavailable_reason']}", ""]
        lines += [f"Works on {m['domain']}; the engine converts the input and returns the input's domain. "
                  f"Halo: {m['halo_px_at_defaults']} px (tiles overlap by this much, so tiled output equals whole-image output).", ""]
        for p in m["parameters"]:
            # The dialog's label, then the same setting's name in the command line, SNAP and OTB.
            aliases = [f"--{p['name'].replace('_', '-')}"] + [f"{tool} {name}" for tool, name in (("SNAP", p["snap"]), ("OTB", p["otb"])) if name]
            lines.append(f"- {p['help'][:1].upper() + p['help'][1:]} ({'; '.join(aliases)})")
        lines += [""] + [f"Reference: {r}" for r in m["references"]]
        return help_text(lines)

    def tags(self):
        extra = ["deep learning", "neural network", "model"] if self.method["kind"] == "model" else ["Lee", "Frost", "classical"]
        return [*TAGS, *extra, self.method["name"]]

    def _enums(self):
        """Each enum parameter's options, so that a value may also be given by name (``INPUT_DOMAIN=db``
        from qgis_process, a script or a model), as QGIS >= 3.24 allows with static strings."""
        return {self.INPUT_DOMAIN: self.input_domains, self.OUTPUT_DOMAIN: self.output_domains,
                self.COMPRESS: self.compressions, self.DECORRELATE: DECORRELATION}

    def _named_enums(self):
        """The method's own choices (precision, device...): the engine's, which may grow."""
        return {p["name"].upper(): [str(c) for c in p["choices"]] for p in self.method["parameters"] if p["choices"] and p["type"] == "str"}

    def _parameter(self, p):
        name, label = p["name"].upper(), p["help"][:1].upper() + p["help"][1:]
        optional = p["default"] is None or p["from_attr"] is not None
        if p["choices"] and p["type"] == "str":
            choices = [str(c) for c in p["choices"]]
            default = str(p["default"]) if p["default"] is not None and str(p["default"]) in choices else None
            return named_enum(name, label, choices, default=default, optional=optional)
        if p["type"] in ("int", "float"):
            kind = QgsProcessingParameterNumber.Integer if p["type"] == "int" else QgsProcessingParameterNumber.Double
            parameter = QgsProcessingParameterNumber(name, label, type=kind, defaultValue=None if optional else p["default"], optional=optional)
            if p["minimum"] is not None:
                parameter.setMinimum(p["minimum"])
            if p["maximum"] is not None:
                parameter.setMaximum(p["maximum"])
            return parameter
        if p["type"] == "bool":
            return QgsProcessingParameterBoolean(name, label, defaultValue=bool(p["default"]))
        return QgsProcessingParameterString(name, label, defaultValue=p["default"], optional=optional)

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Input raster (GeoTIFF, COG, PNG, complex SLC...)")))
        self.addParameter(QgsProcessingParameterBand(self.BAND, self.tr("Band (default: all bands)"), parentLayerParameterName=self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterEnum(self.INPUT_DOMAIN, self.tr("The input holds"), options=self.input_domains, defaultValue=0))
        for p in self.method["parameters"]:
            parameter = self._parameter(p)
            if p.get("advanced"):
                parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
            self.addParameter(parameter)
        advanced = [
            QgsProcessingParameterEnum(self.OUTPUT_DOMAIN, self.tr("Output domain"), options=self.output_domains, defaultValue=0),
            QgsProcessingParameterNumber(self.CHUNK_SIZE, self.tr("Chunk size (pixels per side of each block processed at once)"), type=QgsProcessingParameterNumber.Integer,
                                         defaultValue=self.method.get("preferred_chunk_px") or 1024, minValue=64, maxValue=16384),
            QgsProcessingParameterEnum(self.COMPRESS, self.tr("GeoTIFF compression"), options=self.compressions, defaultValue=0),
            QgsProcessingParameterEnum(self.DECORRELATE, self.tr("Decorrelate complex (SLC) speckle first"), options=DECORRELATION, defaultValue=0),
            QgsProcessingParameterBoolean(self.COMPLEX_PAIRS, self.tr("The bands are (real, imaginary) pairs of complex (SLC) images"),
                                          defaultValue=False),
            QgsProcessingParameterBoolean(self.COG, self.tr("Write a Cloud-Optimized GeoTIFF (tiled, with overviews)"), defaultValue=False),
        ]
        if "display" in self.contract["input_domains"]:  # engines that know display images
            dynamic_range = QgsProcessingParameterNumber(
                self.DYNAMIC_RANGE, self.tr("Dynamic range of a display image, dB (B-mode, OCT; empty: measured on its speckle)"),
                type=QgsProcessingParameterNumber.Double, defaultValue=None, optional=True, minValue=1, maxValue=200)
            advanced.insert(1, dynamic_range)
        for parameter in advanced:
            parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
            self.addParameter(parameter)
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Despeckled raster"), defaultValue=QgsProcessing.TEMPORARY_OUTPUT))

    def checkParameterValues(self, parameters, context):  # noqa: N802 - QGIS API
        parameters = self.with_indices(parameters)
        problem = self.unknown_enum_name(parameters)
        if problem:
            return False, problem
        output = parameters.get(self.OUTPUT)
        output = getattr(output, "sink", output)
        output = output.staticValue() if hasattr(output, "staticValue") else output
        pictures = "picture" in self.contract.get("formats", ())
        written = WRITTEN_EXTENSIONS + (PICTURE_EXTENSIONS if pictures else ())
        if isinstance(output, str) and output and output != QgsProcessing.TEMPORARY_OUTPUT and not output.lower().endswith(written):
            also = " (or .png/.jpg/.bmp for a display image: B-mode, OCT)" if pictures else ""
            return False, self.tr(f"the engine writes GeoTIFF: name the output .tif{also} (got {output}); "
                                  "convert it afterwards with Raster > Conversion > Translate if another format is needed")
        for p in self.method["parameters"]:
            value = parameters.get(p["name"].upper())
            if value is None or p["type"] not in ("int", "float"):
                continue
            if p["odd"] and int(value) % 2 != 1:
                return False, self.tr(f"{p['name']} must be an odd number of pixels (the window has a centre), got {value}")
            if p["choices"] and float(value) not in [float(c) for c in p["choices"]]:
                return False, self.tr(f"{p['name']} must be one of {', '.join(map(str, p['choices']))}, got {value}")
        return super().checkParameterValues(parameters, context)

    def command(self, parameters, context):
        """The engine's command line for these parameter values."""
        parameters = self.with_indices(parameters)
        source = raster_path(self.parameterAsRasterLayer(parameters, self.INPUT, context))
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        args = ["run", source, output, "--method", self.method["name"], "--overwrite",
                "--chunk-size", self.parameterAsInt(parameters, self.CHUNK_SIZE, context),
                "--compress", self.compressions[self.parameterAsEnum(parameters, self.COMPRESS, context)]]
        if parameters.get(self.BAND) not in (None, 0, "", -1):
            args += ["--band", self.parameterAsInt(parameters, self.BAND, context)]
        domain = self.parameterAsEnum(parameters, self.INPUT_DOMAIN, context)
        if domain:
            args += ["--domain", self.input_domains[domain]]
        output_domain = self.parameterAsEnum(parameters, self.OUTPUT_DOMAIN, context)
        if output_domain:
            args += ["--output-domain", self.output_domains[output_domain]]
        if parameters.get(self.DYNAMIC_RANGE) not in (None, ""):
            args += ["--dynamic-range", self.parameterAsDouble(parameters, self.DYNAMIC_RANGE, context)]
        if self.parameterAsBoolean(parameters, self.COMPLEX_PAIRS, context):
            args.append("--complex-pairs")
        if self.parameterAsBoolean(parameters, self.COG, context):
            args += ["--format", "cog"]
        decorrelate = self.parameterAsEnum(parameters, self.DECORRELATE, context)
        if decorrelate:
            args.append("--decorrelate" if decorrelate == 1 else "--no-decorrelate")
        for p in self.method["parameters"]:
            key = p["name"].upper()
            if parameters.get(key) is None or parameters.get(key) == "":
                continue
            if p["choices"] and p["type"] == "str":
                value = self.parameterAsEnumString(parameters, key, context)
            elif p["type"] == "int":
                value = self.parameterAsInt(parameters, key, context)
            elif p["type"] == "float":
                value = self.parameterAsDouble(parameters, key, context)
            elif p["type"] == "bool":
                value = str(self.parameterAsBoolean(parameters, key, context)).lower()
            else:
                value = self.parameterAsString(parameters, key, context)
            args += ["--" + p["name"].replace("_", "-"), value]
        return args, output

    def flag_labels(self):
        """The engine's flags that this dialog sets, with the labels the user sees."""
        flags = {self.INPUT_DOMAIN: "--domain", self.OUTPUT_DOMAIN: "--output-domain", self.BAND: "--band", self.CHUNK_SIZE: "--chunk-size",
                 self.COMPRESS: "--compress", self.DECORRELATE: "--decorrelate", self.COMPLEX_PAIRS: "--complex-pairs",
                 self.DYNAMIC_RANGE: "--dynamic-range"}
        flags.update({p["name"].upper(): "--" + p["name"].replace("_", "-") for p in self.method["parameters"]})
        return {flags[d.name()]: d.description() for d in self.parameterDefinitions() if d.name() in flags}

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API
        usable, problem = self.canExecute()
        if not usable:
            raise QgsProcessingException(problem)
        args, output = self.command(parameters, context)
        result = run_engine(args, feedback, labels=self.flag_labels())
        if result is None:  # cancelled
            return {}
        return {self.OUTPUT: output}
