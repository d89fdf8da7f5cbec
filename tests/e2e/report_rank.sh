#!/bin/sh
# report_rank.sh BUILD_DIR -- the weakest touchpoints and the expectation gap,
# on answers posted through the API, against values computed by hand below.
BUILD=${1:-build/asan}
. "$(dirname "$0")/lib.sh"

tp_setup || { bad setup "tp_setup failed"; finish; }
start_server || finish

# NDJSON of N answers "metric score" at touchpoint TP, ids PREFIX-1..N.
answers() { # tp metric score count prefix
        i=1
        while [ "$i" -le "$4" ]; do
                printf '{"id":"%s-%d","touchpoint":"%s","metric":"%s","score":%d}\n' "$5" "$i" "$1" "$2" "$3"
                i=$((i + 1))
        done
}
{
        # store: three angry answers (n 3, NPS -100)
        answers store nps 0 3 s
        # website: 100 lukewarm answers: 20 promoters, 40 passives, 40 detractors (NPS -20)
        answers website nps 10 20 wp
        answers website nps 8 40 wa
        answers website nps 3 40 wd
        # invoice: 40 promoters, 10 passives (NPS +80)
        answers invoice nps 9 40 ip
        answers invoice nps 7 10 ia
        # CSAT: store 5,5,4,4 (mean 4.5); website forty 2s (mean 2)
        answers store csat 5 2 c5
        answers store csat 4 2 c4
        answers website csat 2 40 wc
} >"$T/answers.ndjson"
check "post the answers" 200 '.accepted == 197 and (.rejected | length) == 0' \
        -H "$IH" -H 'Content-Type: application/x-ndjson' --data-binary "@$T/answers.ndjson" /v1/responses

# Adjusted intervals (one pseudo-answer per category, n + 3):
#   website: p = 21/103, d = 41/103, score = -19.4175, se = sqrt((p + d - (p - d)^2) / 103) * 100
#            = 7.4013, upper = -19.4175 + 1.96 * 7.4013 = -4.911
#   store:   p = 1/6, d = 4/6, score = -50, se = sqrt((5/6 - 1/4) / 6) * 100 = 31.180, upper = 11.11
#   invoice: p = 41/53, d = 1/53, upper ~ +93
# so the lukewarm website ranks first and the three angry answers second.
check "weakest by NPS" 200 \
        '[.touchpoints[].touchpoint] == ["website", "store", "invoice"] and .metric == "nps"' \
        -H "$AH" "/v1/reports/weakest?metric=nps"
want=$(awk 'BEGIN { n = 103; p = 21 / n; d = 41 / n; s = (p - d) * 100; se = sqrt((p + d - (p - d)^2) / n) * 100;
               printf "%.3f", s + 1.959963984540054 * se }')
got=$(jq -r '.touchpoints[0].upper * 1000 | round / 1000 | tostring' "$T/body")
eq "website upper bound $want" "$(printf '%.3f' "$got")" "$want"
want=$(awk 'BEGIN { n = 6; p = 1 / n; d = 4 / n; s = (p - d) * 100; se = sqrt((p + d - (p - d)^2) / n) * 100;
               printf "%.3f", s + 1.959963984540054 * se }')
got=$(jq -r '.touchpoints[1].upper' "$T/body")
eq "store upper bound $want" "$(printf '%.3f' "$got")" "$want"
eq "raw scores" "$(jq -c '[.touchpoints[].score]' "$T/body")" "[-20,-100,80]"
# detractors: website 40, store 3 -> shares 40/43 and 3/43
eq "detractor shares" "$(jq -r '[.touchpoints[].bad_share * 10000 | round] | @csv' "$T/body")" "9302,698,0"
eq "store is low volume" "$(jq -r '.touchpoints[1].low_volume' "$T/body")" "true"
eq "no earlier window, no trend" "$(jq -r '.touchpoints[0].trend' "$T/body")" "null"
# the overall score: 60 promoters, 50 passives, 43 detractors of 153
want=$(awk 'BEGIN { printf "%.4f", (60 - 43) / 153 * 100 }')
eq "overall NPS" "$(printf '%.4f' "$(jq -r '.overall.score' "$T/body")")" "$want"
check "limit" 200 '(.touchpoints | length) == 1 and .touchpoints[0].rank == 1' -H "$AH" "/v1/reports/weakest?limit=1"
check "weakest by CSAT" 200 '[.touchpoints[].touchpoint] == ["website", "store"]' \
        -H "$AH" "/v1/reports/weakest?metric=csat"
check "weakest: bad metric" 400 '.error.field == "metric"' -H "$AH" "/v1/reports/weakest?metric=ces"
check "weakest: bad limit" 400 '.error.field == "limit"' -H "$AH" "/v1/reports/weakest?limit=0"

# Expectations (template: store csat 4.2, nps 25; website csat 4.0, nps 20):
#   store csat mean 4.5, margin 1.96 * sqrt((5 - 4.5)(4.5 - 1) / 4) = 1.2964 -> as expected
#   website csat mean 2, margin 1.96 * sqrt((5 - 2)(2 - 1) / 40) = 0.5368, gap -2 -> below
#   website nps -20 against 20: margin 1.96 * sqrt((0.2 + 0.4 - 0.04) / 100) * 100 = 14.667 -> below
check "expectations" 200 \
        '(.touchpoints[] | select(.touchpoint == "store") | .csat.status == "as_expected" and .csat.actual == 4.5)
         and (.touchpoints[] | select(.touchpoint == "website") | .csat.status == "below" and .csat.gap == -2
              and .nps.status == "below" and .nps.gap == -40)' \
        -H "$AH" "/v1/reports/expectations"
got=$(jq -r '.touchpoints[] | select(.touchpoint == "store") | .csat.margin' "$T/body")
eq "store CSAT margin (Bhatia-Davis bound)" "$(printf '%.4f' "$got")" "$(awk 'BEGIN { printf "%.4f", 1.959963984540054 * sqrt(0.5 * 3.5 / 4) }')"
eq "touchpoints without answers are left out" \
        "$(jq -r '[.touchpoints[].touchpoint] | sort | join(",")' "$T/body")" "invoice,store,website"
check "expectations need admin" 403 '.error.code == "forbidden"' -H "$IH" "/v1/reports/expectations"

# the command line gives the same ranking
"$TP" report weakest --db "sqlite:$DB" --format csv >"$T/w.csv" 2>"$T/w.err"
eq "report weakest (csv) ranks the same" "$(awk -F, 'NR > 1 { printf "%s ", $2 }' "$T/w.csv")" "website store invoice "

stop_server
finish
