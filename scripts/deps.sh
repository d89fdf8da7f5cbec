#!/bin/sh
# deps.sh [bench] -- install the Debian 12 packages Touchpoint needs to build, test
# and run the demo (and, with "bench", PostgreSQL for the COPY comparison), but
# only those missing, so it is quick when all are there.
set -eu
pkgs="build-essential pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev libsodium-dev
      libcsv-dev libcmocka-dev libutf8proc-dev libqrencode-dev libpng-dev sqlite3 curl jq chromium zbar-tools"
# Node.js and npm build the dashboard and run the browser tests; a machine that
# already has a node (Debian's or NodeSource's) keeps it.
command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"
[ "${1:-}" = bench ] && pkgs="$pkgs postgresql"
missing=""
for p in $pkgs; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
if [ "$(id -u)" != 0 ]; then
        echo "deps.sh: need root to install:$missing (or install them yourself)" >&2
        exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
