#!/bin/sh
# report_cap.sh BUILD_DIR -- at most --max-reports analytics questions run at
# once; the rest get 503 with Retry-After, and ingest is never refused for it.
BUILD=${1:-build/asan}
. "$(dirname "$0")/lib.sh"

tp_setup || { bad setup "tp_setup failed"; finish; }
# Each report holds its slot for 0.5 s (test hook), so five sent together
# cannot all fit in one slot.
start_server --max-reports 1 --test-report-delay-us 500000 || finish
pids=""
for i in 1 2 3 4 5; do
        curl -s -o "$T/r$i.body" -D "$T/r$i.hdr" -w '%{http_code}' --max-time 15 -H "$AH" \
                "$BASE/v1/reports/scores" >"$T/r$i.code" &
        pids="$pids $!"
done
check "ingest while reports run" 200 '.accepted == 1' -H "$IH" -H 'Content-Type: application/json' \
        -d '{"id":"cap-1","customer":"k1","touchpoint":"store","type":"visit"}' /v1/events
# shellcheck disable=SC2086 # one PID a word; a bare `wait` would wait for the server too
wait $pids
ok200=0
busy=0
for i in 1 2 3 4 5; do
        case $(cat "$T/r$i.code") in
        200) ok200=$((ok200 + 1)) ;;
        503)
                busy=$((busy + 1))
                tr -d '\r' <"$T/r$i.hdr" | grep -qi '^retry-after: 1$' || bad "503 $i" "no Retry-After: 1"
                jq -e '.error.code == "overloaded"' "$T/r$i.body" >/dev/null || bad "503 $i" "code is not overloaded"
                ;;
        *) bad "report $i" "status $(cat "$T/r$i.code")" ;;
        esac
done
expect "some reports were answered ($ok200)" "none answered" [ "$ok200" -ge 1 ]
expect "some reports were refused ($busy)" "none refused" [ "$busy" -ge 1 ]
check "a report after the burst is answered" 200 '.rows | type == "array"' -H "$AH" /v1/reports/scores
stop_server
finish
