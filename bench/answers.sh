#!/bin/sh
# bench/answers.sh -- the answers check of `make bench`: the six standard
# questions (../shared/bench/q1..q6.sql) as SQLite answers them and as the HTTP
# API answers them, each turned into one canonical CSV, then compared.
#
#   answers.sh sql Q  <sqlite3-csv-output   >canonical.csv
#   answers.sh api Q JOURNEY_JSON <answer.json >canonical.csv
#   answers.sh compare Q SQL.csv API.csv    prints "same as SQLite (N rows)" or
#                                           "DIFFER (first difference: ...)"; exit 1 then
#
# ANSWERS_LEFT and ANSWERS_RIGHT (default SQLite, Touchpoint) name the two
# sides in what compare prints: bench/run.sh also compares the answers after
# a cold start with those after a warm one.
#
# Canonical CSV: a header naming the columns, then one row per group in the
# SQL's columns and ids, sorted by the key columns (numerically); integers as
# they are, other numbers to 12 significant digits, NULL/null empty.  The
# comparison, like tests/e2e/engine_sql.sh, takes numbers within 1e-9
# relative (absolute near zero) as equal: SQLite prints 15 digits, jq 17.
#
# The mapping between the API's names and the SQL's integer ids is tpgen's
# (tools/tpgen.c, --sql): touchpoint_id is 1 + the touchpoint's position in
# journey.json (stages in order, their touchpoints in order); channel_id is
# 1 + the channel's position in tpgen's fixed list below, the order of
# ../shared/bench/README.md.  Q3's week_start is the bucket's start in unix
# seconds, which the API gives as an RFC 3339 local time with the zone of
# its tz_offset.
#
# Needs sh, awk, sort and jq (scripts/deps.sh installs it).
set -eu

CHANNELS='["web","mobile_app","email","phone","store","social","chat","sms"]'

# The columns of each question's SQL, and how many of them (from the left)
# are the key that identifies a row.
columns() {
        case $1 in
        1) echo "nps,n 0" ;;
        2) echo "touchpoint_id,nps,csat,ces 1" ;;
        3) echo "week_start,nps,n 1" ;;
        4) echo "touchpoint_id,channel_id,nps,n 2" ;;
        5) echo "prev_tp,touchpoint_id,n 2" ;;
        6) echo "touchpoint_id,purchases,revenue 1" ;;
        *) echo "answers.sh: no question $1" >&2; exit 2 ;;
        esac
}

# stdin: CSV rows without a header.  Rounds the numbers, sorts by the key
# columns, and puts the header on top.
canonical() {
        # shellcheck disable=SC2046 # two words: the columns, the number of keys
        set -- $(columns "$1")
        echo "$1"
        awk -F, -v OFS=, '{
                for (i = 1; i <= NF; i++) {
                        gsub(/"/, "", $i)
                        if ($i ~ /^-?[0-9]+$/) continue
                        if ($i ~ /^-?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$/) {
                                $i = sprintf("%.12g", $i + 0)
                                if ($i == "-0") $i = "0"
                        }
                }
                print
        }' | if [ "$2" -ge 2 ]; then LC_ALL=C sort -t, -k1,1n -k2,2n
        elif [ "$2" -eq 1 ]; then LC_ALL=C sort -t, -k1,1n
        else cat; fi
}

