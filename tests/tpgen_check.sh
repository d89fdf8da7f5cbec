#!/bin/sh
# tpgen_check.sh — build tools/tpgen.c with ASan+UBSan, generate small data
# sets and check their invariants.  Last line: "N passed, N failed"; exit 1 on
# any failure.  Needs: a C compiler (CC, default gcc), POSIX awk, jq; sqlite3
# is used when present (and shared/bench/q*.sql when found beside the repo).
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC="$ROOT/tools/tpgen.c"
TEMPLATE="$ROOT/src/service/template_retail_vn.json"
BENCH_SQL_DIR=${BENCH_SQL_DIR:-"$ROOT/../shared/bench"}
CC=${CC:-gcc}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tpgen_check.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT INT TERM

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; }
# check NAME COMMAND...: passes when the command succeeds
check() {
    name=$1
    shift
    if "$@" >/dev/null 2>"$WORK/last.err"; then ok "$name"; else
        bad "$name"
        sed 's/^/       /' "$WORK/last.err" | head -5
    fi
}
# expect NAME WANT GOT
expect() {
    if [ "$2" = "$3" ]; then ok "$1"; else bad "$1 (want '$2', got '$3')"; fi
}

UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export UBSAN_OPTIONS

TPGEN="$WORK/tpgen"
if $CC -std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer \
    -fsanitize=address,undefined -fno-sanitize-recover=all \
    -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
    -Wconversion -Wsign-conversion -Wvla -Wformat=2 -Werror \
    "$SRC" -lm -o "$TPGEN" 2>"$WORK/build.err"; then
    ok "build tpgen with ASan+UBSan and -Werror"
else
    bad "build tpgen with ASan+UBSan and -Werror"
    cat "$WORK/build.err"
    echo "$PASS passed, $FAIL failed"
    exit 1
fi

CHANNELS="web mobile_app email phone store social chat sms"
DEPTS="marketing sales finance customer-care technical logistics legal"

# RFC 4180 split of one line into f[1..n]; returns n
AWK_CSV='
function csvsplit(line, f,    n, i, c, inq, cur, len) {
    n = 0; cur = ""; inq = 0; len = length(line)
    for (i = 1; i <= len; i++) {
        c = substr(line, i, 1)
        if (inq) {
            if (c == "\"") {
                if (substr(line, i + 1, 1) == "\"") { cur = cur "\""; i++ } else inq = 0
            } else cur = cur c
        } else if (c == "\"" && cur == "") inq = 1
        else if (c == ",") { f[++n] = cur; cur = "" }
        else cur = cur c
    }
    f[++n] = cur
    return inq ? -1 : n
}
function epoch(t,    y, m, d, era, yoe, mp, doy, doe) {
    y = substr(t, 1, 4) + 0; m = substr(t, 6, 2) + 0; d = substr(t, 9, 2) + 0
    if (m <= 2) y--
    era = int(y / 400); yoe = y - era * 400
    mp = (m > 2) ? m - 3 : m + 9
    doy = int((153 * mp + 2) / 5) + d - 1
    doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
    return (era * 146097 + doe - 719468) * 86400 + substr(t, 12, 2) * 3600 + substr(t, 15, 2) * 60 + substr(t, 18, 2)
}
'

# run_gen DIR ARGS...: generate, remember the exit status
run_gen() {
    dir=$1
    shift
    "$TPGEN" -q "$@" --out "$dir" 2>"$dir.log"
}

