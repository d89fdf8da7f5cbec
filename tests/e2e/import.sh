#!/bin/sh
# import.sh BUILD_DIR -- end-to-end tests of `touchpoint import`: CSV and NDJSON
# files against a fresh store with the retail-vn journey, checked with sqlite3.
# POSIX sh (bytes are written with octal printf escapes, which dash understands).
# Last line: "N passed, N failed"; exit status 1 when anything failed.
set -u
BUILD=${1:-build/debug}
TP=$BUILD/touchpoint
case $TP in /*) ;; *) TP=$(pwd)/$TP ;; esac
FIX=$(cd "$(dirname "$0")/../fixtures" && pwd)
pass=0
fail=0

for tool in sqlite3 jq awk; do
        command -v "$tool" >/dev/null 2>&1 || {
                echo "import.sh: $tool is needed" >&2
                echo "0 passed, 1 failed"
                exit 1
        }
done
if [ ! -x "$TP" ]; then
        echo "import.sh: $TP is not built" >&2
        echo "0 passed, 1 failed"
        exit 1
fi
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export ASAN_OPTIONS

T=$(mktemp -d "${TMPDIR:-/tmp}/tp-import.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
DB=$T/db
URL=sqlite:$DB

ok() {
        pass=$((pass + 1))
        echo "ok - $1"
}
bad() {
        fail=$((fail + 1))
        echo "FAIL - $1"
        [ -f "$T/out" ] && sed 's/^/    out: /' "$T/out" | head -n 30
        [ -f "$T/err" ] && sed 's/^/    err: /' "$T/err" | head -n 30
}

# run ARGS... : touchpoint import ARGS, stdout in $T/out, stderr in $T/err, status in $RC
run() {
        "$TP" import "$@" >"$T/out" 2>"$T/err"
        RC=$?
}
# expect NAME STATUS [PATTERN FILE]... : status and fixed strings in out/err files
expect() {
        name=$1
        want=$2
        shift 2
        if [ "$RC" -ne "$want" ]; then
                bad "$name: exit status $RC, expected $want"
                return
        fi
        while [ $# -ge 2 ]; do
                if ! grep -qF -- "$1" "$2"; then
                        bad "$name: no '$1' in $(basename "$2")"
                        return
                fi
                shift 2
        done
        ok "$name"
}
# same NAME GOT WANT
same() {
        if [ "$2" = "$3" ]; then
                ok "$1"
        else
                bad "$1: got '$2', expected '$3'"
        fi
}
q() {
        sqlite3 "$DB" "$1"
}

# ---- a store with the retail-vn journey ---------------------------------------
if ! "$TP" journey template retail-vn >"$T/j.json" || ! "$TP" journey apply --db "$URL" "$T/j.json" >/dev/null 2>&1; then
        echo "import.sh: cannot apply the retail-vn journey" >&2
        echo "0 passed, 1 failed"
        exit 1
fi
# Two touchpoints of the template, whatever it holds today, and the channel of the first.
TPA=$(jq -r '.stages[0].touchpoints[0].key' "$T/j.json")
TPB=$(jq -r '.stages[-1].touchpoints[-1].key' "$T/j.json")
CHA=$(jq -r '.stages[0].touchpoints[0].channel' "$T/j.json")

# ---- 1. a good CSV of events ---------------------------------------------------
cat >"$T/good.csv" <<EOF
id,customer,touchpoint,channel,type,time,value,currency,properties
g1,c1,$TPA,,visit,2024-05-01T10:00:00Z,,,
g2,c1,$TPB,web,purchase,2024-05-01T17:00:00+07:00,150000,,
g3,c2,$TPA,phone,call,2024-05-02T08:30:00Z,25,USD,"{""campaign"": ""tet"", ""n"": 2}"
g4,c3,$TPB,,click,,,,
g5,c3,$TPA,store,visit,2024-05-03T00:00:00Z,0,,
EOF
run --db "$URL" --kind events "$T/good.csv"
expect "good events CSV" 0 "rows read 5, taken 5, duplicates 0, rejected 0" "$T/out"
same "good events CSV: rows stored" "$(q 'select count(*) from events')" 5
same "value without currency is VND" "$(q "select value || ' ' || currency from events where id='g2'")" "150000 VND"
same "time with an offset is UTC" "$(q "select ts from events where id='g2'")" 1714557600
same "no channel: the touchpoint's" "$(q "select channel from events where id='g1'")" "$CHA"
same "properties stored compact" "$(q "select properties from events where id='g3'")" '{"campaign":"tet","n":2}'
same "no time: now" "$(q "select ts > strftime('%s','now') - 600 from events where id='g4'")" 1

# ---- 2. re-import: all duplicates ---------------------------------------------
run --db "$URL" --kind events "$T/good.csv"
expect "re-import" 0 "rows read 5, taken 0, duplicates 5, rejected 0" "$T/out"
same "re-import stores nothing new" "$(q 'select count(*) from events')" 5

# ---- 3. a CSV with bad rows ----------------------------------------------------
{
        echo "id,customer,touchpoint,metric,score,time"
        echo "b1,c1,$TPA,nps,9,2024-05-01T10:00:00Z"          # line 2: good
        echo "b2,c1,no-such-touchpoint,nps,9,"                 # line 3
        echo "b3,c1,$TPA,nps,11,"                              # line 4
        echo "b4,c1,$TPA,nps,7,2024-02-30T10:00:00Z"           # line 5
        printf 'b5,c\377\376,%s,csat,4,\n' "$TPA"              # line 6: invalid UTF-8
        echo "b6,c1,$TPA,nps,8,,extra"                         # line 7: too many columns
        echo "b7,c1,$TPB,ces,5,"                               # line 8: good
        printf 'b8,c1,%s,nps,"5,\n' "$TPA"                     # line 9: quote never closed
} >"$T/bad.csv"
run --db "$URL" --kind responses --rejects "$T/rejects.csv" "$T/bad.csv"
expect "bad rows: good ones kept" 0 "rows read 8, taken 2, duplicates 0, rejected 6" "$T/out" \
        "line 3: field touchpoint: unknown touchpoint 'no-such-touchpoint'" "$T/out" \
        "line 4: field score: 'score' 11 is out of range for nps" "$T/out" \
        "line 5: field time: 'time' must be an RFC 3339 date-time" "$T/out" \
        "line 6: field customer: 'customer' is not valid UTF-8" "$T/out" \
        "line 7: the row has more than the header's 6 columns" "$T/out" \
        "line 9: field score: a quoted cell is never closed" "$T/out"
same "bad rows: stored" "$(q "select group_concat(id) from (select id from responses order by id)")" "b1,b7"
same "rejects file: header and six rows" "$(wc -l <"$T/rejects.csv" | tr -d ' ')" 7
expect "rejects file: CSV with codes" 0 \
        'line,field,code,message' "$T/rejects.csv" \
        '3,"touchpoint","unknown_touchpoint",' "$T/rejects.csv" \
        '4,"score","out_of_range",' "$T/rejects.csv" \
        '7,"","too_many_columns",' "$T/rejects.csv"

# A broken quote in the middle of a file costs its row only, and a line break
# inside a quoted cell keeps the line numbers right.
{
        echo "id,customer,touchpoint,type,properties"
        echo "q1,c1,$TPA,visit,"
        echo "q2,c\"1,$TPA,visit,"
        echo "\"q3\"x,c1,$TPA,visit,"
        echo "q4,c4,$TPA,visit,\"{\"\"a\"\":"
        echo "1}\""
        echo "q5,c5,$TPA,visit,"
        echo "q6,c6,$TPA,BAD,"
} >"$T/quotes.csv"
run --db "$URL" --kind events "$T/quotes.csv"
expect "bad quoting rejects the row only" 0 "rows read 6, taken 3, duplicates 0, rejected 3" "$T/out" \
        "line 3: field customer: bad quoting" "$T/out" "line 4: field id: bad quoting" "$T/out" \
        "line 8: field type:" "$T/out"
same "a quoted cell may hold a line break" "$(q "select properties from events where id='q4'")" '{"a":1}'

# Over 20 rejected rows: the first 20 and a count.
awk -v tp="$TPA" 'BEGIN { print "id,customer,touchpoint,type"; for (i = 1; i <= 25; i++) printf "m%d,c1,%s,BAD\n", i, tp }' \
        >"$T/many.csv"
run --db "$URL" --kind events "$T/many.csv"
expect "all rows rejected: exit 1" 1 "rejected 25" "$T/out" "... and 5 more" "$T/out" \
        "line 21: field type:" "$T/out" "no row of" "$T/err"

# ---- 4. --map ------------------------------------------------------------------
cat >"$T/mapped.csv" <<EOF
event_id,cust,tp,kind,when,note
m1,c9,$TPA,visit,2024-06-01T00:00:00Z,hello
m2,c9,$TPB,click,2024-06-01T00:01:00Z,world
EOF
run --db "$URL" --kind events "$T/mapped.csv"
expect "unknown columns are named" 1 "unknown columns 'event_id', 'cust', 'tp', 'kind', 'when', 'note'" "$T/err"
run --db "$URL" --kind events --map event_id=id --map cust=customer --map tp=touchpoint --map kind=type \
        --map when=time --map note=- "$T/mapped.csv"
expect "--map renames and ignores columns" 0 "rows read 2, taken 2" "$T/out"
same "--map: stored" "$(q "select customer || ' ' || type from events where id='m2'")" "c9 click"
run --db "$URL" --kind events --map nosuch=id "$T/mapped.csv"
expect "--map of a missing column" 1 "the header has no column 'nosuch'" "$T/err"
run --db "$URL" --kind events --map cust=customer --map tp=touchpoint --map kind=type --map when=time --map note=- \
        "$T/mapped.csv"
expect "still one unknown column" 1 "unknown column 'event_id'" "$T/err"
printf 'id,customer\nx1,c1\n' >"$T/nocols.csv"
run --db "$URL" --kind events "$T/nocols.csv"
expect "required columns missing" 1 "the header has no column for 'touchpoint', 'type'" "$T/err"

# ---- 5. --create-touchpoints ---------------------------------------------------
cat >"$T/newtp.csv" <<EOF
id,customer,touchpoint,type
n1,c1,pop-up-store,visit
n2,c2,pop-up-store,visit
n3,c3,Not A Key,visit
n4,c4,kiosk-2,BAD
EOF
run --db "$URL" --kind events "$T/newtp.csv"
expect "unknown touchpoints rejected" 1 "line 2: field touchpoint: unknown touchpoint 'pop-up-store'" "$T/out"
run --db "$URL" --kind events --create-touchpoints "$T/newtp.csv"
expect "--create-touchpoints" 0 "rows read 4, taken 2, duplicates 0, rejected 2" "$T/out" \
        "line 4: field touchpoint: unknown touchpoint 'Not A Key'" "$T/out" "line 5: field type:" "$T/out"
same "--create-touchpoints: created once" "$(q "select count(*) from touchpoints where key='pop-up-store'")" 1
same "--create-touchpoints: rows point at it" \
        "$(q "select count(*) from events e join touchpoints t on t.id = e.touchpoint where t.key='pop-up-store'")" 2
same "no touchpoint for a rejected row" "$(q "select count(*) from touchpoints where key='kiosk-2'")" 0

# ---- 6. NDJSON -----------------------------------------------------------------
cat >"$T/ev.ndjson" <<EOF
{"id":"j1","customer":"c1","touchpoint":"$TPA","type":"visit","time":"2024-05-01T10:00:00Z"}

{"id":"j2","customer":"c1","touchpoint":"$TPA","type":"visit",
{"id":"j3","customer":"c1","touchpoint":"$TPB","type":"click","value":5}
{"id":"j4","customer":"c1","touchpoint":"$TPB","type":"click","colour":"red"}
{"id":"j5","customer":"c1","touchpoint":"ndjson-new","type":"click"}
EOF
run --db "$URL" --kind events "$T/ev.ndjson"
expect "NDJSON with a malformed line" 0 "rows read 5, taken 2, duplicates 0, rejected 3" "$T/out" \
        "line 3: column" "$T/out" "line 5: field colour: unknown field 'colour'" "$T/out" \
        "line 6: field touchpoint: unknown touchpoint 'ndjson-new'" "$T/out"
same "NDJSON: value without currency is VND" "$(q "select currency from events where id='j3'")" VND
run --db "$URL" --kind events --create-touchpoints --format ndjson - <"$T/ev.ndjson"
expect "NDJSON from stdin with --create-touchpoints" 0 "taken 1, duplicates 2, rejected 2" "$T/out"
same "NDJSON: touchpoint created" "$(q "select count(*) from events e join touchpoints t on t.id = e.touchpoint where t.key='ndjson-new'")" 1

# ---- 7. responses with the goal factor -----------------------------------------
cat >"$T/goal.csv" <<EOF
id,customer,touchpoint,metric,score,comment,language
r1,c1,$TPA,goal,yes,Rất tốt,vi
r2,c1,$TPA,goal,partly,,
r3,,$TPA,goal,no,"Slow, ""very"" slow",en
r4,c1,$TPA,goal,maybe,,
r5,c1,$TPA,csat,5,,
EOF
run --db "$URL" --kind responses "$T/goal.csv"
expect "responses: goal yes/partly/no" 0 "rows read 5, taken 4, duplicates 0, rejected 1" "$T/out" \
        "line 5: field score: 'score' for goal must be \"yes\", \"partly\" or \"no\"" "$T/out"
same "goal scores" "$(q "select group_concat(score) from (select score from responses where id in ('r1','r2','r3') order by id)")" "2,1,0"
same "comment with quotes and a comma" "$(q "select comment from responses where id='r3'")" 'Slow, "very" slow'
same "anonymous response" "$(q "select customer is null from responses where id='r3'")" 1
same "Vietnamese comment kept" "$(q "select comment from responses where id='r1'")" "Rất tốt"

# ---- 8. CRLF and a byte order mark ---------------------------------------------
printf '\357\273\277id,customer,touchpoint,type\r\nw1,c1,%s,visit\r\n\r\nw2,c2,%s,click\r\nw3,c\377,%s,visit\r\n' \
        "$TPA" "$TPB" "$TPA" >"$T/crlf.csv"
run --db "$URL" --kind events "$T/crlf.csv"
expect "CRLF and BOM" 0 "rows read 3, taken 2, duplicates 0, rejected 1" "$T/out" "line 5: field customer:" "$T/out"
same "CRLF: no CR stored" "$(q "select count(*) from events where type like '%'||char(13)||'%' or id like '%'||char(13)||'%'")" 0
same "CRLF: values" "$(q "select type from events where id='w2'")" click

# ---- 9. the fixtures (their touchpoints are created) ----------------------------
run --db "$URL" --kind events --create-touchpoints "$FIX/import_events.csv"
expect "fixture: events CSV" 0 "rows read 5, taken 5, duplicates 0, rejected 0" "$T/out"
same "fixture: fraction of a second dropped, offset applied" "$(q "select ts from events where id='fx-e4'")" 1709377200
same "fixture: a comma inside quoted JSON" "$(q "select properties from events where id='fx-e4'")" '{"note":"gift, wrapped"}'
run --db "$URL" --kind responses --create-touchpoints "$FIX/import_responses.ndjson"
expect "fixture: responses NDJSON" 0 "rows read 5, taken 3, duplicates 0, rejected 2" "$T/out" \
        "line 4: field score: 'score' 8 is out of range for ces" "$T/out" "line 6: column" "$T/out"
same "fixture: goal partly" "$(q "select score from responses where id='fx-r2'")" 1

# ---- 10. usage errors, missing files ---------------------------------------------
run --db "$URL" "$T/good.csv"
expect "no --kind" 2 "--kind events|responses is required" "$T/err"
run --db "$URL" --kind things "$T/good.csv"
expect "bad --kind" 2 "--kind must be events or responses" "$T/err"
run --db "$URL" --kind events - <"$T/good.csv"
expect "stdin needs --format" 2 "needs --format" "$T/err"
run --db "$URL" --kind events "$T/j.json"
expect "unknown extension" 2 "cannot tell the format" "$T/err"
run --db "$URL" --kind events --bogus "$T/good.csv"
expect "unknown option" 2 "unknown option '--bogus'" "$T/err"
run --db "$URL" --kind events --map customer "$T/good.csv"
expect "bad --map" 2 "--map needs COLUMN=FIELD" "$T/err"
run --db "$URL" --kind events --map a=colour "$T/good.csv"
expect "--map to an unknown field" 2 "no such field" "$T/err"
run --db "sqlite:$T/other.db" --kind events "$T/missing.csv"
expect "missing file" 1 "cannot open $T/missing.csv: No such file or directory" "$T/err"
if [ -e "$T/other.db" ]; then bad "a missing file leaves no store behind"; else ok "a missing file leaves no store behind"; fi
run --db "$URL" --kind events --format csv - </dev/null
expect "empty input" 1 "holds no header row" "$T/err"

# ---- 11. stdin, and 50,000 generated rows --------------------------------------
before=$(q 'select count(*) from events')
awk -v a="$TPA" -v b="$TPB" 'BEGIN {
        print "id,customer,touchpoint,channel,type,time,value,currency"
        for (i = 1; i <= 50000; i++)
                printf "gen%06d,cust%05d,%s,,%s,2024-01-%02dT%02d:%02d:%02dZ,%s,%s\n", i, i % 7919,
                        (i % 3 ? a : b), (i % 5 ? "visit" : "purchase"), 1 + i % 28, i % 24, i % 60, (i * 7) % 60,
                        (i % 5 ? "" : i * 100), (i % 10 ? "" : "VND")
}' >"$T/big.csv"
run --db "$URL" --kind events --format csv - <"$T/big.csv"
expect "50,000 rows from stdin" 0 "rows read 50000, taken 50000, duplicates 0, rejected 0" "$T/out"
same "50,000 rows: exact count" "$(q 'select count(*) from events')" $((before + 50000))
same "50,000 rows: purchases with value" "$(q "select count(*) from events where id like 'gen%' and type='purchase' and value is not null")" 10000

# ---- 12. the store is sound --------------------------------------------------
same "integrity_check" "$(q 'PRAGMA integrity_check')" ok
same "foreign keys hold" "$(q 'PRAGMA foreign_key_check' | wc -l | tr -d ' ')" 0

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
