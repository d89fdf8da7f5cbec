#!/usr/bin/env bash
# tests/tploadgen_check.sh - checks tools/tploadgen.c against
# tests/tploadgen_fake_server.c (both built here with ASan+UBSan).
#
# Usage: tests/tploadgen_check.sh        (CC=clang to use another compiler)
# Last line: "N passed, N failed"; exit status 1 when anything failed.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CC=${CC:-gcc}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tploadgen_check.XXXXXX")
PASS=0
FAIL=0
SERVER_PID=""
PORT=""
LG_RUN=0

export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:exitcode=99"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=98"

cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

ok()  { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; }
# check DESCRIPTION COMMAND...
check() {
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else bad "$desc"; fi
}
eq() { [ "$1" = "$2" ] || { echo "     expected '$2', got '$1'" >&2; return 1; }; }
ge() { [ "$1" -ge "$2" ] 2>/dev/null || { echo "     expected >= $2, got '$1'" >&2; return 1; }; }
lt() { [ "$1" -lt "$2" ] 2>/dev/null || { echo "     expected < $2, got '$1'" >&2; return 1; }; }

# kv FILE KEY -> value of KEY=value line
kv() { sed -n "s/^$2=//p" "$1" | head -n 1; }
lines() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }
dups() { sort "$1" | uniq -d | wc -l | tr -d ' '; }
# subset A B: every line of A is in B
subset() { [ "$(comm -23 <(sort -u "$1") <(sort -u "$2") | wc -l)" -eq 0 ]; }
same_set() { subset "$1" "$2" && subset "$2" "$1"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# start_server NAME [fake server args...]; sets SERVER_PID and PORT
start_server() {
    local name=$1
    shift
    : >"$WORK/$name.out"
    "$WORK/fake_server" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    SERVER_PID=$!
    local i
    for i in $(seq 1 100); do
        PORT=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$WORK/$name.out")
        [ -n "$PORT" ] && return 0
        sleep 0.05
    done
    echo "fake server $name did not start" >&2
    return 1
}

# stop_server: SIGTERM by PID, wait, leaves stats in the .err file
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
        SERVER_PID=""
    fi
}

# stat NAME KEY -> number from the fake server's stats line
sstat() { sed -n "s/.*stats.* $2=\([0-9]*\).*/\1/p" "$WORK/$1.err" | head -n 1; }

# lg OUT [tploadgen args...]; stdout -> OUT, stderr -> OUT.err, rc -> LG_RC
lg() {
    local out=$1
    shift
    LG_RUN=$((LG_RUN + 1))
    timeout -k 5 60 "$WORK/tploadgen" "$@" >"$out" 2>"$out.err"
    LG_RC=$?
}

