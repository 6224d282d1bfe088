#!/usr/bin/env bash
# Install the Debian packages the test suite needs: Orfeo ToolBox (otbcli_Despeckle, the
# reference for classical filters) and QGIS with its Python bindings (the plugin's tests).
# Does nothing when they are already there.
set -euo pipefail

missing=()
command -v otbcli_Despeckle >/dev/null 2>&1 || missing+=(otb-bin)
if ! command -v qgis_process.bin >/dev/null 2>&1 || ! dpkg -s python3-qgis >/dev/null 2>&1; then
  missing+=(qgis python3-qgis)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "install-system-deps: need root or sudo to install: ${missing[*]}" >&2
  exit 1
fi
echo "install-system-deps: installing ${missing[*]} (Debian packages)" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
