#!/bin/sh
# browser.sh BUILD -- the dashboard, widget, kiosk and survey pages in a real
# browser (Debian's chromium, headless, driven by playwright-core from
# web/node_modules).  A fresh db with a small generated data set, an admin key
# and an ingest key whose allowed origin is the first of two loopback "shop"
# origins (tests/browser/host.mjs); `touchpoint serve --web BUILD/web`; then
# every tests/browser/*.mjs check script, each printing "ok NAME" / "FAIL NAME:
# why".  Screenshots of every page go to BUILD/artefacts/screenshots/.
set -u
BUILD=${1:-build/asan}
. tests/e2e/lib.sh

ROOT=$(pwd)
WEBOUT=$BUILD/web
SHOTS=$BUILD/artefacts/screenshots
NODE_MAX=${NODE_MAX:-150}
HOST_PID=""
LIB_EXTRA_CLEANUP='[ -n "$HOST_PID" ] && { kill -TERM "$HOST_PID" 2>/dev/null; wait "$HOST_PID" 2>/dev/null; }'

for tool in node npm; do
        command -v "$tool" >/dev/null 2>&1 || { bad "setup" "$tool is needed (make deps)"; finish; }
done
CHROMIUM=${TP_CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { bad "setup" "$CHROMIUM is needed (make deps)"; finish; }

# The static files: built by make into BUILD/web; rebuilt here when missing or
# older than a source (web.sh also installs web/node_modules from the lock file).
if [ ! -f "$WEBOUT/index.html" ] || [ -n "$(find web/src web/package-lock.json -newer "$WEBOUT/index.html" 2>/dev/null | head -n 1)" ]; then
        sh scripts/web.sh "$WEBOUT" >"$T/web.log" 2>&1 || { bad "web build" "$(tail -n 5 "$T/web.log")"; finish; }
fi
[ -d web/node_modules/playwright-core ] || {
        (cd web && npm ci --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1 ||
                { bad "npm ci" "$(tail -n 5 "$T/npm.log")"; finish; }
}
mkdir -p "$SHOTS"
rm -f "$SHOTS"/*.png

# ---- data: a small retail-vn set over the last 120 days ------------------------
GEN=$BUILD/tools/tpgen
[ -x "$GEN" ] || { bad "setup" "$GEN is not built"; finish; }
end=$(date -u +%Y-%m-%d)
start=$(date -u -d "$end - 120 days" +%Y-%m-%d)
"$GEN" --template retail-vn --customers 400 --events 8000 --responses 1500 --seed 5 \
        --start "$start" --end "$end" --out "$T/gen" --quiet >"$T/gen.log" 2>&1 || { bad "tpgen" "failed"; finish; }
"$TP" journey apply --db "sqlite:$DB" "$T/gen/journey.json" >/dev/null 2>&1 || { bad "journey apply" "failed"; finish; }
"$TP" import --db "sqlite:$DB" --kind events "$T/gen/events.csv" >/dev/null 2>&1 || { bad "import events" "failed"; finish; }
"$TP" import --db "sqlite:$DB" --kind responses "$T/gen/responses.csv" >/dev/null 2>&1 || { bad "import responses" "failed"; finish; }

# ---- the two shop origins ------------------------------------------------------------
node tests/browser/host.mjs >"$T/host.out" 2>"$T/host.err" &
HOST_PID=$!
i=0
while [ $i -lt 100 ] && ! grep -qs '^listening on ' "$T/host.out"; do
        kill -0 "$HOST_PID" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
done
SHOP=$(awk '/^listening on /{print $3}' "$T/host.out")
OTHER=$(awk '/^listening on /{print $4}' "$T/host.out")
[ -n "$SHOP" ] && [ -n "$OTHER" ] || { bad "host server" "no ready line: $(cat "$T/host.err")"; finish; }

ADMIN=$("$TP" key create --db "sqlite:$DB" --scope admin --name browser-admin) || { bad "admin key" "failed"; finish; }
INGEST=$("$TP" key create --db "sqlite:$DB" --scope ingest --name shop --origin "$SHOP") || { bad "ingest key" "failed"; finish; }

case $WEBOUT in /*) WEBABS=$WEBOUT ;; *) WEBABS=$ROOT/$WEBOUT ;; esac
start_server --web "$WEBABS" || finish
# Segments and attributes for a few customers (a CRM would send these), so the
# segment and attribute filters are real: c0000001-3 "vip", c0000004 "khách
# mới"; c0000001-30 a city (odd: "Hồ Chí Minh", even: "Hà Nội"), a plan (gold
# up to 10, else silver) and an e-mail address, too long to be a filter
# (GET /v1/attributes lists it with breakdown: false).
i=1
while [ $i -le 30 ]; do
        c=$(printf 'c%07d' "$i")
        case $i in 1 | 2 | 3) seg='"vip"' ;; 4) seg='"khách mới"' ;; *) seg=null ;; esac
        if [ $((i % 2)) -eq 1 ]; then city="Hồ Chí Minh"; else city="Hà Nội"; fi
        if [ "$i" -le 10 ]; then plan=gold; else plan=silver; fi
        st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 15 -X PUT -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
                -d "{\"segment\":$seg,\"attributes\":{\"city\":\"$city\",\"plan\":\"$plan\",\"email\":\"customer$i.with.a.long.address@example-shop.vn\"}}" \
                "$BASE/v1/customers/$c")
        [ "$st" = 200 ] || { bad "customer $c" "PUT /v1/customers answered $st"; break; }
        i=$((i + 1))
done

# ---- the browser checks -----------------------------------------------------------------
for js in tests/browser/*.mjs; do
        case $js in */lib.mjs | */host.mjs) continue ;; esac
        name=$(basename "$js" .mjs)
        TP_BASE=$BASE TP_ADMIN=$ADMIN TP_INGEST=$INGEST TP_HOST=$SHOP TP_BAD_HOST=$OTHER \
                TP_SHOTS=$SHOTS TP_TMP=$T TP_CHROMIUM=$CHROMIUM \
                timeout -k 5 "$NODE_MAX" node "$js" >"$T/$name.out" 2>"$T/$name.err"
        rc=$?
        n_ok=$(grep -c '^ok ' "$T/$name.out")
        n_fail=$(grep -c '^FAIL ' "$T/$name.out")
        pass=$((pass + n_ok))
        fail=$((fail + n_fail))
        [ -n "${VERBOSE:-}" ] && grep '^ok ' "$T/$name.out" | sed "s/^ok /ok   $name: /"
        grep '^FAIL ' "$T/$name.out" | sed "s/^FAIL /FAIL $name: /"
        if [ "$rc" -ne 0 ] && [ "$n_fail" -eq 0 ]; then
                bad "$name" "exited $rc without a FAIL line (timeout is 124); stderr: $(tail -n 5 "$T/$name.err")"
        fi
done

stop_server
finish
