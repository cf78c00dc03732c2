#!/usr/bin/env bash
# The export and OGC API tests read our files with GDAL (ogrinfo, ogr2ogr); install Debian's
# gdal-bin when missing.
set -euo pipefail
if command -v ogrinfo >/dev/null 2>&1 && command -v ogr2ogr >/dev/null 2>&1; then
  exit 0
fi
echo "ensure-gdal: installing Debian's gdal-bin (apt-get, about a minute)..."
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gdal-bin >/dev/null
