"""Drives a real QGIS for the plugin tests. Runs in QGIS's own Python (Debian's /usr/bin/python3
with python3-qgis), never in the engine's environment.

    python3 harness.py '{"command": ..., ...}'

Commands: ``list`` (the provider's algorithms, and what the plugin wrote to QGIS's message log), ``help`` (an algorithm's help and parameter labels), ``parameters`` (one algorithm's parameters, with
their advanced flag and choices), ``run`` (processing.run an algorithm; with ``"load": true`` its
results are loaded into the project when it ends, as the Processing dialog loads them, and the
outcome says what was to be loaded and what the project holds), ``cancel`` (run, cancelling once
progress passes a fraction), ``dialog`` (render an algorithm's dialog to a PNG). The last line
printed is a JSON object with the outcome.
"""

import json
import os
import sys
import time

from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingFeedback, QgsProject, QgsRasterLayer

request = json.loads(sys.argv[1])
app = QgsApplication([], True)
app.initQgis()
sys.path.append("/usr/share/qgis/python/plugins")
from processing.core.Processing import Processing  # noqa: E402

# What the plugin writes to QGIS's message log (the Log Messages panel), from its first moment.
logged = []
QgsApplication.messageLog().messageReceived.connect(lambda text, tag, level: logged.append(text) if tag == "Despeckle" else None)
Processing.initialize()
import processing  # noqa: E402
import qgis.utils  # noqa: E402
from processing.core.ProcessingConfig import ProcessingConfig  # noqa: E402

# QGIS itself (and qgis_process) read QGIS_PLUGINPATH; a standalone script sets it up the same way.
for folder in filter(None, os.environ.get("QGIS_PLUGINPATH", "").split(os.pathsep)):
    sys.path.insert(0, folder)
    qgis.utils.plugin_paths.insert(0, folder)
qgis.utils.updateAvailablePlugins()
if not (qgis.utils.loadPlugin("despeckle") and qgis.utils.startProcessingPlugin("despeckle")):
    print(json.dumps({"error": "the despeckle plugin did not load"}))
    sys.exit(1)
if "executable" in request:  # what a user sets in Settings > Options > Processing > Providers
    ProcessingConfig.setSettingValue("DESPECKLE_EXECUTABLE", request["executable"])


class Feedback(QgsProcessingFeedback):
    """Records what an algorithm reports; cancels once progress passes ``cancel_at`` percent."""

    def __init__(self, cancel_at=None):
        super().__init__()
        self.messages, self.progress, self.cancel_at, self.cancelled_at = [], [], cancel_at, None
        self.progressChanged.connect(self._progress)

    def _progress(self, value):
        self.progress.append(value)
        if self.cancel_at is not None and value >= self.cancel_at and not self.isCanceled():
            self.cancelled_at = time.monotonic()
            self.cancel()

    def pushInfo(self, text):  # noqa: N802
        self.messages.append(["info", text])

    def pushWarning(self, text):  # noqa: N802
        self.messages.append(["warning", text])

    def reportError(self, text, fatal=False):  # noqa: N802
        self.messages.append(["error", text])

    def pushCommandInfo(self, text):  # noqa: N802
        self.messages.append(["command", text])


provider = QgsApplication.processingRegistry().providerById("despeckle")
command = request["command"]
outcome = {}
if command == "list":
    outcome = {"algorithms": sorted(a.id() for a in provider.algorithms()), "groups": sorted({a.group() for a in provider.algorithms()}),
               "names": {a.id(): a.displayName() for a in provider.algorithms()}, "groups_of": {a.id(): a.group() for a in provider.algorithms()},
               "can_execute": {a.id(): list(a.canExecute()) for a in provider.algorithms()}, "log": logged}
elif command in ("run", "cancel"):
    feedback = Feedback(request.get("cancel_at"))
    loading = {}
    if request.get("load"):  # as the Processing dialog runs an algorithm: a context on the project, its results loaded at the end
        from processing.gui.Postprocessing import handleAlgorithmResults

        context = QgsProcessingContext()
        context.setProject(QgsProject.instance())
        loading = {"context": context, "onFinish": lambda alg, ctx, fb: handleAlgorithmResults(alg, ctx, fb)}
    kinds = (str, int, float, list, type(None)) if loading else (str, int, float, type(None))  # without onFinish, lists hold layers
    started = time.monotonic()
    try:
        result = processing.run(request["algorithm"], request["parameters"], feedback=feedback, **loading)
        outcome = {"result": {k: v for k, v in result.items() if isinstance(v, kinds)}}
    except Exception as error:  # QgsProcessingException and its wrappers
        outcome = {"error": str(error)}
    if loading:
        outcome["to_load"] = {path: [d.name, d.outputName] for path, d in loading["context"].layersToLoadOnCompletion().items()}
        outcome["loaded"] = [[layer.name(), layer.source(), layer.crs().authid()] for layer in QgsProject.instance().mapLayers().values()]
    outcome.update(messages=feedback.messages, progress=feedback.progress, seconds=time.monotonic() - started,
                   stopped_after_cancel=(time.monotonic() - feedback.cancelled_at) if feedback.cancelled_at else None)
elif command == "help":  # what the dialog's help panel and qgis_process help show
    algorithm = QgsApplication.processingRegistry().algorithmById(request["algorithm"])
    outcome = {"help": algorithm.shortHelpString(), "labels": [p.description() for p in algorithm.parameterDefinitions()]}
elif command == "parameters":  # an algorithm's parameters as QGIS built them
    from qgis.core import QgsProcessingParameterDefinition

    algorithm = QgsApplication.processingRegistry().algorithmById(request["algorithm"])
    outcome = {"parameters": {p.name(): {"advanced": bool(p.flags() & QgsProcessingParameterDefinition.FlagAdvanced),
                                         "options": p.options() if hasattr(p, "options") else None,
                                         "by_name": p.usesStaticStrings() if hasattr(p, "usesStaticStrings") else None}
                              for p in algorithm.parameterDefinitions()}} if algorithm else {"error": "no such algorithm"}
elif command == "dialog":
    from processing.gui.AlgorithmDialog import AlgorithmDialog
    from qgis.PyQt.QtWidgets import QApplication

    layer = QgsRasterLayer(request["layer"], "scene") if request.get("layer") else None
    if layer is not None:
        QgsProject.instance().addMapLayer(layer)
    dialog = AlgorithmDialog(QgsApplication.processingRegistry().createAlgorithmById(request["algorithm"]))
    dialog.resize(900, 760)
    dialog.show()
    for _ in range(20):
        QApplication.processEvents()
        time.sleep(0.05)
    outcome = {"saved": dialog.grab().save(request["png"]), "title": dialog.windowTitle()}
    dialog.close()
print(json.dumps(outcome))
app.exitQgis()
