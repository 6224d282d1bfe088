"""What every algorithm of the provider shares: translation, instance creation, group, enum
values given by name."""

from qgis.core import QgsProcessingAlgorithm
from qgis.PyQt.QtCore import QCoreApplication


def _is_a_name(value):
    """Whether an enum parameter's value is an option's name rather than its index."""
    return isinstance(value, str) and not value.strip().lstrip("-").isdigit()


class EngineAlgorithm(QgsProcessingAlgorithm):
    """Subclasses set ALGORITHM_NAME, DISPLAY_NAME, GROUP, GROUP_ID and HELP (or override the
    methods that return them); those with enum parameters override ``_enums``."""

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

    def _enums(self):
        """Each enum parameter's options, by parameter name, so that a value may also be given by
        name (``INPUT_DOMAIN=db`` from qgis_process, a script or a model)."""
        return {}

    def with_indices(self, parameters):
        """``parameters`` with enum values given by name replaced by their index."""
        named = dict(parameters)
        for key, options in self._enums().items():
            value = named.get(key)
            if _is_a_name(value):
                wanted = value.strip().lower()
                matches = [i for i, option in enumerate(options) if option.lower() == wanted or option.lower().startswith(wanted + " ")]
                if matches:
                    named[key] = matches[0]
        return named

    def unknown_enum_name(self, parameters):
        """The message for an enum value given by a name none of its options has (``parameters``
        as ``with_indices`` returns them), else None."""
        for key, options in self._enums().items():
            value = parameters.get(key)
            if _is_a_name(value):
                return self.tr(f"{key} must be one of {', '.join(options)} (or its number), got {value!r}")
        return None


def help_text(paragraphs):
    """The algorithm's help as plain paragraphs: QGIS's dialog shows text without tags as it is
    (line breaks kept), and ``qgis_process help`` prints it without raw ``<br>`` or ``<b>``."""
    return "\n".join(paragraphs).strip()
