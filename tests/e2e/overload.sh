#!/bin/sh
# overload.sh BUILD_DIR -- overload behaviour (RELIABILITY 2.2 O1, O3; R9):
#   1. a bounded ingest queue (--queue-jobs 2, 200 ms injected commit delay) under
#      30 concurrent POSTs: the overflow gets 503 + Retry-After + "overloaded",
#      nothing else fails, and the store holds exactly the ids answered 2xx;
#   2. a per-IP connection limit (--per-ip-limit 4) with 8 idle sockets held open:
#      the server stays up and a client on 127.0.0.2 is still served;
#   3. SIGTERM with requests in flight: each is answered 2xx or 503, exit 0.
# Overload is made by small limits and an injected delay, not by outrunning the
# machine.  Prints "N passed, N failed" last.
# shellcheck disable=SC2034,SC2119 # BUILD and the helpers' optional arguments
set -u
BUILD=${1:?usage: sh tests/e2e/overload.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

tp_setup || { bad setup "journey/keys setup failed"; finish; }
JSON='Content-Type: application/json'
mkdir -p "$T/ov" "$T/term"

# fire DIR PREFIX N: N concurrent single-event POSTs with ids PREFIX-1..N; each
# leaves DIR/I.status, DIR/I.hdr and DIR/I.body.  Returns when all are answered
# (each curl is bounded by --max-time).
fire() {
        _i=1
        _pids=""
        while [ $_i -le "$3" ]; do
                curl -s --max-time 20 -o "$1/$_i.body" -D "$1/$_i.hdr" -w '%{http_code}' \
                        -H "$IH" -H "$JSON" \
                        -d "{\"id\":\"$2-$_i\",\"customer\":\"cust-$_i\",\"touchpoint\":\"$TP1\",\"type\":\"view\"}" \
                        "$BASE/v1/events" >"$1/$_i.status" 2>/dev/null &
                _pids="$_pids $!"
                _i=$((_i + 1))
        done
        FIRE_PIDS=$_pids
}

# tally DIR PREFIX N: sets N2XX, N503, NOTHER and writes DIR/ok.ids, DIR/busy.ids.
tally() {
        N2XX=0 N503=0 NOTHER=0
        : >"$1/ok.ids"
        : >"$1/busy.ids"
        : >"$1/other"
        _i=1
        while [ $_i -le "$3" ]; do
                _s=$(cat "$1/$_i.status" 2>/dev/null)
                case $_s in
                2??)
                        N2XX=$((N2XX + 1))
                        echo "$2-$_i" >>"$1/ok.ids"
                        ;;
                503)
                        N503=$((N503 + 1))
                        echo "$2-$_i" >>"$1/busy.ids"
                        ;;
                *)
                        NOTHER=$((NOTHER + 1))
                        echo "$2-$_i: ${_s:-none} $(head -c 200 "$1/$_i.body" 2>/dev/null)" >>"$1/other"
                        ;;
                esac
                _i=$((_i + 1))
        done
        sort -o "$1/ok.ids" "$1/ok.ids"
        sort -o "$1/busy.ids" "$1/busy.ids"
}

# busy_replies_ok DIR: every 503 has an integer Retry-After and code "overloaded".
busy_replies_ok() {
        _bad=""
        for _f in "$1"/*.status; do
                [ "$(cat "$_f")" = 503 ] || continue
                _b=${_f%.status}
                _ra=$(tr -d '\r' <"$_b.hdr" | sed -n 's/^[Rr]etry-[Aa]fter: *//p')
                case $_ra in '' | *[!0-9]*) _bad="$_bad $(basename "$_b"):retry-after='$_ra'" ;; esac
                jq -e '.error.code == "overloaded"' "$_b.body" >/dev/null 2>&1 || _bad="$_bad $(basename "$_b"):body"
        done
        [ -z "$_bad" ] || { echo "  bad 503 replies:$_bad"; return 1; }
}

# stored_ids PREFIX FILE: the ids with PREFIX in the (stopped) server's store.
stored_ids() {
        sqlite3 "$DB" "select id from events where id like '$1-%'" | sort >"$2"
}

# ---- 1. bounded ingest queue ------------------------------------------------------

start_server --queue-jobs 2 --test-commit-delay-us 200000 || finish
fire "$T/ov" ov 30
# Sample the queue depth while the burst is on: it must never pass the cap.
maxdepth=0
_k=0
while [ $_k -lt 10 ]; do
        d=$(metric touchpoint_ingest_queue_depth)
        [ "$d" -gt "$maxdepth" ] && maxdepth=$d
        _k=$((_k + 1))
        sleep 0.1
done
# shellcheck disable=SC2086
wait $FIRE_PIDS
tally "$T/ov" ov 30
echo "  queue: $N2XX answered 2xx, $N503 answered 503, $NOTHER other (max queue depth seen $maxdepth)"
within overload_some_503 "$N503" 1 29
within overload_some_2xx "$N2XX" 1 29
eq overload_no_other_status "$NOTHER" 0
[ -s "$T/ov/other" ] && sed 's/^/    /' "$T/ov/other"
expect overload_503_retry_after_and_code "503 replies lack Retry-After or code" busy_replies_ok "$T/ov"
within overload_queue_depth_capped "$maxdepth" 0 2
eq overload_busy_metric "$(metric touchpoint_ingest_rejected_busy_total)" "$N503"
eq overload_rows_metric "$(metric 'touchpoint_rows_ingested_total{kind="event"}')" "$N2XX"
health_ok overload_health_after
stop_server overload_server_exit_0
stored_ids ov "$T/ov/stored.ids"
eq overload_acked_all_stored "$(comm -23 "$T/ov/ok.ids" "$T/ov/stored.ids" | wc -l | tr -d ' ')" 0
eq overload_refused_not_stored "$(comm -12 "$T/ov/busy.ids" "$T/ov/stored.ids" | wc -l | tr -d ' ')" 0
eq overload_stored_count "$(wc -l <"$T/ov/stored.ids" | tr -d ' ')" "$N2XX"

