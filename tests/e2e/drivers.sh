#!/bin/sh
# drivers.sh BUILD_DIR -- key drivers over HTTP on a generated retail-vn data
# set: the weights add up, and a correlation equals the one computed in SQL
# from the same store (customer means, pairwise complete).
BUILD=${1:-build/asan}
. "$(dirname "$0")/lib.sh"

"$BUILD/tools/tpgen" --template retail-vn --customers 2000 --events 40000 --responses 20000 --seed 5 \
        --out "$T/g" --quiet >/dev/null 2>&1 || { bad tpgen "tpgen failed"; finish; }
"$TP" journey apply --db "sqlite:$DB" "$T/g/journey.json" 2>/dev/null
"$TP" import --db "sqlite:$DB" --kind events "$T/g/events.csv" >/dev/null
"$TP" import --db "sqlite:$DB" --kind responses "$T/g/responses.csv" >/dev/null
ADMIN=$("$TP" key create --db "sqlite:$DB" --scope admin)
AH="Authorization: Bearer $ADMIN"
start_server || finish

check "drivers" 200 '(.touchpoints | length) > 0 and .r2 > 0 and .r2 < 1 and .metric == "csat"
        and (([.touchpoints[].weight_pct] | add) - 100 | fabs) < 1e-6
        and ([.touchpoints[].quadrant] - ["fix_first", "keep_up", "low_priority", "possible_overkill"] | length) == 0' \
        -H "$AH" "/v1/reports/drivers"
tp=$(jq -r '.touchpoints[0].touchpoint' "$T/body")
got=$(jq -r '.touchpoints[0].correlation' "$T/body")
got_n=$(jq -r '.touchpoints[0].n' "$T/body")
# The same correlation in SQL: customer-mean CSAT at $tp against customer-mean NPS anywhere.
sqlite3 -separator ' ' "$DB" "
WITH x AS (SELECT customer, avg(score) AS v FROM responses r JOIN touchpoints t ON t.id = r.touchpoint
           WHERE metric = 'csat' AND t.key = '$tp' AND customer IS NOT NULL GROUP BY customer),
     y AS (SELECT customer, avg(score) AS v FROM responses WHERE metric = 'nps' AND customer IS NOT NULL GROUP BY customer)
SELECT count(*), sum(x.v), sum(y.v), sum(x.v * y.v), sum(x.v * x.v), sum(y.v * y.v) FROM x JOIN y USING (customer)" >"$T/sums"
want=$(awk '{ n = $1; r = (n * $4 - $2 * $3) / sqrt((n * $5 - $2 * $2) * (n * $6 - $3 * $3)); printf "%.9f", r }' "$T/sums")
eq "n of $tp" "$got_n" "$(awk '{ print $1 }' "$T/sums")"
eq "correlation of $tp matches SQL" "$(printf '%.9f' "$got")" "$want"
check "purchase outcome" 200 '.outcome.type == "purchase"' -H "$AH" "/v1/reports/drivers?outcome=purchase"
check "outcome at a touchpoint" 200 '([.touchpoints[].touchpoint] | index("invoice")) == null' \
        -H "$AH" "/v1/reports/drivers?outcome=nps&outcome_touchpoint=invoice"
check "bad outcome" 400 '.error.field == "outcome"' -H "$AH" "/v1/reports/drivers?outcome=happiness"
check "unknown outcome touchpoint" 422 '.error.field == "outcome_touchpoint"' \
        -H "$AH" "/v1/reports/drivers?outcome_touchpoint=nowhere"
"$TP" report drivers --db "sqlite:$DB" --format csv >"$T/d.csv" 2>/dev/null
eq "report drivers (csv): the same first touchpoint" "$(awk -F, 'NR == 2 { print $2 }' "$T/d.csv")" "$tp"
stop_server
finish
