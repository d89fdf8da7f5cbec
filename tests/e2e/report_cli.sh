#!/bin/sh
# report_cli.sh BUILD_DIR -- `touchpoint report` against SQL asked of the same
# store: a generated retail-vn data set, imported, then each report's figures
# compared with sqlite3's.
set -u
BUILD=${1:-build/asan}
TP=$BUILD/touchpoint
GEN=$BUILD/tools/tpgen
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   - $1"; }
bad() { fail=$((fail + 1)); echo "FAIL - $1"; }
same() { # name a b: equal to 1e-9 (relative)
        if awk -v a="$2" -v b="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; m = (a < 0 ? -a : a); exit !(d <= 1e-9 * (m > 1 ? m : 1)) }'; then
                ok "$1 ($2)"
        else
                bad "$1: report $2, sql $3"
        fi
}

"$GEN" --template retail-vn --customers 300 --events 6000 --responses 1500 --seed 11 --out "$T/g" --quiet >/dev/null
DB=$T/db
"$TP" journey apply --db "sqlite:$DB" "$T/g/journey.json" 2>/dev/null
"$TP" import --db "sqlite:$DB" --kind events "$T/g/events.csv" >/dev/null
"$TP" import --db "sqlite:$DB" --kind responses "$T/g/responses.csv" >/dev/null

r=$("$TP" report scores --db "sqlite:$DB" --metric nps --format json | jq -r '.rows[0].nps.score')
s=$(sqlite3 "$DB" "SELECT 100.0 * (sum(score >= 9) - sum(score <= 6)) / count(*) FROM responses WHERE metric = 'nps'")
same "overall NPS" "$r" "$s"

r=$("$TP" report scores --db "sqlite:$DB" --metric csat --group touchpoint --format json |
        jq -r '.rows[] | select(.touchpoint == "store") | .csat.pct')
s=$(sqlite3 "$DB" "SELECT 100.0 * sum(score >= 4) / count(*) FROM responses r JOIN touchpoints t ON t.id = r.touchpoint
                   WHERE metric = 'csat' AND t.key = 'store'")
same "CSAT top-2-box at the store" "$r" "$s"

r=$("$TP" report scores --db "sqlite:$DB" --metric ces --from 2024-01-01 --to 2024-07-01 --format json | jq -r '.rows[0].ces.mean')
s=$(sqlite3 "$DB" "SELECT avg(score) FROM responses WHERE metric = 'ces' AND ts >= 1704042000 AND ts < 1719766800")
same "mean CES in 2024-H1 (local dates, UTC+7)" "$r" "$s"

for st in before during after; do
        r=$("$TP" report scores --db "sqlite:$DB" --group stage --metric nps --format json |
                jq -r ".rows[] | select(.key == \"$st\") | .nps.score")
        s=$(sqlite3 "$DB" "SELECT 100.0 * (sum(score >= 9) - sum(score <= 6)) / count(*) FROM responses r
                           JOIN touchpoints t ON t.id = r.touchpoint WHERE metric = 'nps' AND t.stage = '$st'")
        same "NPS of stage $st" "$r" "$s"
done
r=$("$TP" report scores --db "sqlite:$DB" --group stage --bucket month --metric csat --format json |
        jq -r '[.rows[] | select(.key == "during") | .csat.n] | add')
s=$(sqlite3 "$DB" "SELECT count(*) FROM responses r JOIN touchpoints t ON t.id = r.touchpoint
                   WHERE metric = 'csat' AND t.stage = 'during'")
same "CSAT answers of stage during, summed over months" "$r" "$s"
"$TP" report scores --db "sqlite:$DB" --group stage --journey nowhere >/dev/null 2>"$T/err"
[ $? -eq 2 ] && grep -q "journey" "$T/err" && ok "unknown journey exits 2 naming it" || bad "unknown journey"

r=$("$TP" report transitions --db "sqlite:$DB" --format json | jq -r '.total')
s=$(sqlite3 "$DB" "SELECT count(*) FROM (SELECT LAG(touchpoint) OVER (PARTITION BY customer ORDER BY ts, seq) AS p FROM events) WHERE p IS NOT NULL")
same "transition total" "$r" "$s"

r=$("$TP" report transitions --db "sqlite:$DB" --format csv | awk -F, 'NR > 1 && $2 == "website" && $4 == "store" { print $5 }')
s=$(sqlite3 "$DB" "SELECT count(*) FROM (SELECT touchpoint AS t, LAG(touchpoint) OVER (PARTITION BY customer ORDER BY ts, seq) AS p FROM events)
                   WHERE p = (SELECT id FROM touchpoints WHERE key = 'website') AND t = (SELECT id FROM touchpoints WHERE key = 'store')")
same "website -> store transitions (csv)" "${r:-0}" "$s"

r=$("$TP" report attribution --db "sqlite:$DB" --format json | jq -r '[.touchpoints[].conversions] | add + 0')
u=$("$TP" report attribution --db "sqlite:$DB" --format json | jq -r '.unattributed.conversions')
s=$(sqlite3 "$DB" "SELECT count(*) FROM events WHERE type = 'purchase'")
same "every purchase attributed or counted unattributed" "$((r + u))" "$s"

"$TP" report scores --db "sqlite:$DB" --group nonsense >/dev/null 2>"$T/err"
[ $? -eq 2 ] && grep -q "group" "$T/err" && ok "bad --group exits 2 naming it" || bad "bad --group"
"$TP" report attribution --db "sqlite:$DB" --model magic >/dev/null 2>"$T/err"
[ $? -eq 2 ] && grep -q "unknown attribution model" "$T/err" && ok "unknown model exits 2" || bad "unknown model"
r=$("$TP" report attribution --db "sqlite:$DB" --model markov --format json | jq -r '([.touchpoints[].conversions] | add) + .unattributed.conversions | round')
same "markov: credited + unattributed = all purchases" "$r" "$s"
"$TP" report scores --db "sqlite:$T/missing/db" >/dev/null 2>&1
[ $? -eq 1 ] && ok "missing store exits 1" || bad "missing store"
n=$("$TP" report scores --db "sqlite:$DB" --group touchpoint --format table | wc -l)
[ "$n" -eq 22 ] && ok "table: a header and 21 touchpoints" || bad "table has $n lines"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
