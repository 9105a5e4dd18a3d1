#!/usr/bin/env bash
# Makes sure the system packages slickwatch needs are present: PostgreSQL with PostGIS (the private
# database), gdal-bin (ogrinfo, used by the tests as an independent OGC API client) and chromium
# (headless checks of the map page). Installs them with apt when run as root; otherwise prints the
# command to run.
set -euo pipefail

missing=()
if ! compgen -G "/usr/share/postgresql/*/extension/postgis.control" >/dev/null \
   || ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  missing+=(postgresql-15-postgis-3)
fi
command -v ogrinfo >/dev/null || missing+=(gdal-bin)
command -v chromium >/dev/null || missing+=(chromium)

[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "slickwatch: installing ${missing[*]} with apt" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  cat >&2 <<MSG
slickwatch needs these system packages: ${missing[*]}
Install them as root:

    sudo sh -c '$cmd'

or use conda instead: 'conda env create -f environment.yml' provides PostgreSQL, PostGIS and GDAL.
MSG
  exit 1
fi