# check_dataset LABEL DIR CUSTOMERS EVENTS RESPONSES STAGES TOUCHPOINTS
check_dataset() {
    L=$1 D=$2 NC=$3 NE=$4 NR=$5 NST=$6 NTP=$7

    # journey.json
    check "$L: journey.json is valid JSON (jq)" jq -e . "$D/journey.json"
    expect "$L: journey has $NST stages" "$NST" "$(jq '.stages | length' "$D/journey.json" 2>/dev/null)"
    jq -r '.stages[].touchpoints[].key' "$D/journey.json" >"$D/keys.txt" 2>/dev/null
    expect "$L: journey has $NTP touchpoints" "$NTP" "$(wc -l <"$D/keys.txt" | tr -d ' ')"
    expect "$L: touchpoint keys are unique" "$NTP" "$(sort -u "$D/keys.txt" | wc -l | tr -d ' ')"
    expect "$L: all keys match ^[a-z0-9][a-z0-9-]{0,62}\$" 0 \
        "$( (jq -r '.key, .stages[].key' "$D/journey.json"; cat "$D/keys.txt") |
            grep -cvE '^[a-z0-9][a-z0-9-]{0,62}$')"
    expect "$L: touchpoint channels, departments and expected scores are valid" 0 \
        "$(jq -r '.stages[].touchpoints[] | [.channel, .department, .expected.csat, .expected.nps,
                 (.name.vi | length), (.name.en | length)] | @tsv' "$D/journey.json" |
            awk -F'\t' -v chs="$CHANNELS" -v dps="$DEPTS" '
                BEGIN { split(chs, a, " "); for (i in a) C[a[i]] = 1; split(dps, b, " "); for (i in b) P[b[i]] = 1 }
                { if (!($1 in C) || !($2 in P) || $3 < 1 || $3 > 5 || $4 < -100 || $4 > 100 || $5 < 1 || $6 < 1) n++ }
                END { print n + 0 }')"

    # headers and counts
    expect "$L: events.csv header" "id,customer,touchpoint,channel,type,time,value,currency" "$(head -1 "$D/events.csv")"
    expect "$L: responses.csv header" "id,customer,touchpoint,channel,metric,score,time,comment,language,event" \
        "$(head -1 "$D/responses.csv")"
    expect "$L: exactly $NE events" "$NE" "$(($(wc -l <"$D/events.csv") - 1))"
    expect "$L: exactly $NR responses" "$NR" "$(($(wc -l <"$D/responses.csv") - 1))"

    # events: formats, order, per-customer order, vocabulary
    out=$(awk -F, -v chs="$CHANNELS" -v nc="$NC" '
        NR == FNR { K[$1] = 1; next }
        FNR == 1 { next }
        {
            if (NF != 8) nf++
            if ($1 !~ /^e[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]+$/) fid++
            if ($1 in ID) dup++; ID[$1] = 1
            if ($2 !~ /^c[0-9][0-9][0-9][0-9][0-9][0-9][0-9]+$/ || substr($2, 2) + 0 < 1 || substr($2, 2) + 0 > nc) fcu++
            if (!($3 in K)) key++
            if (!($4 in C)) ch++
            if (!($5 in T)) ty++
            if ($6 !~ /^[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z$/) ft++
            if ($6 < prev) ord++; prev = $6
            if (($2 in LAST) && LAST[$2] >= $6) cus++; LAST[$2] = $6
            if ($5 == "purchase") { pur++; if ($7 !~ /^[0-9]+$/ || $7 < 1000 || $8 != "VND") val++ }
            else if ($7 != "" || $8 != "") val++
            n++
        }
        END {
            for (c in LAST) nca++
            printf "nf=%d id=%d dup=%d cust=%d key=%d ch=%d type=%d time=%d order=%d percust=%d value=%d active_ok=%d pshare=%d\n",
                nf, fid, dup, fcu, key, ch, ty, ft, ord, cus, val, (nca >= 1 && nca <= nc), (n ? int(100 * pur / n) : 0)
        }
        BEGIN {
            split(chs, a, " "); for (i in a) C[a[i]] = 1
            split("view click visit call purchase delivery complaint message", b, " "); for (i in b) T[b[i]] = 1
        }' "$D/keys.txt" "$D/events.csv")
    get() { echo "$out" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
    expect "$L: events have 8 fields" 0 "$(get nf)"
    expect "$L: event ids look like e0000000001" 0 "$(get id)"
    expect "$L: event ids are unique" 0 "$(get dup)"
    expect "$L: event customers look like c0000001 and are <= $NC" 0 "$(get cust)"
    expect "$L: event touchpoints exist in journey.json" 0 "$(get key)"
    expect "$L: event channels are known" 0 "$(get ch)"
    expect "$L: event types are known" 0 "$(get type)"
    expect "$L: event times are RFC 3339 UTC" 0 "$(get time)"
    expect "$L: event times are non-decreasing" 0 "$(get order)"
    expect "$L: event times strictly increase per customer" 0 "$(get percust)"
    expect "$L: value+VND on purchases only" 0 "$(get value)"
    expect "$L: customers with events <= $NC" 1 "$(get active_ok)"
    ps=$(get pshare)
    if [ "${ps:-0}" -ge 12 ] && [ "${ps:-0}" -le 25 ]; then ok "$L: purchases are about 18% of events ($ps%)"; else bad "$L: purchases are about 18% of events ($ps%)"; fi

    # responses: RFC 4180, formats, order, ranges, link to events
    out=$(awk -v chs="$CHANNELS" -v nc="$NC" "$AWK_CSV"'
        FILENAME ~ /keys.txt$/ { K[$1] = 1; next }
        FILENAME ~ /events.csv$/ { if (FNR > 1) { split($0, e, ","); EC[e[1]] = e[2]; ET[e[1]] = e[3]; EH[e[1]] = e[4]; ES[e[1]] = e[6] } next }
        FNR == 1 { next }
        {
            n++
            if (csvsplit($0, f) != 10) { nf++; next }
            if (f[1] !~ /^r[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]+$/) fid++
            if (f[1] in ID) dup++; ID[f[1]] = 1
            if (!(f[3] in K)) key++
            if (!(f[4] in C)) ch++
            if (f[7] !~ /^[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z$/) ft++
            if (f[7] < prev) ord++; prev = f[7]
            s = f[6] + 0
            if (f[6] !~ /^[0-9]+$/) sc++
            else if (f[5] == "nps") { nn++; if (s > 10) sc++; if (s >= 9) pro++; if (s <= 6) det++ }
            else if (f[5] == "csat") { if (s < 1 || s > 5) sc++ }
            else if (f[5] == "ces") { if (s < 1 || s > 7) sc++ }
            else met++
            M[f[5]]++
            if (f[8] != "") { com++; if (f[9] == "vi") vi++; else if (f[9] != "en") lang++ }
            else if (f[9] != "") lang++
            if (f[10] in EV) edup++; EV[f[10]] = 1
            if (!(f[10] in EC)) eref++
            else {
                if (EC[f[10]] != f[2] || ET[f[10]] != f[3] || EH[f[10]] != f[4]) elink++
                dt = epoch(f[7]) - epoch(ES[f[10]])
                if (dt < 0 || dt > 86400) delay++
            }
        }
        END {
            printf "nf=%d id=%d dup=%d key=%d ch=%d time=%d order=%d score=%d metric=%d lang=%d eref=%d edup=%d elink=%d delay=%d",
                nf, fid, dup, key, ch, ft, ord, sc, met, lang, eref, edup, elink, delay
            printf " npsshare=%d comshare=%d vishare=%d nps=%d\n", n ? int(100 * M["nps"] / n) : 0,
                n ? int(100 * com / n) : 0, com ? int(100 * vi / com) : 0, nn ? int(100 * (pro - det) / nn) : 0
        }
        BEGIN { split(chs, a, " "); for (i in a) C[a[i]] = 1 }' "$D/keys.txt" "$D/events.csv" "$D/responses.csv")
    expect "$L: responses parse as RFC 4180 with 10 fields" 0 "$(get nf)"
    expect "$L: response ids look like r0000000001" 0 "$(get id)"
    expect "$L: response ids are unique" 0 "$(get dup)"
    expect "$L: response touchpoints exist in journey.json" 0 "$(get key)"
    expect "$L: response channels are known" 0 "$(get ch)"
    expect "$L: response times are RFC 3339 UTC" 0 "$(get time)"
    expect "$L: response times are non-decreasing" 0 "$(get order)"
    expect "$L: scores in range (nps 0-10, csat 1-5, ces 1-7)" 0 "$(get score)"
    expect "$L: metrics are nps/csat/ces" 0 "$(get metric)"
    expect "$L: language is vi/en with a comment, empty without" 0 "$(get lang)"
    expect "$L: every response points to an existing event" 0 "$(get eref)"
    expect "$L: at most one response per event" 0 "$(get edup)"
    expect "$L: response customer/touchpoint/channel match its event" 0 "$(get elink)"
    expect "$L: response comes 0..24 h after its event" 0 "$(get delay)"
    v=$(get npsshare)
    if [ "$v" -ge 35 ] && [ "$v" -le 55 ]; then ok "$L: about 45% nps ($v%)"; else bad "$L: about 45% nps ($v%)"; fi
    v=$(get comshare)
    if [ "$v" -ge 15 ] && [ "$v" -le 35 ]; then ok "$L: about 25% comments ($v%)"; else bad "$L: about 25% comments ($v%)"; fi
    v=$(get vishare)
    if [ "$v" -ge 55 ] && [ "$v" -le 92 ]; then ok "$L: about 75% Vietnamese comments ($v%)"; else bad "$L: about 75% Vietnamese comments ($v%)"; fi
    NPS_AWK=$(get nps)

    # --sql files: same rows, integer encodings consistent with the CSVs
    expect "$L: events_sql.csv has $NE rows" "$NE" "$(wc -l <"$D/events_sql.csv" | tr -d ' ')"
    expect "$L: responses_sql.csv has $NR rows" "$NR" "$(wc -l <"$D/responses_sql.csv" | tr -d ' ')"
    expect "$L: events_sql.csv matches events.csv row by row" 0 "$(awk -F, -v chs="$CHANNELS" "$AWK_CSV"'
        BEGIN { split(chs, a, " "); for (i in a) CI[a[i]] = i }
        FILENAME ~ /keys.txt$/ { KI[$1] = FNR; next }
        FILENAME ~ /events_sql.csv$/ { S[FNR] = $0; next }
        FNR > 1 {
            split(S[FNR - 1], s, ",")
            want = (substr($1, 2) + 0) "," (substr($2, 2) + 0) "," KI[$3] "," CI[$4] "," epoch($6) "," $5 "," $7
            if (S[FNR - 1] != want) bad++
        }
        END { print bad + 0 }' "$D/keys.txt" "$D/events_sql.csv" "$D/events.csv")"
    expect "$L: responses_sql.csv matches responses.csv row by row" 0 "$(awk -v chs="$CHANNELS" "$AWK_CSV"'
        BEGIN { split(chs, a, " "); for (i in a) CI[a[i]] = i }
        FILENAME ~ /keys.txt$/ { KI[$1] = FNR; next }
        FILENAME ~ /responses_sql.csv$/ { S[FNR] = $0; next }
        FNR > 1 {
            csvsplit($0, f)
            want = (substr(f[1], 2) + 0) "," (substr(f[2], 2) + 0) "," KI[f[3]] "," CI[f[4]] "," f[5] "," f[6] "," epoch(f[7]) "," (substr(f[10], 2) + 0)
            if (S[FNR - 1] != want) bad++
        }
        END { print bad + 0 }' "$D/keys.txt" "$D/responses_sql.csv" "$D/responses.csv")"

    # optional: SQLite gives the same overall NPS and runs the benchmark queries
    if command -v sqlite3 >/dev/null 2>&1; then
        db="$D/bench.db"
        rm -f "$db"
        sqlite3 "$db" >/dev/null 2>"$D/sqlite.err" <<EOF
CREATE TABLE events(event_id INTEGER PRIMARY KEY, customer_id INTEGER, touchpoint_id INTEGER,
                    channel_id INTEGER, ts INTEGER, event_type TEXT, revenue INTEGER);
CREATE TABLE responses(response_id INTEGER PRIMARY KEY, customer_id INTEGER, touchpoint_id INTEGER,
                       channel_id INTEGER, metric TEXT, score INTEGER, ts INTEGER, event_id INTEGER);
.mode csv
.import $D/events_sql.csv events
.import $D/responses_sql.csv responses
UPDATE events SET revenue = NULL WHERE revenue = '';
EOF
        expect "$L: sqlite loads the --sql files" "$NE $NR" \
            "$(sqlite3 "$db" 'SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM responses)' | tr '|' ' ')"
        if [ -f "$BENCH_SQL_DIR/q1.sql" ]; then
            q1=$(sqlite3 -csv "$db" <"$BENCH_SQL_DIR/q1.sql" | cut -d, -f1)
            expect "$L: q1.sql overall NPS matches responses.csv" "$NPS_AWK" \
                "$(awk -v x="$q1" 'BEGIN { print int(x) }')"
            qfail=0
            for q in "$BENCH_SQL_DIR"/q*.sql; do
                sqlite3 "$db" <"$q" >/dev/null 2>&1 || qfail=$((qfail + 1))
            done
            expect "$L: every shared/bench q*.sql runs" 0 "$qfail"
        fi
    fi
}

# ---------------------------------------------------------------------------
R1="$WORK/r1" R1B="$WORK/r1b" R2="$WORK/r2" B1="$WORK/b1"
check "generate retail-vn seed 1" run_gen "$R1" --template retail-vn --customers 200 --events 5000 --responses 800 --seed 1 --sql
check "generate retail-vn seed 1 again" run_gen "$R1B" --template retail-vn --customers 200 --events 5000 --responses 800 --seed 1 --sql
check "generate retail-vn seed 2" run_gen "$R2" --template retail-vn --customers 200 --events 5000 --responses 800 --seed 2 --sql
check "generate bench" run_gen "$B1" --template bench --customers 300 --events 6000 --responses 600 --seed 1 --sql

check_dataset "retail-vn/1" "$R1" 200 5000 800 3 21
check_dataset "retail-vn/2" "$R2" 200 5000 800 3 21
check_dataset "bench" "$B1" 300 6000 600 5 40

for f in journey.json events.csv responses.csv events_sql.csv responses_sql.csv; do
    check "same seed, byte-identical $f" cmp "$R1/$f" "$R1B/$f"
done
for f in events.csv responses.csv; do
    if cmp -s "$R1/$f" "$R2/$f"; then bad "different seeds, different $f"; else ok "different seeds, different $f"; fi
done

check "retail-vn journey.json is the built-in template file" cmp "$R1/journey.json" "$TEMPLATE"
expect "retail-vn stages are before/during/after" "before during after" \
    "$(jq -r '[.stages[].key] | join(" ")' "$TEMPLATE" 2>/dev/null)"
expect "retail-vn touchpoints in journey order" \
    "social-media reviews legal-documents word-of-mouth community ads pr store website catalogue promotions sales-team telesales pos invoice order-confirmation-email email-marketing care-centre online-support warranty-follow-up next-promotion-notice" \
    "$(jq -r '[.stages[].touchpoints[].key] | join(" ")' "$TEMPLATE" 2>/dev/null)"
expect "bench touchpoints are tp01..tp40" "tp01 tp40 40" \
    "$(jq -r '[.stages[].touchpoints[].key] | "\(.[0]) \(.[-1]) \(length)"' "$B1/journey.json" 2>/dev/null)"
check "--template-file with the template gives the same data" sh -c '
    "$1" -q --template-file "$2" --customers 200 --events 5000 --responses 800 --seed 1 --out "$3" 2>/dev/null &&
    cmp "$3/journey.json" "$4/journey.json" && cmp "$3/events.csv" "$4/events.csv" && cmp "$3/responses.csv" "$4/responses.csv"
' sh "$TPGEN" "$TEMPLATE" "$WORK/tf" "$R1"

# errors: exit status 2, message on stderr
expect_exit() {
    name=$1 want=$2
    shift 2
    "$@" >/dev/null 2>"$WORK/err.txt"
    got=$?
    if [ "$got" = "$want" ] && { [ "$want" = 0 ] || [ -s "$WORK/err.txt" ]; }; then ok "$name"; else bad "$name (exit $got)"; fi
}
expect_exit "--help exits 0" 0 "$TPGEN" --help
expect_exit "unknown option exits 2" 2 "$TPGEN" --frobnicate --out "$WORK/x1"
expect_exit "bad number exits 2" 2 "$TPGEN" --events 12x --out "$WORK/x2"
expect_exit "unknown template exits 2" 2 "$TPGEN" --template nope --out "$WORK/x3"
expect_exit "responses > events exits 2" 2 "$TPGEN" --events 10 --responses 11 --out "$WORK/x4"
expect_exit "bad date exits 2" 2 "$TPGEN" --start 2023-02-30 --out "$WORK/x5"
expect_exit "missing --out exits 2" 2 "$TPGEN" --events 10
: >"$WORK/plainfile"
expect_exit "unwritable output dir exits 2" 2 "$TPGEN" --out "$WORK/plainfile/sub"
expect_exit "missing template file exits 2" 2 "$TPGEN" --template-file "$WORK/none.json" --out "$WORK/x6"
expect_exit "zero events is fine" 0 "$TPGEN" -q --events 0 --responses 0 --out "$WORK/x7"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
