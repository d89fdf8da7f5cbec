#!/bin/sh
# attribution.sh BUILD_DIR -- every attribution model through GET /v1/attribution
# on two hand-made journeys, against values worked out below.
#
#   x1: ads (June 1) -> website (June 8 00:00) -> purchase 100,000 (June 8 00:00, after it)
#   x2: website (June 8) -> purchase 50,000 (June 9)
# Journeys (touches before each purchase): [ads, website] and [website].
#   first:       ads 1 (100,000), website 1 (50,000)
#   last:        website 2 (150,000)                         (the rollup, Q6 semantics)
#   linear:      ads 0.5 (50,000), website 1.5 (100,000)
#   position:    two touches 50/50: as linear
#   time_decay:  half-life 7 days; ads is 7 days old (weight 1/2), website 0 (weight 1):
#                ads 1/3 (33,333.33), website 1 + 2/3 (116,666.67)
#   shapley:     each journey split over its distinct touchpoints: as linear
#   markov:      start->ads 1, start->website 1, ads->website 1, website->conversion 2;
#                removing ads halves conversions (0.5), removing website stops all (1):
#                ads 2 * 0.5 / 1.5 = 2/3 (50,000), website 4/3 (100,000)
BUILD=${1:-build/asan}
. "$(dirname "$0")/lib.sh"

tp_setup || { bad setup "tp_setup failed"; finish; }
start_server || finish
check "post the journeys" 200 '.accepted == 5' -H "$IH" -H 'Content-Type: application/x-ndjson' --data-binary '
{"id":"a1","customer":"x1","touchpoint":"ads","type":"click","time":"2024-06-01T00:00:00Z"}
{"id":"a2","customer":"x1","touchpoint":"website","type":"view","time":"2024-06-08T00:00:00Z"}
{"id":"a3","customer":"x1","touchpoint":"store","type":"purchase","value":100000,"time":"2024-06-08T00:00:00Z"}
{"id":"b1","customer":"x2","touchpoint":"website","type":"view","time":"2024-06-08T00:00:00Z"}
{"id":"b2","customer":"x2","touchpoint":"store","type":"purchase","value":50000,"time":"2024-06-09T00:00:00Z"}' /v1/events

# model -> "ads conversions,ads value,website conversions,website value" to 3 decimals
attr() {
        check "attribution $1" 200 ".model == \"$1\"" -H "$AH" "/v1/attribution?model=$1"
        jq -r '[(.touchpoints[] | select(.touchpoint == "ads") | .conversions) // 0,
                (.touchpoints[] | select(.touchpoint == "ads") | .value) // 0,
                (.touchpoints[] | select(.touchpoint == "website") | .conversions) // 0,
                (.touchpoints[] | select(.touchpoint == "website") | .value) // 0]
               | map(. * 1000 | round / 1000 | tostring) | join(",")' "$T/body"
}
eq "first" "$(attr first)" "1,100000,1,50000"
eq "last" "$(attr last)" "0,0,2,150000"
eq "linear" "$(attr linear)" "0.5,50000,1.5,100000"
eq "position" "$(attr position)" "0.5,50000,1.5,100000"
eq "time_decay" "$(attr time_decay)" "0.333,33333.333,1.667,116666.667"
eq "shapley" "$(attr shapley)" "0.5,50000,1.5,100000"
eq "markov" "$(attr markov)" "0.667,50000,1.333,100000"
eq "last_non_direct, website direct" \
        "$(check lnd 200 . -H "$AH" "/v1/attribution?model=last_non_direct&direct=website" >/dev/null
           jq -r '[.touchpoints[] | [.touchpoint, .conversions] | map(tostring) | join(":")] | join(" ")' "$T/body")" \
        "ads:1 website:1"
eq "time_decay, half-life 1 day" \
        "$(check td1 200 . -H "$AH" "/v1/attribution?model=time_decay&half_life_days=1" >/dev/null
           jq -r '.touchpoints[] | select(.touchpoint == "ads") | .conversions * 1e6 | round' "$T/body")" \
        "$(awk 'BEGIN { w = 2 ^ -7; printf "%d", w / (w + 1) * 1e6 + 0.5 }')"
"$TP" report attribution --db "sqlite:$DB" --model markov --format json >"$T/m.json" 2>/dev/null
eq "the command line agrees (markov)" "$(jq -r '.touchpoints[] | select(.touchpoint == "ads") | .value' "$T/m.json")" "50000"

# Another conversion type: x3 signs up after ads and website; purchases are then
# ordinary touches and x1's and x2's journeys do not convert.
check "post a signup journey" 200 '.accepted == 3' -H "$IH" -H 'Content-Type: application/x-ndjson' --data-binary '
{"id":"c1","customer":"x3","touchpoint":"ads","type":"click","time":"2024-06-02T00:00:00Z"}
{"id":"c2","customer":"x3","touchpoint":"website","type":"view","time":"2024-06-03T00:00:00Z"}
{"id":"c3","customer":"x3","touchpoint":"website","type":"signup","time":"2024-06-03T00:05:00Z"}' /v1/events
check "signups, first touch" 200 '.conversion == "signup" and .touchpoints == [{"touchpoint": "ads", "conversions": 1, "value": 0}]' \
        -H "$AH" "/v1/attribution?model=first&conversion=signup"
check "signups, last touch (through the paths)" 200 '[.touchpoints[] | [.touchpoint, .conversions]] == [["website", 1]]' \
        -H "$AH" "/v1/attribution?model=last&conversion=signup"
check "signups, linear" 200 '[.touchpoints[] | [.touchpoint, .conversions]] == [["website", 0.5], ["ads", 0.5]]
        or [.touchpoints[] | [.touchpoint, .conversions]] == [["ads", 0.5], ["website", 0.5]]' \
        -H "$AH" "/v1/attribution?model=linear&conversion=signup"
check "purchases are unchanged by the signup" 200 '[.touchpoints[] | [.touchpoint, .conversions]] | sort == [["ads", 1], ["website", 1]]' \
        -H "$AH" "/v1/attribution?model=first"
stop_server
finish
