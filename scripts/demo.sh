#!/bin/sh
# demo.sh BUILD_DIR -- the README's first command: a Touchpoint with realistic data
# on http://127.0.0.1:8080.  The first run generates a retail-vn data set (several
# months, thousands of customers, events and responses at every touchpoint) and
# imports it through `touchpoint import`; later runs reuse demo-data/.  Every run
# prints a fresh admin key, once.  Ctrl-C stops the server.
set -eu
BUILD=${1:-build/release}
TP=$BUILD/touchpoint
GEN=$BUILD/tools/tpgen
DIR=${TP_DEMO_DIR:-demo-data}
DB=sqlite:$DIR/touchpoint.db
LISTEN=${TP_DEMO_LISTEN:-127.0.0.1:8080}

if [ ! -f "$DIR/touchpoint.db" ]; then
        echo "== generating the demo data set (retail-vn journey, 6 months)"
        rm -rf "$DIR.tmp"
        end=$(date -u +%Y-%m-%d)
        start=$(date -u -d "$end - 183 days" +%Y-%m-%d)
        "$GEN" --template retail-vn --customers 8000 --events 240000 --responses 30000 --seed 42 \
                --start "$start" --end "$end" --out "$DIR.tmp" --quiet
        echo "== importing"
        "$TP" journey apply --db "sqlite:$DIR.tmp/touchpoint.db" "$DIR.tmp/journey.json"
        "$TP" import --db "sqlite:$DIR.tmp/touchpoint.db" --kind events "$DIR.tmp/events.csv"
        "$TP" import --db "sqlite:$DIR.tmp/touchpoint.db" --kind responses "$DIR.tmp/responses.csv"
        mkdir -p "$DIR"
        mv "$DIR.tmp/touchpoint.db" "$DIR/touchpoint.db"
        rm -rf "$DIR.tmp"
fi
KEY=$("$TP" key create --db "$DB" --scope admin --name "demo $(date -u +%Y-%m-%dT%H:%M:%SZ)")
KIOSK=$("$TP" key create --db "$DB" --scope ingest --name "demo kiosk")
LINK=$("$TP" link create --db "$DB" --touchpoint invoice --customer c0000001 --metric nps \
        --base-url "http://$LISTEN" 2>/dev/null)
cat <<EOT

== Touchpoint demo
   admin key (shown once, keep it):  $KEY
   dashboard:  http://$LISTEN/   (sign in with the admin key; Vietnamese first, English in the menu)
   kiosk:      http://$LISTEN/kiosk/store#key=$KIOSK
   survey link (single use):  $LINK
   API:
     curl -s http://$LISTEN/v1/health
     curl -s -H "Authorization: Bearer $KEY" 'http://$LISTEN/v1/reports/themes?touchpoint=invoice&detractors=1'
     curl -s -H "Authorization: Bearer $KEY" http://$LISTEN/v1/customers/c0000001/timeline
   Ctrl-C stops the server.

EOT
exec "$TP" serve --db "$DB" --listen "$LISTEN"
