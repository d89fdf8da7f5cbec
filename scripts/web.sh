#!/bin/sh
# web.sh OUTDIR -- build the dashboard, kiosk, survey page and widget into OUTDIR
# (index.html, kiosk.html, survey.html, widget.js, assets/...), the static files
# that `touchpoint serve --web OUTDIR` serves.  No build tool: the sources in
# web/src are plain HTML, CSS and ES modules and are copied as they are; ECharts
# comes from npm (web/package-lock.json) and is copied next to them, so nothing
# is fetched at run time.  Runs `npm ci` when web/node_modules is missing or
# older than the lock file.  Prints the widget's gzipped size.
set -eu
OUT=${1:?usage: web.sh OUTDIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WEB=$ROOT/web

if [ ! -d "$WEB/node_modules" ] || [ "$WEB/package-lock.json" -nt "$WEB/node_modules" ] ||
        [ ! -f "$WEB/node_modules/echarts/dist/echarts.min.js" ]; then
        command -v npm >/dev/null 2>&1 || {
                echo "web.sh: npm is needed to install web/package-lock.json (make deps)" >&2
                exit 1
        }
        echo "  NPM     web/node_modules (npm ci)"
        (cd "$WEB" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
        touch "$WEB/node_modules"
fi

ECHARTS=$WEB/node_modules/echarts/dist/echarts.min.js
ver=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$WEB/node_modules/echarts/package.json" | head -n 1)
case $ver in
6.[1-9]* | 6.[1-9][0-9]* | [7-9].*) ;;
*) echo "web.sh: echarts $ver in web/node_modules, need 6.1.0 or later" >&2; exit 1 ;;
esac

tmp=$OUT.tmp.$$
rm -rf "$tmp"
mkdir -p "$tmp/assets"
cp -R "$WEB/src/." "$tmp/"
cp "$ECHARTS" "$tmp/assets/echarts.min.js"
cp "$WEB/node_modules/echarts/LICENSE" "$tmp/assets/echarts.LICENSE.txt" 2>/dev/null || true

# No inline script, no inline handler in any page (the server's CSP forbids them).
for f in "$tmp"/*.html; do
        if grep -Eiq '<script>|<script[^>]*>[^<]|[[:space:]]on[a-z]+=' "$f"; then
                echo "web.sh: $f has an inline script or event handler" >&2
                rm -rf "$tmp"
                exit 1
        fi
done

rm -rf "$OUT"
mv "$tmp" "$OUT"
wsize=$(wc -c <"$OUT/widget.js" | tr -d ' ')
wgz=$(gzip -9 -c "$OUT/widget.js" | wc -c | tr -d ' ')
echo "  WEB     $OUT (echarts $ver); widget.js $wsize bytes, $wgz bytes gzipped"
