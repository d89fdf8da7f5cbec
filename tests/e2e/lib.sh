# lib.sh -- helpers for the end-to-end suites; sourced, not run as a suite.
#
#   . tests/e2e/lib.sh            (with BUILD set to the build dir, e.g. build/asan)
#   tp_setup                      fresh db in $T with the retail-vn journey, $ADMIN, $INGEST
#   start_server [OPTIONS...]     touchpoint serve on 127.0.0.1:0; sets PORT, BASE, SERVER_PID
#   check NAME STATUS JQ CURL_ARGS...
#                                 one request; passes when the status is STATUS and
#                                 `jq -e JQ` holds on the body (JQ "-" skips the body);
#                                 a CURL_ARG starting with "/" is taken as "$BASE/..."
#   stop_server                   SIGTERM, wait, and a check that the exit status is 0
#   finish                        prints "N passed, N failed" and exits
#
# After check: $STATUS, $T/body (reply body) and $T/hdr (reply head) describe the reply.
# Every curl has --max-time; every wait is bounded; the EXIT trap kills a server
# still running and removes $T.  Only loopback addresses are used.

: "${BUILD:?set BUILD before sourcing lib.sh}"
TP=$BUILD/touchpoint
case $TP in /*) ;; *) TP=$(pwd)/$TP ;; esac
[ -x "$TP" ] || {
        echo "lib.sh: $TP is not built" >&2
        echo "0 passed, 1 failed"
        exit 1
}
for tool in curl jq sqlite3 bash timeout; do
        command -v "$tool" >/dev/null 2>&1 || {
                echo "lib.sh: $tool is needed" >&2
                echo "0 passed, 1 failed"
                exit 1
        }
done

pass=0
fail=0
SERVER_PID=""
SERVER_N=0
T=$(mktemp -d "${TMPDIR:-/tmp}/tp-e2e.XXXXXX")
DB=$T/db
CURL_MAX=${CURL_MAX:-15}
# ASan: keep LeakSanitizer on (it is the point of stopping by SIGTERM) and make
# sanitizer reports land in the server's stderr, which we print on failure.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export ASAN_OPTIONS

lib_cleanup() {
        if [ -n "$SERVER_PID" ]; then
                kill -KILL "$SERVER_PID" 2>/dev/null
                wait "$SERVER_PID" 2>/dev/null
        fi
        [ -n "${LIB_EXTRA_CLEANUP:-}" ] && eval "$LIB_EXTRA_CLEANUP"
        rm -rf "$T"
}
trap lib_cleanup EXIT
trap 'exit 130' INT TERM HUP

ok() {
        pass=$((pass + 1))
        [ -n "${VERBOSE:-}" ] && echo "ok   $1"
        return 0
}

bad() {
        fail=$((fail + 1))
        echo "FAIL $1: $2"
        return 1
}

# expect NAME WHY COMMAND...: passes when the one simple COMMAND succeeds (for
# "a or b" use one_of; for ranges, within).
expect() {
        _n=$1
        _why=$2
        shift 2
        if "$@"; then ok "$_n"; else bad "$_n" "$_why"; fi
}

# one_of NAME GOT ALLOWED...: GOT is one of the allowed values.
one_of() {
        _n=$1
        _g=$2
        shift 2
        for _w in "$@"; do
                [ "$_g" = "$_w" ] && { ok "$_n"; return 0; }
        done
        bad "$_n" "got '$_g', want one of: $*"
}

# within NAME GOT LO HI: GOT is a whole number in [LO, HI].
within() {
        case $2 in '' | *[!0-9-]*) bad "$1" "got '$2', not a number"; return 1 ;; esac
        if [ "$2" -ge "$3" ] && [ "$2" -le "$4" ]; then ok "$1 ($2)"; else bad "$1" "got $2, want $3..$4"; fi
}

# eq NAME GOT WANT
eq() {
        if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "got '$2', want '$3'"; fi
}

finish() {
        echo "$pass passed, $fail failed"
        [ "$fail" -eq 0 ] && exit 0
        exit 1
}

# ---- setup -----------------------------------------------------------------

# tp_setup [DB]: journey + keys on a fresh db.  Sets ADMIN, INGEST, AH, IH,
# TPS (comma-separated touchpoint keys of the template), TP1, TP2, TP3.
tp_setup() {
        _db=${1:-$DB}
        "$TP" journey template retail-vn >"$T/j.json" || return 1
        "$TP" journey apply --db "sqlite:$_db" "$T/j.json" 2>/dev/null || return 1
        ADMIN=$("$TP" key create --db "sqlite:$_db" --scope admin) || return 1
        INGEST=$("$TP" key create --db "sqlite:$_db" --scope ingest) || return 1
        AH="Authorization: Bearer $ADMIN"
        IH="Authorization: Bearer $INGEST"
        TPS=$(jq -r '[.stages[].touchpoints[].key] | join(",")' "$T/j.json")
        TP1=$(jq -r '[.stages[].touchpoints[].key][0]' "$T/j.json")
        TP2=$(jq -r '[.stages[].touchpoints[].key][1]' "$T/j.json")
        TP3=$(jq -r '[.stages[].touchpoints[].key][-1]' "$T/j.json")
        [ -n "$ADMIN" ] && [ -n "$INGEST" ] && [ -n "$TP1" ]
}

# start_server [SERVE_OPTIONS...]: serve $DB on a free loopback port and wait
# (at most 20 s) for the ready line.  Server stdout/stderr go to $T/server.N.*.
start_server() {
        SERVER_N=$((SERVER_N + 1))
        SOUT=$T/server.$SERVER_N.out
        SERR=$T/server.$SERVER_N.err
        : >"$SOUT"
        "$TP" serve --db "sqlite:$DB" --listen 127.0.0.1:0 "$@" >"$SOUT" 2>"$SERR" &
        SERVER_PID=$!
        PORT=""
        _i=0
        while [ $_i -lt 200 ]; do
                PORT=$(sed -n '1s|^listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' "$SOUT")
                [ -n "$PORT" ] && break
                kill -0 "$SERVER_PID" 2>/dev/null || break
                sleep 0.1
                _i=$((_i + 1))
        done
        if [ -z "$PORT" ]; then
                bad "start_server" "no ready line; stderr:"
                sed 's/^/    /' "$SERR" | head -30
                kill -KILL "$SERVER_PID" 2>/dev/null
                wait "$SERVER_PID" 2>/dev/null
                SERVER_PID=""
                return 1
        fi
        BASE=http://127.0.0.1:$PORT
        return 0
}

# server_alive: 0 while the server process runs.
server_alive() {
        [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null
}

# stop_server [NAME]: SIGTERM, wait at most 30 s, check exit status 0.
stop_server() {
        _name=${1:-server_exit_0}
        [ -n "$SERVER_PID" ] || { bad "$_name" "no server running"; return 1; }
        kill -TERM "$SERVER_PID" 2>/dev/null
        _i=0
        while kill -0 "$SERVER_PID" 2>/dev/null && [ $_i -lt 300 ]; do
                sleep 0.1
                _i=$((_i + 1))
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
                kill -KILL "$SERVER_PID" 2>/dev/null
                wait "$SERVER_PID" 2>/dev/null
                SERVER_PID=""
                bad "$_name" "server did not exit within 30 s of SIGTERM"
                return 1
        fi
        wait "$SERVER_PID"
        _rc=$?
        SERVER_PID=""
        if [ "$_rc" -eq 0 ]; then
                ok "$_name"
                return 0
        fi
        bad "$_name" "server exited $_rc after SIGTERM (sanitizer report or error); stderr tail:"
        tail -n 40 "$SERR" | sed 's/^/    /'
        return 1
}

# ---- requests --------------------------------------------------------------

# req CURL_ARGS...: one request; sets STATUS, writes $T/body and $T/hdr.
# Arguments starting with "/" are paths on $BASE.
req() {
        _n=$#
        _i=0
        while [ $_i -lt "$_n" ]; do
                _a=$1
                shift
                case $_a in /*) _a=$BASE$_a ;; esac
                set -- "$@" "$_a"
                _i=$((_i + 1))
        done
        : >"$T/body"
        : >"$T/hdr"
        STATUS=$(curl -sS --max-time "$CURL_MAX" -o "$T/body" -D "$T/hdr" -w '%{http_code}' "$@" 2>"$T/curl.err")
        [ -n "$STATUS" ] || STATUS=000
}

# check NAME STATUS JQ CURL_ARGS...
check() {
        _cn=$1
        _cs=$2
        _cj=$3
        shift 3
        req "$@"
        if [ "$STATUS" != "$_cs" ]; then
                bad "$_cn" "status $STATUS, want $_cs; body: $(head -c 400 "$T/body") $(cat "$T/curl.err")"
                return 1
        fi
        if [ "$_cj" != "-" ] && ! jq -e "$_cj" "$T/body" >/dev/null 2>&1; then
                bad "$_cn" "jq '$_cj' does not hold on: $(head -c 600 "$T/body")"
                return 1
        fi
        ok "$_cn"
}

# hdr NAME REGEX: the last reply's head has a line matching REGEX (grep -Ei).
hdr() {
        if tr -d '\r' <"$T/hdr" | grep -Eiq "$2"; then
                ok "$1"
        else
                bad "$1" "no header line matching '$2' in: $(tr -d '\r' <"$T/hdr" | tr '\n' '|')"
        fi
}

# health_ok NAME: GET /v1/health answers 200 "ok".
health_ok() {
        check "$1" 200 '.status == "ok"' /v1/health
}

# metric NAME_WITH_LABELS: the value of one /metrics sample (0 when absent).
# The argument is matched literally, e.g.
#   metric 'touchpoint_http_requests_total{method="GET",route="/v1/health",status="200"}'
metric() {
        curl -s --max-time "$CURL_MAX" "$BASE/metrics" >"$T/metrics" 2>/dev/null
        awk -v k="$1" 'index($0, k " ") == 1 { v = $2 } END { print (v == "" ? 0 : v) }' "$T/metrics"
}

# raw FILE [WAIT_S]: send FILE's bytes on one new connection (bash /dev/tcp) and
# print what came back within WAIT_S seconds (default 3; earlier if the server
# closes).  Runs under bash because /dev/tcp is a bash feature.
raw() {
        timeout $((${2:-3} + 2)) bash -c '
                exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
                cat "$2" >&3
                timeout "$3" cat <&3
                exit 0' raw "$PORT" "$1" "${2:-3}" 2>/dev/null
}

# count_status TEXT: how many HTTP status lines TEXT (a raw reply) holds.  Not
# anchored: a pipelined reply starts right after the previous body's last byte.
count_status() {
        printf '%s' "$1" | tr -d '\r' | grep -o 'HTTP/1\.[01] [1-5][0-9][0-9] ' | wc -l | tr -d ' '
}

# db_count TABLE [WHERE]: rows in the stopped server's db.
db_count() {
        sqlite3 "$DB" "select count(*) from $1 ${2:+where $2}"
}
