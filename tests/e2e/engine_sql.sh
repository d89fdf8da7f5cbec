#!/bin/sh
# engine_sql.sh BUILD_DIR -- the six standard questions of ../shared/bench (q1..q6.sql)
# asked of SQLite and of the engine on one small generated data set; every answer
# must agree, numbers to within 1e-9 relative.
#
# The engine's answers come from BUILD_DIR/tests/test_engine, which loads the same
# CSVs through tp_engine_add_* and writes engine_q1..q6.csv when TP_ENGINE_SQL_DIR
# is set.  Needs BUILD_DIR/tools/tpgen and the sqlite3 shell.
set -u
BUILD=${1:-build/asan}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH=${TP_BENCH_SQL_DIR:-$ROOT/../shared/bench}
TMP=$(mktemp -d /tmp/tp-engine-sql.XXXXXX)
trap 'rm -rf "$TMP"' EXIT INT TERM
pass=0
fail=0

ok() {
        pass=$((pass + 1))
        echo "ok   $1"
}
bad() {
        fail=$((fail + 1))
        echo "FAIL $1: $2"
}
finish() {
        echo "$pass passed, $fail failed"
        [ "$fail" -eq 0 ]
        exit $?
}

for f in "$BUILD/tools/tpgen" "$BUILD/tests/test_engine"; do
        [ -x "$f" ] || { bad setup "$f is not built"; finish; }
done
command -v sqlite3 >/dev/null 2>&1 || { bad setup "no sqlite3 shell"; finish; }
[ -f "$BENCH/q1.sql" ] || { bad setup "no $BENCH/q1.sql"; finish; }

if "$BUILD/tools/tpgen" --template bench --customers 2000 --events 60000 --responses 8000 \
        --seed 7 --out "$TMP" --sql >"$TMP/tpgen.out" 2>&1; then
        ok tpgen
else
        bad tpgen "$(tail -n 3 "$TMP/tpgen.out")"
        finish
fi

# The tables of ../shared/bench/README.md; INTEGER affinity turns the CSV's text
# into numbers, and an empty revenue is NULL as in the other engines.
if sqlite3 "$TMP/bench.db" >"$TMP/sqlite.out" 2>&1 <<EOF
CREATE TABLE events(event_id INTEGER, customer_id INTEGER, touchpoint_id INTEGER,
                    channel_id INTEGER, ts INTEGER, event_type TEXT, revenue INTEGER);
CREATE TABLE responses(response_id INTEGER, customer_id INTEGER, touchpoint_id INTEGER,
                       channel_id INTEGER, metric TEXT, score INTEGER, ts INTEGER, event_id INTEGER);
.mode csv
.import $TMP/events_sql.csv events
.import $TMP/responses_sql.csv responses
UPDATE events SET revenue = NULL WHERE revenue = '';
EOF
then
        ok sqlite_load
else
        bad sqlite_load "$(tail -n 3 "$TMP/sqlite.out")"
        finish
fi

if TP_ENGINE_SQL_DIR=$TMP "$BUILD/tests/test_engine" >"$TMP/engine.out" 2>&1 &&
        [ -f "$TMP/engine_q6.csv" ]; then
        ok engine_answers
else
        bad engine_answers "$(grep -E 'ERROR|FAILED|rror' "$TMP/engine.out" | head -n 5)"
        finish
fi

# Same number of rows, and field by field: both empty, equal text, or numbers
# within 1e-9 relative (absolute near zero).
compare() {
        awk -F, -v other="$2" '
        function num(s) { return s ~ /^-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$/ }
        {
                if ((getline line < other) <= 0) { printf "engine has fewer rows than SQLite (%d)\n", NR; bad = 1; exit }
                n = split(line, b, ",")
                if (n != NF) { printf "row %d: %d fields, SQLite %d\n", NR, n, NF; bad = 1; exit }
                for (i = 1; i <= NF; i++) {
                        a = $i; c = b[i]; gsub(/"/, "", a); gsub(/"/, "", c)
                        if (a == c) continue
                        if (num(a) && num(c)) {
                                d = a - c; if (d < 0) d = -d
                                m = a < 0 ? -a : a; if ((c < 0 ? -c : c) > m) m = (c < 0 ? -c : c)
                                if (d <= 1e-9 * m || d <= 1e-12) continue
                        }
                        printf "row %d field %d: SQLite %s, engine %s\n", NR, i, a, c; bad = 1; exit
                }
        }
        END {
                if (!bad && (getline line < other) > 0) { printf "engine has more rows than SQLite (%d)\n", NR; bad = 1 }
                if (!bad && NR == 0) { print "no rows"; bad = 1 }
                exit bad
        }' "$1"
}

for q in 1 2 3 4 5 6; do
        if ! sqlite3 -csv "$TMP/bench.db" <"$BENCH/q$q.sql" >"$TMP/sql_q$q.csv" 2>"$TMP/sql_q$q.err"; then
                bad "q$q" "sqlite3: $(head -n 2 "$TMP/sql_q$q.err")"
                continue
        fi
        if why=$(compare "$TMP/sql_q$q.csv" "$TMP/engine_q$q.csv"); then
                ok "q$q ($(wc -l <"$TMP/sql_q$q.csv") rows)"
        else
                bad "q$q" "$why"
        fi
done
finish