sanitizer_clean() {
    ! grep -lE 'AddressSanitizer|LeakSanitizer|runtime error:' "$WORK"/*.err >/dev/null 2>&1
}

echo "# workdir $WORK"

# ---------------------------------------------------------------- build
STRICT="-std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
-Wmissing-prototypes -Wconversion -Wsign-conversion -Wvla -Wformat=2 -Werror"
# shellcheck disable=SC2086
check "tploadgen compiles with the strict warning set" \
    $CC $STRICT "$ROOT/tools/tploadgen.c" -o "$WORK/tploadgen_plain" -pthread -lm
# shellcheck disable=SC2086
check "tploadgen compiles with -fsanitize=address,undefined" \
    $CC $STRICT -g -fno-omit-frame-pointer -fsanitize=address,undefined \
    "$ROOT/tools/tploadgen.c" -o "$WORK/tploadgen" -pthread -lm
check "fake server compiles with -fsanitize=address,undefined" \
    $CC -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror -fsanitize=address,undefined \
    "$ROOT/tests/tploadgen_fake_server.c" -o "$WORK/fake_server"
if [ ! -x "$WORK/tploadgen" ] || [ ! -x "$WORK/fake_server" ]; then
    echo "$PASS passed, $FAIL failed"
    exit 1
fi

# ---------------------------------------------------------------- arguments
L="$WORK/tploadgen"
"$L" --help >/dev/null 2>&1
check "--help exits 0" eq "$?" 0
bad_args() {
    local desc=$1
    shift
    "$L" "$@" >"$WORK/args.out" 2>"$WORK/args.stderr"
    check "exit 2: $desc" eq "$?" 2
}
bad_args "no arguments"
bad_args "missing --key" --url http://127.0.0.1:9 --requests 1
bad_args "missing --requests/--seconds" --url http://127.0.0.1:9 --key k
bad_args "unknown option" --url http://127.0.0.1:9 --key k --requests 1 --bogus 1
bad_args "--connections 0" --url http://127.0.0.1:9 --key k --requests 1 --connections 0
bad_args "--connections 257" --url http://127.0.0.1:9 --key k --requests 1 --connections 257
bad_args "--batch 0" --url http://127.0.0.1:9 --key k --requests 1 --batch 0
bad_args "--random-batch 5-2" --url http://127.0.0.1:9 --key k --requests 1 --random-batch 5-2
bad_args "--random-batch x" --url http://127.0.0.1:9 --key k --requests 1 --random-batch x
bad_args "--requests abc" --url http://127.0.0.1:9 --key k --requests abc
bad_args "--seconds -1" --url http://127.0.0.1:9 --key k --seconds -1
bad_args "--id-prefix with a quote" --url http://127.0.0.1:9 --key k --requests 1 --id-prefix 'a"b'
bad_args "https url" --url https://127.0.0.1:9 --key k --requests 1
bad_args "url without scheme" --url 127.0.0.1:9 --key k --requests 1
for u in http://10.0.0.1:80 http://192.168.1.10:8080 http://8.8.8.8 http://0.0.0.0:9 \
         "http://[::2]:9" "http://[::ffff:10.0.0.1]:9" http://example.com:80 \
         http://127.0.0.1.example.com:9 "http://user@127.0.0.1:9"; do
    "$L" --url "$u" --key k --requests 1 >"$WORK/args.out" 2>"$WORK/args.stderr"
    rc=$?
    if [ "$rc" -eq 2 ] && [ ! -s "$WORK/args.out" ]; then ok "refuses non-loopback $u"; else bad "refuses non-loopback $u (rc=$rc)"; fi
done
"$L" --url http://10.0.0.1:80 --key k --requests 1 >/dev/null 2>"$WORK/args.stderr"
check "non-loopback refusal message mentions loopback" grep -q loopback "$WORK/args.stderr"

# ---------------------------------------------------------------- no retry, B=3, 1 connection
start_server s1 --key secret --store "$WORK/s1.store" --dump "$WORK/s1.dump" --fail-every 10
lg "$WORK/r1" --url "http://127.0.0.1:$PORT" --key secret --connections 1 --batch 3 \
    --requests 100 --acked "$WORK/r1.acked" --sent "$WORK/r1.sent" --id-prefix t1 \
    --touchpoints alpha,beta --seed 5
stop_server
R="$WORK/r1"
check "no-retry run exits 0" eq "$LG_RC" 0
for k in requests_ok requests_failed status_2xx status_4xx status_503 conn_errors events_acked \
         seconds events_per_s requests_per_s p50_ms p99_ms max_ms; do
    check "output has $k=" grep -Eq "^$k=[0-9]+(\.[0-9]+)?$" "$R"
done
check "no-retry: requests_ok=90" eq "$(kv "$R" requests_ok)" 90
check "no-retry: requests_failed=10" eq "$(kv "$R" requests_failed)" 10
check "no-retry: status_2xx=90" eq "$(kv "$R" status_2xx)" 90
check "no-retry: status_503=10" eq "$(kv "$R" status_503)" 10
check "no-retry: conn_errors=0" eq "$(kv "$R" conn_errors)" 0
check "no-retry: events_acked=270" eq "$(kv "$R" events_acked)" 270
check "no-retry: acked file has 270 ids" eq "$(lines "$R.acked")" 270
check "no-retry: sent file has 300 ids" eq "$(lines "$R.sent")" 300
check "no-retry: acked ids unique" eq "$(dups "$R.acked")" 0
check "no-retry: acked == stored" same_set "$R.acked" "$WORK/s1.store"
check "no-retry: one keep-alive connection used" eq "$(sstat s1 connections)" 1
check "no-retry: B>1 sent as NDJSON" eq "$(sstat s1 ndjson)" 90
check "no-retry: ids look like t1-<conn>-<seq>" \
    eq "$(grep -cvE '^t1-0-[0-9]+$' "$R.sent")" 0
EVRE='^\{"id":"t1-0-[0-9]+","customer":"c[0-9]{1,5}","touchpoint":"(alpha|beta)","channel":"web","type":"view","time":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"\}$'
check "no-retry: every event has the documented shape" \
    eq "$(grep -cvE "$EVRE" "$WORK/s1.dump")" 0
check "no-retry: both touchpoints used" eq "$(grep -oE '"touchpoint":"[a-z]+"' "$WORK/s1.dump" | sort -u | wc -l | tr -d ' ')" 2

# ---------------------------------------------------------------- retry, chunked, 8 connections
start_server s2 --store "$WORK/s2.store" --fail-every 10 --chunked-every 3
lg "$WORK/r2" --url "http://127.0.0.1:$PORT/v1/events" --key any --connections 8 --batch 5 \
    --requests 200 --retry --acked "$WORK/r2.acked" --sent "$WORK/r2.sent"
stop_server
R="$WORK/r2"
check "retry run exits 0" eq "$LG_RC" 0
check "retry: requests_ok=200" eq "$(kv "$R" requests_ok)" 200
check "retry: requests_failed=0" eq "$(kv "$R" requests_failed)" 0
check "retry: status_2xx=200" eq "$(kv "$R" status_2xx)" 200
check "retry: status_503>=20" ge "$(kv "$R" status_503)" 20
check "retry: retries == status_503" eq "$(kv "$R" retries)" "$(kv "$R" status_503)"
check "retry: server saw 200+retries requests" \
    eq "$(sstat s2 requests)" "$((200 + $(kv "$R" retries)))"
check "retry: events_acked=1000" eq "$(kv "$R" events_acked)" 1000
check "retry: acked file has 1000 unique ids" eq "$(sort -u "$R.acked" | wc -l | tr -d ' ')" 1000
check "retry: sent file has 1000 unique ids" eq "$(sort -u "$R.sent" | wc -l | tr -d ' ')" 1000
check "retry: sent file logs each id once (retries reuse ids)" eq "$(lines "$R.sent")" 1000
check "retry: acked == stored" same_set "$R.acked" "$WORK/s2.store"
check "retry: chunked answers were exercised" ge "$(sstat s2 chunked)" 50
check "retry: chunked and Content-Length answers parsed" \
    eq "$(kv "$R" parse_errors)/$(kv "$R" ack_mismatch)" 0/0
check "retry: 8 keep-alive connections" eq "$(sstat s2 connections)" 8
check "retry: latency stats present" ge "$(kv "$R" latency_samples)" 200
check "retry: p50 <= p99 <= max" awk -v a="$(kv "$R" p50_ms)" -v b="$(kv "$R" p99_ms)" \
    -v c="$(kv "$R" max_ms)" 'BEGIN { exit !(a <= b && b <= c && c > 0) }'

# ---------------------------------------------------------------- random batch, JSON + NDJSON, seed
start_server s3 --store "$WORK/s3.store" --fail-every 0 --dump "$WORK/s3.dump"
lg "$WORK/r3" --url "http://localhost:$PORT" --key k --connections 4 --random-batch 1-4 \
    --requests 200 --acked "$WORK/r3.acked" --seed 7 --id-prefix rb
lg "$WORK/r3a" --url "http://127.0.0.1:$PORT" --key k --connections 1 --random-batch 1-50 \
    --requests 20 --seed 11 --id-prefix s11a
lg "$WORK/r3b" --url "http://127.0.0.1:$PORT" --key k --connections 1 --random-batch 1-50 \
    --requests 20 --seed 11 --id-prefix s11b
stop_server
R="$WORK/r3"
check "random-batch (localhost url) exits 0" eq "$LG_RC" 0
check "random-batch: requests_ok=200" eq "$(kv "$R" requests_ok)" 200
check "random-batch: events_acked == acked file lines" eq "$(kv "$R" events_acked)" "$(lines "$R.acked")"
check "random-batch: events_acked in 200..800" \
    awk -v n="$(kv "$R" events_acked)" 'BEGIN { exit !(n >= 200 && n <= 800 && n != 200 && n != 800) }'
check "random-batch: single objects sent as application/json" ge "$(sstat s3 json)" 1
check "random-batch: batches sent as NDJSON" ge "$(sstat s3 ndjson)" 1
check "random-batch: acked ids are stored" subset "$R.acked" "$WORK/s3.store"
check "random-batch: default touchpoints only" \
    eq "$(grep -oE '"touchpoint":"[a-z]+"' "$WORK/s3.dump" | sort -u | tr -d '\n')" \
    '"touchpoint":"invoice""touchpoint":"store""touchpoint":"website"'
check "same --seed gives the same batch sizes" \
    eq "$(kv "$WORK/r3a" events_acked)" "$(kv "$WORK/r3b" events_acked)"

# ---------------------------------------------------------------- partial rejections
start_server s4 --store "$WORK/s4.store" --fail-every 0 --reject-every 7 --chunked-every 2
lg "$WORK/r4" --url "http://127.0.0.1:$PORT" --key k --connections 2 --batch 5 \
    --requests 40 --acked "$WORK/r4.acked"
stop_server
R="$WORK/r4"
check "rejections: exits 0" eq "$LG_RC" 0
check "rejections: events_rejected=28" eq "$(kv "$R" events_rejected)" 28
check "rejections: events_acked=172" eq "$(kv "$R" events_acked)" 172
check "rejections: acked == stored (rejected ids left out)" same_set "$R.acked" "$WORK/s4.store"
check "rejections: no parse errors on tricky messages" eq "$(kv "$R" parse_errors)" 0
check "rejections: accepted+duplicates+rejected match batch" eq "$(kv "$R" ack_mismatch)" 0

# ---------------------------------------------------------------- 422 (all rejected), B=1
start_server s5 --store "$WORK/s5.store" --fail-every 0 --reject-every 3
lg "$WORK/r5" --url "http://127.0.0.1:$PORT" --key k --connections 1 --batch 1 \
    --requests 30 --acked "$WORK/r5.acked"
stop_server
R="$WORK/r5"
check "422: status_4xx=10" eq "$(kv "$R" status_4xx)" 10
check "422: requests_ok=20" eq "$(kv "$R" requests_ok)" 20
check "422: events_acked=20" eq "$(kv "$R" events_acked)" 20
check "422: acked == stored" same_set "$R.acked" "$WORK/s5.store"
check "422: B=1 sent as application/json" eq "$(sstat s5 json)" 30

# ---------------------------------------------------------------- wrong key (401)
start_server s6 --key right --fail-every 0
lg "$WORK/r6" --url "http://127.0.0.1:$PORT" --key wrong --requests 5 --acked "$WORK/r6.acked" --retry
stop_server
R="$WORK/r6"
check "401: status_4xx=5" eq "$(kv "$R" status_4xx)" 5
check "401: requests_failed=5 (4xx never retried)" eq "$(kv "$R" requests_failed)" 5
check "401: nothing acked" eq "$(lines "$R.acked")" 0

# ---------------------------------------------------------------- server closes connections
start_server s7 --fail-every 0 --close-every 4 --chunked-every 5
lg "$WORK/r7" --url "http://127.0.0.1:$PORT" --key k --connections 2 --batch 2 --requests 100
stop_server
R="$WORK/r7"
check "Connection: close: requests_ok=100" eq "$(kv "$R" requests_ok)" 100
check "Connection: close: no connection errors" eq "$(kv "$R" conn_errors)" 0
check "Connection: close: client reconnected" ge "$(sstat s7 connections)" 20
check "Connection: close: answers parsed" eq "$(kv "$R" parse_errors)" 0

# ---------------------------------------------------------------- hung server, --seconds deadline
start_server s8 --fail-every 0 --hang-after 3
t0=$(now_ms)
lg "$WORK/r8" --url "http://127.0.0.1:$PORT" --key k --connections 2 --seconds 1 --timeout 30
t1=$(now_ms)
stop_server
R="$WORK/r8"
check "hung server: exits 0" eq "$LG_RC" 0
check "hung server: deadline enforced (< 6 s)" lt "$((t1 - t0))" 6000
check "hung server: requests_ok=3" eq "$(kv "$R" requests_ok)" 3
check "hung server: timeouts counted" ge "$(kv "$R" timeouts)" 1

# ---------------------------------------------------------------- hung server, --timeout
start_server s9 --fail-every 0 --hang-after 2
t0=$(now_ms)
lg "$WORK/r9" --url "http://127.0.0.1:$PORT" --key k --connections 1 --requests 3 --timeout 0.5
t1=$(now_ms)
stop_server
R="$WORK/r9"
check "--timeout: exits 0" eq "$LG_RC" 0
check "--timeout: requests_ok=2 requests_failed=1" \
    eq "$(kv "$R" requests_ok)/$(kv "$R" requests_failed)" 2/1
check "--timeout: one timeout" eq "$(kv "$R" timeouts)" 1
check "--timeout: finished quickly (< 4 s)" lt "$((t1 - t0))" 4000

# ---------------------------------------------------------------- server killed and restarted
start_server s10 --store "$WORK/s10a.store" --fail-every 10
CPORT=$PORT
LG_RUN=$((LG_RUN + 1))
timeout -k 5 60 "$WORK/tploadgen" --url "http://127.0.0.1:$CPORT" --key k --connections 4 \
    --batch 10 --seconds 4 --retry --acked "$WORK/r10.acked" --sent "$WORK/r10.sent" \
    >"$WORK/r10" 2>"$WORK/r10.err" &
LG_PID=$!
sleep 1.5
kill -KILL "$SERVER_PID" 2>/dev/null
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=""
sleep 0.7
start_server s10b --port "$CPORT" --store "$WORK/s10b.store" --fail-every 10
wait "$LG_PID"
LG_RC=$?
stop_server
R="$WORK/r10"
cat "$WORK/s10a.store" "$WORK/s10b.store" >"$WORK/s10.store" 2>/dev/null
check "crash: tploadgen exits 0" eq "$LG_RC" 0
check "crash: restarted server on the same port" eq "$PORT" "$CPORT"
check "crash: connection errors seen" ge "$(kv "$R" conn_errors)" 1
check "crash: requests acked before the kill" ge "$(lines "$WORK/s10a.store")" 1
check "crash: every acked id was stored (no lost acknowledgment)" subset "$R.acked" "$WORK/s10.store"
check "crash: every stored id was logged as sent" subset "$WORK/s10.store" "$R.sent"
check "crash: acked ids unique" eq "$(dups "$R.acked")" 0
check "crash: events_acked == acked file lines" eq "$(kv "$R" events_acked)" "$(lines "$R.acked")"
check "crash: reconnected and acked after the restart" \
    ge "$(comm -12 <(sort -u "$R.acked") <(sort -u "$WORK/s10b.store") | wc -l | tr -d ' ')" 1

# ---------------------------------------------------------------- nobody listening
t0=$(now_ms)
lg "$WORK/r11" --url "http://127.0.0.1:$CPORT" --key k --connections 2 --seconds 1 --retry
t1=$(now_ms)
R="$WORK/r11"
check "no server: exits 0" eq "$LG_RC" 0
check "no server: requests_ok=0" eq "$(kv "$R" requests_ok)" 0
check "no server: conn_errors counted" ge "$(kv "$R" conn_errors)" 2
check "no server: stops at the deadline (< 4 s)" lt "$((t1 - t0))" 4000

# ---------------------------------------------------------------- sanitizers
check "no ASan/UBSan/LSan reports from $LG_RUN tploadgen runs or the fake server" sanitizer_clean
if ! sanitizer_clean; then
    grep -hE -A5 'AddressSanitizer|LeakSanitizer|runtime error:' "$WORK"/*.err | head -40
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
