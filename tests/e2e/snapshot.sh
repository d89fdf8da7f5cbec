#!/bin/sh
# snapshot.sh BUILD_DIR -- the engine's snapshot file end to end: the server
# writes DB.snapshot at shutdown and reads it at the next start (the log says
# so) with the same answers; rows imported while it was stopped are read from
# the store after the snapshot; a damaged snapshot, one of another store and a
# truncated one are refused with the reason in the log and the answers stay
# right (the oracle: the same store loaded with --no-snapshot); a start that
# loaded everything writes a new snapshot in the background; --snapshot PATH
# and --no-snapshot.
# Prints "N passed, N failed" last; exits 1 on any failure.
# shellcheck disable=SC2034,SC2119 # BUILD and the helpers' optional arguments
set -u
BUILD=${1:?usage: sh tests/e2e/snapshot.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

tp_setup || { bad setup "journey/keys setup failed"; finish; }
SNAP=$DB.snapshot
JSON='Content-Type: application/x-ndjson'

# rows FIRST LAST TAG: NDJSON events for customers c1..c12 over days of
# June 2024 (every 7th sent late, a purchase with a value every 5th) and a
# response every 3rd, ids prefixed by TAG; events to $T/ev.ndjson, responses
# to $T/rs.ndjson.
rows() {
        awk -v first="$1" -v last="$2" -v tag="$3" -v tps="$TPS" -v ev="$T/ev.ndjson" -v rs="$T/rs.ndjson" '
        BEGIN {
                n = split(tps, tp, ",")
                split("visit view click visit", ty, " ")
                split("nps csat ces", mt, " ")
                hi["nps"] = 10; hi["csat"] = 5; hi["ces"] = 7
                for (i = first; i <= last; i++) {
                        day = 1 + i % 28; hour = i % 24
                        if (i % 7 == 0) day = 1 + (day + 20) % 28   # late for its customer
                        t = sprintf("2024-06-%02dT%02d:%02d:00Z", day, hour, i % 60)
                        c = "c" (1 + i % 12)
                        if (i % 5 == 0)
                                printf "{\"id\":\"%s-e%d\",\"customer\":\"%s\",\"touchpoint\":\"%s\",\"type\":\"purchase\",\"time\":\"%s\",\"value\":%d}\n", tag, i, c, tp[1 + i % n], t, 1000 * (1 + i % 9) > ev
                        else
                                printf "{\"id\":\"%s-e%d\",\"customer\":\"%s\",\"touchpoint\":\"%s\",\"type\":\"%s\",\"time\":\"%s\"}\n", tag, i, c, tp[1 + (i * 3) % n], ty[1 + i % 4], t > ev
                        if (i % 3 == 0) {
                                m = mt[1 + i % 3]
                                printf "{\"id\":\"%s-r%d\",\"customer\":\"%s\",\"touchpoint\":\"%s\",\"metric\":\"%s\",\"score\":%d,\"time\":\"%s\"}\n", tag, i, c, tp[1 + (i * 5) % n], m, (m == "nps" ? 0 : 1) + i % hi[m], t > rs
                        }
                }
        }'
}

# answers NAME: the analytic answers of the running server into $T/NAME/.
QUERIES="scores?group=touchpoint&bucket=day scores?group=channel&bucket=week transitions \
attribution?model=last attribution?model=linear attribution?model=markov reports/paths reports/standing \
reports/funnel reports/next?touchpoint=$TP1 reports/explorer?start=$TP1"
answers() {
        mkdir -p "$T/$1"
        _k=0
        for _q in $QUERIES; do
                _k=$((_k + 1))
                case $_q in
                attribution*) _p=/v1/$_q ;;
                reports/*) _p=/v1/$_q ;;
                *) _p=/v1/reports/$_q ;;
                esac
                req -H "$AH" "$_p"
                [ "$STATUS" = 200 ] || bad "answers $1 $_q" "status $STATUS: $(head -c 300 "$T/body")"
                jq -S . "$T/body" >"$T/$1/$_k.json" 2>/dev/null || cp "$T/body" "$T/$1/$_k.json"
        done
}

# same_answers NAME A B: every answer of A equals B's.
same_answers() {
        if diff -r "$T/$2" "$T/$3" >"$T/diff" 2>&1; then
                ok "$1"
        else
                bad "$1" "answers differ: $(head -c 600 "$T/diff")"
        fi
}

# logged NAME PATTERN: the current server's stderr has a line matching PATTERN.
logged() {
        if grep -Eq "$2" "$SERR"; then ok "$1"; else bad "$1" "no log line matching '$2'; log: $(tail -n 8 "$SERR")"; fi
}

# wait_log PATTERN: wait (at most 30 s) for a line matching PATTERN.
wait_log() {
        _i=0
        while ! grep -Eq "$1" "$SERR" && [ $_i -lt 300 ]; do
                sleep 0.1
                _i=$((_i + 1))
        done
}

# oracle NAME: the same store loaded from the store alone (--no-snapshot).
oracle() {
        start_server --no-snapshot || finish
        answers "$1"
        stop_server "stop $1"
}

# ---- first life: ingest over HTTP, stop, a snapshot is left --------------------------
start_server || finish
logged "first start: no snapshot yet" "no snapshot .*db\.snapshot yet"
rows 1 300 a
check "ingest events" 200 '.accepted == 300' -H "$IH" -H "$JSON" --data-binary "@$T/ev.ndjson" /v1/events
check "ingest responses" 200 '.accepted == 100' -H "$IH" -H "$JSON" --data-binary "@$T/rs.ndjson" /v1/responses
check "the engine has them" 200 '.total > 0' -H "$AH" /v1/reports/transitions
answers before
stop_server "stop 1"
expect "snapshot written at shutdown" "no $SNAP" test -s "$SNAP"
logged "shutdown logs the write" "snapshot written to .*db\.snapshot .*at shutdown.*: 300 events, 100 responses"
eq "snapshot is private" "$(stat -c %a "$SNAP")" 600

# ---- second life: from the snapshot, same answers --------------------------------------
start_server || finish
logged "second start: loaded from the snapshot" "loaded from snapshot .*db\.snapshot .*300 events, 100 responses"
logged "nothing read from the store" " 0 rows read from the store after the snapshot"
answers warm
same_answers "answers after a warm start" before warm
stop_server "stop 2"
logged "unchanged: not written again" "snapshot .*db\.snapshot is up to date"

# ---- rows imported while stopped: the tail after the snapshot ------------------------------
rows 301 420 b
"$TP" import --db "sqlite:$DB" --kind events "$T/ev.ndjson" >/dev/null 2>&1 || bad "import events" "failed"
"$TP" import --db "sqlite:$DB" --kind responses "$T/rs.ndjson" >/dev/null 2>&1 || bad "import responses" "failed"
eq "imported rows stored" "$(db_count events)/$(db_count responses)" "420/140"
start_server || finish
logged "third start: loaded from the snapshot" "loaded from snapshot .*300 events"
logged "the tail came from the store" " 160 rows read from the store after the snapshot"
answers tail
# A tail of a quarter of the rows or more: a new snapshot in the background.
wait_log "snapshot written .*after loading from the store"
logged "a large tail is saved at once" "snapshot written .*after loading from the store.*: 420 events, 140 responses"
stop_server "stop 3"
logged "then up to date at shutdown" "snapshot .*db\.snapshot is up to date"
oracle full
same_answers "tail answers equal a full load" full tail
if diff -rq "$T/before" "$T/tail" >/dev/null 2>&1; then bad "tail rows count" "answers did not change"; else ok "tail rows count"; fi

# ---- a damaged snapshot: refused, the answers stay right, a new one is written ---------------
cp "$SNAP" "$T/good.snapshot"
SIZE=$(stat -c %s "$SNAP")
printf '\377' | dd of="$SNAP" bs=1 seek=$((SIZE / 2)) conv=notrunc 2>/dev/null
start_server || finish
logged "damaged snapshot refused" "snapshot not used.*checksum mismatch"
answers damaged
same_answers "answers despite a damaged snapshot" full damaged
# A start that loaded everything writes a snapshot in the background.
wait_log "snapshot written .*after loading from the store"
logged "rewritten in the background" "snapshot written to .*db\.snapshot .*after loading from the store.*420 events"
stop_server "stop 4"
start_server || finish
logged "the rewritten snapshot loads" "loaded from snapshot .*420 events"
stop_server "stop 5"

# Truncated: refused as well.
head -c 1000 "$T/good.snapshot" >"$SNAP"
start_server || finish
logged "truncated snapshot refused" "snapshot not used.*(truncated|bytes)"
answers truncated
same_answers "answers despite a truncated snapshot" full truncated
wait_log "snapshot written .*after loading from the store"
stop_server "stop 6"

# ---- a snapshot of another store -----------------------------------------------------------
MAIN=$DB
MAIN_AH=$AH
DB=$T/db2
tp_setup "$DB" || bad setup2 "second store"
start_server || finish
rows 1 50 z
check "ingest into the other store" 200 '.accepted == 50' -H "$IH" -H "$JSON" --data-binary "@$T/ev.ndjson" /v1/events
stop_server "stop other"
expect "other store's snapshot" "no $DB.snapshot" test -s "$DB.snapshot"
cp "$DB.snapshot" "$SNAP"
DB=$MAIN
AH=$MAIN_AH
start_server || finish
logged "another store's snapshot refused" "snapshot not used.*made from another store"
answers foreign
same_answers "answers despite another store's snapshot" full foreign
wait_log "snapshot written .*after loading from the store"
stop_server "stop 7"

# ---- --snapshot PATH and --no-snapshot --------------------------------------------------------
rm -f "$SNAP"
start_server --no-snapshot || finish
if grep -q "snapshot" "$SERR"; then bad "--no-snapshot is silent" "$(grep snapshot "$SERR")"; else ok "--no-snapshot is silent"; fi
stop_server "stop 8"
expect "--no-snapshot writes nothing" "$SNAP exists" test ! -e "$SNAP"
start_server --snapshot "$T/custom.snap" || finish
logged "--snapshot PATH: none yet" "no snapshot .*custom\.snap yet"
wait_log "snapshot written .*after loading from the store"
stop_server "stop 9"
expect "--snapshot PATH written" "no custom.snap" test -s "$T/custom.snap"
expect "default path untouched" "$SNAP exists" test ! -e "$SNAP"
start_server --snapshot "$T/custom.snap" || finish
logged "--snapshot PATH loads" "loaded from snapshot .*custom\.snap .*420 events"
answers custom
same_answers "answers from --snapshot PATH" full custom
stop_server "stop 10"
"$TP" serve --db "sqlite:$DB" --snapshot x --no-snapshot >/dev/null 2>&1
eq "--snapshot with --no-snapshot is a usage error" "$?" 2

# ---- touchpoint snapshot (offline) and touchpoint check --------------------------------------
# has NAME FILE PATTERN: FILE has a line matching PATTERN.
has() {
        if grep -Eq "$3" "$2"; then ok "$1"; else bad "$1" "no line matching '$3' in: $(cat "$2")"; fi
}
"$TP" check --db "sqlite:$DB" >"$T/check" 2>&1
has "check: no snapshot" "$T/check" "^snapshot .*db\.snapshot: none$"
rows 421 470 c
"$TP" import --db "sqlite:$DB" --kind events "$T/ev.ndjson" >/dev/null 2>&1 || bad "import c" "failed"
"$TP" snapshot --db "sqlite:$DB" >"$T/snap.out" 2>&1
eq "touchpoint snapshot exits 0" "$?" 0
has "offline snapshot from the store" "$T/snap.out" "470 events, 140 responses .*valid for this store"
has "offline snapshot: a full read" "$T/snap.out" "from the store in"
"$TP" check --db "sqlite:$DB" >"$T/check" 2>&1
has "check: the snapshot is valid" "$T/check" "^snapshot .*db\.snapshot: 470 events.*valid for this store"
rows 471 480 d
"$TP" import --db "sqlite:$DB" --kind events "$T/ev.ndjson" >/dev/null 2>&1 || bad "import d" "failed"
"$TP" snapshot --db "sqlite:$DB" >"$T/snap.out" 2>&1
has "offline snapshot again: only the new rows" "$T/snap.out" "from the previous snapshot and the rows after it"
has "offline snapshot again: 480 events" "$T/snap.out" "480 events, 140 responses"
start_server || finish
logged "serve starts from the offline snapshot" "loaded from snapshot .*db\.snapshot .*480 events, 140 responses"
logged "nothing left to read" " 0 rows read from the store after the snapshot"
answers offline
stop_server "stop 11"
oracle full2
same_answers "answers from the offline snapshot" full2 offline
cp "$T/db2.snapshot" "$SNAP"
"$TP" check --db "sqlite:$DB" >"$T/check" 2>&1
has "check: another store's snapshot" "$T/check" "^snapshot .*not for this store \(made from another one\)"

finish