# A retry of the refused ids (what a client does after Retry-After) stores them.
start_server || finish
if [ -s "$T/ov/busy.ids" ]; then
        sed "s/.*/{\"id\":\"&\",\"customer\":\"retry\",\"touchpoint\":\"$TP1\",\"type\":\"view\"}/" "$T/ov/busy.ids" >"$T/ov/retry.nd"
        check overload_retry_accepted 200 ".accepted == $N503 and .duplicates == 0" \
                -H "$IH" -H 'Content-Type: application/x-ndjson' --data-binary "@$T/ov/retry.nd" /v1/events
fi
stop_server overload_retry_exit_0
eq overload_all_30_once "$(db_count events "id like 'ov-%'")" 30

# ---- 2. per-IP connection limit ----------------------------------------------------

start_server --per-ip-limit 4 || finish
# Hold 8 idle connections from 127.0.0.1 for 4 s (bash /dev/tcp, one process).
timeout 8 bash -c '
        for i in 1 2 3 4 5 6 7 8; do exec {fd}<>"/dev/tcp/127.0.0.1/$1" || true; done
        sleep 4' hold "$PORT" 2>/dev/null &
HOLD=$!
LIB_EXTRA_CLEANUP='kill $HOLD 2>/dev/null'
sleep 0.7
expect perip_server_up "server died with 8 idle connections" server_alive
probes_ok=0
_k=0
while [ $_k -lt 5 ]; do
        s=$(curl -s --max-time 3 --interface 127.0.0.2 -o /dev/null -w '%{http_code}' "$BASE/v1/health")
        [ "$s" = 200 ] && probes_ok=$((probes_ok + 1))
        _k=$((_k + 1))
        sleep 0.2
done
eq perip_probe_127_0_0_2 "$probes_ok" 5
# From the crowded address, a fifth connection is refused quickly (closed, no wait).
t0=$(date +%s%N)
s=$(curl -s --max-time 3 -o /dev/null -w '%{http_code}' "$BASE/v1/health")
ms=$((($(date +%s%N) - t0) / 1000000))
one_of perip_over_limit_refused "$s" 000 503
within perip_over_limit_fast_ms "$ms" 0 1500
wait $HOLD 2>/dev/null
LIB_EXTRA_CLEANUP=""
# Full service again within about a second of the sockets closing.
served=0
_k=0
while [ $_k -lt 15 ]; do
        s=$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "$BASE/v1/health")
        [ "$s" = 200 ] && { served=1; break; }
        _k=$((_k + 1))
        sleep 0.1
done
eq perip_recovers_after_close "$served" 1
stop_server perip_server_exit_0

# ---- 3. SIGTERM with requests in flight ----------------------------------------------

start_server --test-commit-delay-us 300000 || finish
fire "$T/term" term 12
# Wait until all 12 are inside the server (the /metrics request counts itself).
inflight=0
_k=0
while [ $_k -lt 60 ]; do
        inflight=$(metric touchpoint_http_requests_in_flight)
        [ "$inflight" -ge 13 ] && break
        _k=$((_k + 1))
        sleep 0.05
done
within term_all_in_flight "$inflight" 13 100
stop_server term_server_exit_0
# shellcheck disable=SC2086
wait $FIRE_PIDS
tally "$T/term" term 12
echo "  sigterm: $N2XX answered 2xx, $N503 answered 503, $NOTHER other"
eq term_all_answered "$NOTHER" 0
[ -s "$T/term/other" ] && sed 's/^/    /' "$T/term/other"
expect term_503_replies "503 replies lack Retry-After or code" busy_replies_ok "$T/term"
stored_ids term "$T/term/stored.ids"
eq term_acked_all_stored "$(comm -23 "$T/term/ok.ids" "$T/term/stored.ids" | wc -l | tr -d ' ')" 0
eq term_refused_not_stored "$(comm -12 "$T/term/busy.ids" "$T/term/stored.ids" | wc -l | tr -d ' ')" 0
eq integrity_check "$(sqlite3 "$DB" 'PRAGMA integrity_check')" ok
# Shutdown with idle keep-alive connections: a request sent on one while the
# server stops gets an answer (2xx or 503) or a closed connection, never a crash
# (the writer is stopped before the daemon, but freed only after it).
round=1
while [ $round -le 5 ]; do
        start_server || break
        body='{"id":"ka-'$round'","customer":"k","touchpoint":"'$TP1'","type":"view"}'
        len=$(printf '%s' "$body" | wc -c)
        bash -c '
                exec 3<>/dev/tcp/127.0.0.1/'"$PORT"' || exit 0
                printf "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n" >&3
                sleep 0.2
                kill -TERM '"$SERVER_PID"'
                sleep 0.0'"$round"'
                printf "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer '"$INGEST"'\r\nContent-Type: application/json\r\nContent-Length: '"$len"'\r\n\r\n%s" '"'$body'"' >&3 2>/dev/null
                timeout 3 cat <&3 >/dev/null 2>&1
                exit 0' >/dev/null 2>&1
        stop_server "keepalive_shutdown_$round"
        round=$((round + 1))
done

finish
