"""What every algorithm of the provider shares: translation, instance creation, group, enum
values given by name."""

from qgis.core import QgsProcessingAlgorithm, QgsProcessingParameterEnum
from qgis.PyQt.QtCore import QCoreApplication


def _is_empty(value):
    """No value: None, an empty text, or QGIS's NULL (what qgis_process passes for ``KEY=``)."""
    return value is None or value == "" or (hasattr(value, "isNull") and value.isNull())


def _is_a_name(value):
    """Whether an enum parameter's value is an option's name rather than its index."""
    return isinstance(value, str) and not value.strip().lstrip("-").isdigit()


def named_enum(key, label, options, default=None, optional=False):
    """An enum parameter whose value is its option's text, not its position (QGIS's static
    strings), for option lists that come from the engine's methods: a model, a script or the
    history saved with METHOD=ratio still means ratio after the engine gains a method, where a
    saved position would silently pick another one."""
    return QgsProcessingParameterEnum(key, label, options=options, defaultValue=default, optional=optional, usesStaticStrings=True)


class EngineAlgorithm(QgsProcessingAlgorithm):
    """Subclasses set ALGORITHM_NAME, DISPLAY_NAME, GROUP, GROUP_ID and HELP (or override the
    methods that return them); those with enum parameters override ``_enums`` (positional
    enums) and ``_named_enums`` (those made by ``named_enum``)."""

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
        """Each positional enum parameter's options, by parameter name, so that a value may also be
        given by name (``INPUT_DOMAIN=db`` from qgis_process, a script or a model)."""
        return {}

    def _named_enums(self):
        """Each ``named_enum`` parameter's options, by parameter name."""
        return {}

    def with_indices(self, parameters):
        """``parameters`` with positional enum values given by name replaced by their index, and
        named enum values given in another case (``METHOD=Ratio``) by the option's own text."""
        named = dict(parameters)
        for key, options in self._enums().items():
            value = named.get(key)
            if _is_a_name(value):
                wanted = value.strip().lower()
                matches = [i for i, option in enumerate(options) if option.lower() == wanted or option.lower().startswith(wanted + " ")]
                if matches:
                    named[key] = matches[0]
        for key, options in self._named_enums().items():
            value = named.get(key)
            if isinstance(value, str):
                named[key] = next((option for option in options if option.lower() == value.strip().lower()), value)
        return named

    def unknown_enum_name(self, parameters):
        """The message for an enum value none of its options has (``parameters`` as
        ``with_indices`` returns them), else None."""
        for key, options in self._enums().items():
            value = parameters.get(key)
            if _is_a_name(value):
                return self.tr(f"{key} must be one of {', '.join(options)} (or its number), got {value!r}")
        for key, options in self._named_enums().items():
            value = parameters.get(key)
            if _is_empty(value) or value in options:
                continue  # empty: the default (QGIS checks what is required)
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool) or (isinstance(value, str) and not _is_a_name(value))
            why = ("; give the name, not a number: these options are the engine's and may change from one version to the next, "
                   "so a saved number could pick another one") if numeric else ""
            return self.tr(f"{key} must be one of {', '.join(options)}, got {value!r}{why}")
        return None


def help_text(paragraphs):
    """The algorithm's help as plain paragraphs: QGIS's dialog shows text without tags as it is
    (line breaks kept), and ``qgis_process help`` prints it without raw ``<br>`` or ``<b>``."""
    return "\n".join(paragraphs).strip()