# The API's JSON answer to question Q as CSV rows in the SQL's columns.
# Names the journey or the channel list does not know come out as "?name", so
# they show up as a difference rather than vanish.
api_rows() {
        jq -r --argjson ch "$CHANNELS" --slurpfile j "$2" --arg q "$1" '
                ([$j[0].stages[].touchpoints[].key] | to_entries | map({(.value): (.key + 1)}) | add) as $tp
                | ($ch | to_entries | map({(.value): (.key + 1)}) | add) as $chid
                | def tpid: . as $k | ($tp[$k] // "?\($k)");
                  def chid: . as $k | ($chid[$k // ""] // "?\($k)");
                  # the start "2024-04-01T00:00:00+07:00" in unix seconds
                  def epoch: (.[0:19] + "Z" | fromdateiso8601)
                             - ((if .[19:20] == "-" then -1 else 1 end)
                                * ((.[20:22] | tonumber) * 3600 + (.[23:25] | tonumber) * 60));
                if $q == "1" then .rows[] | [.nps.score, .nps.n]
                elif $q == "2" then .rows[] | [(.touchpoint | tpid), .nps.score, .csat.pct, .ces.mean]
                elif $q == "3" then .rows[] | [(.start | epoch), .nps.score, .nps.n]
                elif $q == "4" then .rows[] | [(.touchpoint | tpid), (.channel | chid), .nps.score, .nps.n]
                elif $q == "5" then .transitions[] | [(.from | tpid), (.to | tpid), .n]
                else .touchpoints[] | [(.touchpoint | tpid), .conversions, .value]
                end
                | map(if . == null then "" else tostring end) | join(",")'
}

# Q SQL.csv API.csv: row by row in the SQL's order, matched by key.
compare() {
        # shellcheck disable=SC2046 # two words: the columns, the number of keys
        set -- "$2" "$3" $(columns "$1")
        awk -F, -v api="$2" -v nkey="$4" -v la="${ANSWERS_LEFT:-SQLite}" -v lb="${ANSWERS_RIGHT:-Touchpoint}" '
        function num(s) { return s ~ /^-?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$/ }
        function same(a, b,   d, m) {
                if (a == b) return 1
                if (!num(a) || !num(b)) return 0
                d = a - b; if (d < 0) d = -d
                m = a < 0 ? -a : a; if ((b < 0 ? -b : b) > m) m = (b < 0 ? -b : b)
                return d <= 1e-9 * m || d <= 1e-12
        }
        function key(line,   f, k, i) {
                split(line, f, ","); k = ""
                for (i = 1; i <= nkey; i++) k = k (i > 1 ? "," : "") f[i]
                return k
        }
        function named(k,   f, s, i) { # "touchpoint_id=3, channel_id=5"
                if (nkey == 0) return "the row"
                split(k, f, ","); s = ""
                for (i = 1; i <= nkey; i++) s = s (i > 1 ? ", " : "") col[i] "=" f[i]
                return s
        }
        function fail(msg) { print "first difference: " msg; bad = 1; exit 1 }
        BEGIN {
                if ((getline line < api) > 0 && line != "") {
                        while ((getline line < api) > 0) { k = key(line); if (k in row) { dup = 1; dupk = k }; row[k] = line; order[++nrow] = k }
                }
        }
        NR == 1 { ncol = split($0, col, ","); next }
        {
                k = key($0); seen[k] = 1; rows++
                if (!(k in row)) fail(named(k) " is missing from " lb " (" la ": " $0 ")")
                n = split(row[k], b, ",")
                if (n != NF) fail(named(k) ": " n " fields from " lb ", " NF " from " la)
                for (i = nkey + 1; i <= NF; i++)
                        if (!same($i, b[i]))
                                fail(named(k) ": " col[i] " " la " " ($i == "" ? "NULL" : $i) ", " lb " " (b[i] == "" ? "null" : b[i]))
        }
        END {
                if (bad) exit 1
                if (dup) { print "first difference: " lb " has " named(dupk) " twice"; exit 1 }
                for (i = 1; i <= nrow; i++) if (!((k = order[i]) in seen)) { print "first difference: " lb " has " named(k) ", " la " has not (" row[k] ")"; exit 1 }
                if (rows == 0) { print "first difference: no rows from " la; exit 1 }
                print "same as " la " (" rows (rows == 1 ? " row)" : " rows)")
        }' "$1"
}

case ${1:-} in
sql) canonical "$2" ;;
api) # jq fails on an answer without rows (an error, say): exit 1 then
        rows=$(api_rows "$2" "$3") || exit 1
        if [ -n "$rows" ]; then printf "%s\n" "$rows"; fi | canonical "$2"
        ;;
compare)
        if out=$(compare "$2" "$3" "$4"); then
                echo "$out"
        else
                echo "DIFFER ($out)"
                exit 1
        fi
        ;;
*)
        echo "usage: answers.sh sql Q | api Q JOURNEY_JSON | compare Q SQL.csv API.csv" >&2
        exit 2
        ;;
esac
