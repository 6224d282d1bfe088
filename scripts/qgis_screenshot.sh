#!/usr/bin/env bash
# Render the plugin's 'Lee sigma' dialog offscreen in a real QGIS into docs/qgis_dialog.png.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/plugins" "$work/runtime" "$root/docs"
chmod 700 "$work/runtime"
ln -s "$root/qgis_plugin" "$work/plugins/despeckle"
layer="${1:-$root/../shared/data/sar/geotiff/S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif}"
env -i PATH=/usr/bin:/bin HOME="$work" QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR="$work/runtime" \
  QGIS_PLUGINPATH="$work/plugins" QGIS_CUSTOM_CONFIG_PATH="$work/profile" DESPECKLE_EXECUTABLE="$root/.venv/bin/despeckle" \
  /usr/bin/python3 "$root/tests/qgis/harness.py" \
  "{\"command\": \"dialog\", \"algorithm\": \"despeckle:lee_sigma\", \"layer\": \"$layer\", \"png\": \"$root/docs/qgis_dialog.png\"}"
