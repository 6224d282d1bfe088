"""QGIS plugin entry point: QGIS calls classFactory(iface)."""


def classFactory(iface):  # noqa: N802 - the name QGIS looks for
    from .plugin import DespecklePlugin

    return DespecklePlugin(iface)
