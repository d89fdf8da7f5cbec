#!/bin/sh
# api.sh BUILD_DIR -- the HTTP API contract, end to end against the built daemon:
# health, ingest (object, array, NDJSON), every response metric, the customer
# timeline with paging, idempotent retries, partial and all-bad batches, key
# scopes and revocation, journeys, touchpoints, /metrics, routing errors,
# security headers and a Vietnamese comment that must round-trip byte-exact.
# Prints "N passed, N failed" last; exits 1 on any failure.
# shellcheck disable=SC2034,SC2119 # BUILD and the helpers' optional arguments
set -u
BUILD=${1:?usage: sh tests/e2e/api.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

tp_setup || { bad setup "journey/keys setup failed"; finish; }
start_server || finish

JSON='Content-Type: application/json'
NDJSON='Content-Type: application/x-ndjson'
ACC_EV=0 # events accepted (stored) according to the API
ACC_RS=0

# add_acc KIND: add the last reply's "accepted" to the running total.
add_acc() {
        _a=$(jq -r '.accepted // 0' "$T/body")
        if [ "$1" = ev ]; then ACC_EV=$((ACC_EV + _a)); else ACC_RS=$((ACC_RS + _a)); fi
}

# ev ID CUSTOMER TOUCHPOINT TIME: one event as compact JSON.
ev() {
        printf '{"id":"%s","customer":"%s","touchpoint":"%s","type":"view","time":"%s"}' "$1" "$2" "$3" "$4"
}

# ---- health, headers, routing ---------------------------------------------------

check health_no_key 200 '.status == "ok" and .store == "ok" and .touchpoints == 21' /v1/health
hdr health_json_type '^content-type: application/json'
hdr header_nosniff '^x-content-type-options: nosniff$'
hdr header_no_store '^cache-control: no-store$'
check head_health 200 - -I /v1/health
hdr head_health_headers '^x-content-type-options: nosniff$'
# On the wire: a HEAD reply is the head alone, with GET's Content-Length.
printf 'HEAD /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >"$T/head.req"
raw "$T/head.req" 3 >"$T/head.out"
expect head_health_raw_200 "raw HEAD: $(head -c 200 "$T/head.out")" grep -q '^HTTP/1.1 200' "$T/head.out"
eq head_health_no_body "$(tr -d '\r' <"$T/head.out" | sed '1,/^$/d' | wc -c | tr -d ' ')" 0
check unknown_route_404 404 '.error.code == "not_found"' /v1/nothing-here
hdr unknown_route_nosniff '^x-content-type-options: nosniff$'
check wrong_method_405 405 '.error.code == "method_not_allowed"' -X DELETE /v1/health
hdr wrong_method_allow '^allow: GET, HEAD$'
check wrong_method_post_health 405 - -X POST -H "$JSON" -d '{}' /v1/health
hdr wrong_method_post_allow '^allow: GET, HEAD$'
check wrong_method_journey 405 - -X POST -H "$JSON" -d '{}' /v1/journeys/x
hdr wrong_method_journey_allow '^allow: GET, HEAD, PUT$'
check options_events 405 - -X OPTIONS /v1/events
hdr options_events_allow '^allow: POST$'
check trace_health 405 - -X TRACE /v1/health

# ---- ingest: one object, an array, NDJSON ----------------------------------------

C=cust-a
check event_object 200 '.accepted == 1 and .duplicates == 0 and .rejected == []' \
        -H "$IH" -H "$JSON" -d "$(ev ev-1 $C "$TP1" 2024-05-01T08:00:00Z)" /v1/events && add_acc ev
ARR="[$(ev ev-2 $C "$TP2" 2024-05-01T08:01:00Z),$(ev ev-3 $C "$TP3" 2024-05-01T08:02:00Z),$(ev ev-4 $C "$TP1" 2024-05-01T08:03:00Z)]"
check event_array 200 '.accepted == 3 and .duplicates == 0 and .rejected == []' \
        -H "$IH" -H "$JSON" -d "$ARR" /v1/events && add_acc ev
{
        ev ev-5 $C "$TP1" 2024-05-01T08:04:00Z
        printf '\n\n'
        ev ev-6 $C "$TP2" 2024-05-01T08:05:00Z
        printf '\r\n'
        ev ev-7 $C "$TP3" 2024-05-01T08:06:00Z
        printf '\n'
} >"$T/nd"
check event_ndjson 200 '.accepted == 3 and .duplicates == 0 and .rejected == []' \
        -H "$IH" -H "$NDJSON" --data-binary "@$T/nd" /v1/events && add_acc ev
check event_value_props 200 '.accepted == 1' -H "$IH" -H "$JSON" \
        -d "{\"id\":\"ev-buy\",\"customer\":\"cust-b\",\"touchpoint\":\"$TP1\",\"type\":\"purchase\",\"value\":1500000,\"currency\":\"VND\",\"properties\":{\"sku\":\"A-1\"}}" \
        /v1/events && add_acc ev

# ---- responses: every metric, goal as yes/partly/no ---------------------------------

VI='Nhân viên rất nhiệt tình, cảm ơn! Nguyễn Văn Đức — “tuyệt vời” ở cửa hàng Hà Nội.'
resp() { # ID METRIC SCORE_JSON TIME
        printf '{"id":"%s","customer":"%s","touchpoint":"%s","metric":"%s","score":%s,"time":"%s"}' \
                "$1" "$C" "$TP2" "$2" "$3" "$4"
}
RS="[$(resp r-nps nps 9 2024-05-01T09:00:00Z),$(resp r-csat csat 4 2024-05-01T09:01:00Z),\
$(resp r-ces ces 6 2024-05-01T09:02:00Z),$(resp r-goal-yes goal '"yes"' 2024-05-01T09:03:00Z),\
$(resp r-goal-partly goal '"partly"' 2024-05-01T09:04:00Z),$(resp r-goal-no goal '"no"' 2024-05-01T09:05:00Z),\
$(resp r-ease ease 5 2024-05-01T09:06:00Z),$(resp r-emotion emotion 3 2024-05-01T09:07:00Z),\
$(resp r-nps0 nps 0 2024-05-01T09:08:00Z),$(resp r-nps10 nps 10 2024-05-01T09:09:00Z)]"
check responses_every_metric 200 '.accepted == 10 and .rejected == []' \
        -H "$IH" -H "$JSON" -d "$RS" /v1/responses && add_acc rs
jq -n --arg c "$VI" --arg tp "$TP3" --arg cu "$C" \
        '{id:"r-vi", customer:$cu, touchpoint:$tp, metric:"csat", score:5, comment:$c, language:"vi", time:"2024-05-01T10:00:00Z"}' \
        >"$T/vi.json"
check response_vietnamese 200 '.accepted == 1' -H "$IH" -H "$JSON; charset=utf-8" --data-binary "@$T/vi.json" \
        /v1/responses && add_acc rs

# ---- the timeline -------------------------------------------------------------------

WANT_IDS='ev-1 ev-2 ev-3 ev-4 ev-5 ev-6 ev-7 r-nps r-csat r-ces r-goal-yes r-goal-partly r-goal-no r-ease r-emotion r-nps0 r-nps10 r-vi'
check timeline_all 200 '.customer == "cust-a" and (.items | length) == 18 and .next == null' \
        -H "$AH" "/v1/customers/$C/timeline?limit=1000"
eq timeline_order "$(jq -r '[.items[].id] | join(" ")' "$T/body")" "$WANT_IDS"
eq timeline_times_sorted "$(jq '[.items[].time] | . == sort' "$T/body")" true
eq timeline_goal_words "$(jq -r '[.items[] | select(.metric == "goal") | .score] | join(",")' "$T/body")" 'yes,partly,no'
eq timeline_scores "$(jq -r '[.items[] | select(.kind == "response" and .metric != "goal") | .score] | join(",")' "$T/body")" \
        '9,4,6,5,3,0,10,5'
eq timeline_kinds "$(jq -r '[.items[].kind] | unique | join(",")' "$T/body")" 'event,response'
eq timeline_default_channel "$(jq -r '.items[0].channel' "$T/body")" \
        "$(jq -r --arg k "$TP1" '.stages[].touchpoints[] | select(.key == $k) | .channel' "$T/j.json")"

# Vietnamese in NFC comes back byte for byte.
jq -j '.items[] | select(.id == "r-vi") | .comment' "$T/body" >"$T/vi.got"
printf '%s' "$VI" >"$T/vi.want"
expect vietnamese_roundtrip_api "comment bytes differ: $(od -An -tx1 "$T/vi.got" | head -2)" cmp -s "$T/vi.got" "$T/vi.want"

# Paging: walk with limit=4 and the next cursor; the pages concatenate to the whole.
cursor=""
pages=0
got=""
while [ $pages -lt 20 ]; do
        if [ -n "$cursor" ]; then
                req -H "$AH" -G --data-urlencode "cursor=$cursor" -d limit=4 "/v1/customers/$C/timeline"
        else
                req -H "$AH" "/v1/customers/$C/timeline?limit=4"
        fi
        [ "$STATUS" = 200 ] || break
        pages=$((pages + 1))
        got="$got $(jq -r '[.items[].id] | join(" ")' "$T/body")"
        cursor=$(jq -r '.next // empty' "$T/body")
        [ -n "$cursor" ] || break
done
eq timeline_paging_status "$STATUS" 200
eq timeline_paging_pages "$pages" 5
# shellcheck disable=SC2086,SC2116 # word splitting squeezes the spaces
eq timeline_paging_ids "$(echo $got)" "$WANT_IDS"
check timeline_page_size 200 '(.items | length) == 4 and (.next | type) == "string"' \
        -H "$AH" "/v1/customers/$C/timeline?limit=4"
check timeline_limit_0 400 '.error.field == "limit"' -H "$AH" "/v1/customers/$C/timeline?limit=0"
check timeline_limit_1001 400 '.error.field == "limit"' -H "$AH" "/v1/customers/$C/timeline?limit=1001"
check timeline_limit_neg 400 '.error.field == "limit"' -H "$AH" "/v1/customers/$C/timeline?limit=-3"
check timeline_limit_text 400 '.error.field == "limit"' -H "$AH" "/v1/customers/$C/timeline?limit=ten"
check timeline_limit_1000 200 '(.items | length) == 18' -H "$AH" "/v1/customers/$C/timeline?limit=1000"
check timeline_bad_cursor 400 '.error.field == "cursor"' -H "$AH" "/v1/customers/$C/timeline?cursor=garbage"
check timeline_unknown_customer 200 '.items == [] and .next == null' -H "$AH" /v1/customers/nobody/timeline
check timeline_other_customer 200 '[.items[].id] == ["ev-buy"] and .items[0].value == 1500000 and .items[0].currency == "VND" and .items[0].properties.sku == "A-1"' \
        -H "$AH" /v1/customers/cust-b/timeline

# ---- idempotency --------------------------------------------------------------------

check retry_same_batch 200 '.accepted == 0 and .duplicates == 3 and .rejected == []' \
        -H "$IH" -H "$JSON" -d "$ARR" /v1/events && add_acc ev
check retry_ndjson 200 '.accepted == 0 and .duplicates == 3' \
        -H "$IH" -H "$NDJSON" --data-binary "@$T/nd" /v1/events && add_acc ev
check retry_responses 200 '.accepted == 0 and .duplicates == 10' \
        -H "$IH" -H "$JSON" -d "$RS" /v1/responses && add_acc rs
check dup_inside_batch 200 '.accepted == 1 and .duplicates == 1' -H "$IH" -H "$JSON" \
        -d "[$(ev ev-twice cust-c "$TP1" 2024-05-02T08:00:00Z),$(ev ev-twice cust-c "$TP1" 2024-05-02T08:00:00Z)]" \
        /v1/events && add_acc ev
check timeline_after_retry 200 '(.items | length) == 18' -H "$AH" "/v1/customers/$C/timeline?limit=1000"

# ---- partial and all-bad batches -------------------------------------------------------

PART="[$(ev ev-p1 cust-p "$TP1" 2024-05-03T08:00:00Z),\
{\"id\":\"ev-p2\",\"customer\":\"cust-p\",\"touchpoint\":\"no-such-touchpoint\",\"type\":\"view\"},\
{\"id\":\"ev-p3\",\"customer\":\"cust-p\",\"touchpoint\":\"$TP1\"},\
$(ev ev-p4 cust-p "$TP2" 2024-05-03T08:01:00Z)]"
check partial_batch 200 '.accepted == 2 and .duplicates == 0 and (.rejected | length) == 2
        and .rejected[0].index == 1 and .rejected[0].field == "touchpoint" and .rejected[0].code == "unknown_touchpoint"
        and .rejected[1].index == 2 and .rejected[1].field == "type" and .rejected[1].code == "missing"
        and (has("error") | not)' -H "$IH" -H "$JSON" -d "$PART" /v1/events && add_acc ev
check partial_kept 200 '[.items[].id] == ["ev-p1", "ev-p4"]' -H "$AH" /v1/customers/cust-p/timeline
printf '%s\n{"id":"nd-bad", "customer":\n%s\n' "$(ev nd-good1 cust-n "$TP1" 2024-05-03T09:00:00Z)" \
        "$(ev nd-good2 cust-n "$TP1" 2024-05-03T09:01:00Z)" >"$T/nd-part"
check partial_ndjson 200 '.accepted == 2 and (.rejected | length) == 1 and .rejected[0].index == 1
        and .rejected[0].code == "invalid_json" and (.rejected[0].message | test("line 2"))' \
        -H "$IH" -H "$NDJSON" --data-binary "@$T/nd-part" /v1/events && add_acc ev
ALLBAD='[{"id":"ab-1","customer":"x","touchpoint":"nope-1","type":"view"},{"id":"ab-2","customer":"x","touchpoint":"'$TP1'","type":"BAD TYPE"}]'
check all_bad_batch 422 '.accepted == 0 and (.rejected | length) == 2 and .rejected[0].index == 0
        and .rejected[1].index == 1 and .rejected[1].field == "type"
        and (.error | type) == "object" and .error.code == "unknown_touchpoint"' \
        -H "$IH" -H "$JSON" -d "$ALLBAD" /v1/events
check unknown_touchpoint 422 '.error.code == "unknown_touchpoint" and .error.field == "touchpoint"
        and (.error.message | contains("ghost-counter"))' -H "$IH" -H "$JSON" \
        -d '{"id":"u-1","customer":"x","touchpoint":"ghost-counter","type":"view"}' /v1/events
check unknown_touchpoint_response 422 '.error.code == "unknown_touchpoint" and (.error.message | contains("ghost-counter"))' \
        -H "$IH" -H "$JSON" -d '{"id":"u-2","touchpoint":"ghost-counter","metric":"nps","score":5}' /v1/responses
check empty_array 422 '.error.code == "empty_batch"' -H "$IH" -H "$JSON" -d '[]' /v1/events

# ---- scopes and keys --------------------------------------------------------------------

GOOD_EV=$(ev sc-1 cust-s "$TP1" 2024-05-04T08:00:00Z)
check no_key_401 401 '.error.code == "unauthorized"' -H "$JSON" -d "$GOOD_EV" /v1/events
hdr no_key_www_authenticate '^www-authenticate: bearer'
check unknown_key_401 401 '.error.code == "unauthorized"' \
        -H 'Authorization: Bearer tpk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' \
        -H "$JSON" -d "$GOOD_EV" /v1/events
check malformed_key_401 401 - -H 'Authorization: Bearer hunter2' -H "$JSON" -d "$GOOD_EV" /v1/events
check basic_auth_401 401 - -u user:pass -H "$JSON" -d "$GOOD_EV" /v1/events
WRONG_SECRET=$(printf '%s' "$INGEST" | sed 's/.$/x/')
[ "$WRONG_SECRET" = "$INGEST" ] && WRONG_SECRET=$(printf '%s' "$INGEST" | sed 's/.$/y/')
check wrong_secret_401 401 - -H "Authorization: Bearer $WRONG_SECRET" -H "$JSON" -d "$GOOD_EV" /v1/events
check ingest_key_journeys_403 403 '.error.code == "forbidden"' -H "$IH" /v1/journeys
check ingest_key_timeline_403 403 - -H "$IH" /v1/customers/cust-a/timeline
check ingest_key_touchpoints_403 403 - -H "$IH" /v1/touchpoints
check no_key_journeys_401 401 - /v1/journeys
check admin_ingest 200 '.accepted == 1' -H "$AH" -H "$JSON" -d "$GOOD_EV" /v1/events && add_acc ev
check admin_journeys 200 '(.journeys | length) >= 1' -H "$AH" /v1/journeys
check metrics_no_key 200 - /metrics

# A key revoked while the server runs is refused within ~1.5 s.
K3=$("$TP" key create --db "sqlite:$DB" --scope ingest --name revoke-me 2>/dev/null)
check new_key_works 200 '.accepted == 1' -H "Authorization: Bearer $K3" -H "$JSON" \
        -d "$(ev rv-1 cust-s "$TP1" 2024-05-04T08:01:00Z)" /v1/events && add_acc ev
PREFIX=$(printf '%s' "$K3" | cut -c1-16)
"$TP" key revoke --db "sqlite:$DB" "$PREFIX" 2>/dev/null
t0=$(date +%s%N)
refused=0
rv2_ok=0
while :; do
        req -H "Authorization: Bearer $K3" -H "$JSON" -d "$(ev rv-2 cust-s "$TP1" 2024-05-04T08:02:00Z)" /v1/events
        if [ "$STATUS" = 200 ]; then add_acc ev; rv2_ok=1; fi
        if [ "$STATUS" = 401 ]; then refused=1; break; fi
        [ $((($(date +%s%N) - t0) / 1000000)) -gt 3000 ] && break
        sleep 0.05
done
ms=$((($(date +%s%N) - t0) / 1000000))
eq revoked_key_refused "$refused" 1
within revoked_within_1500ms "$ms" 0 1500
check other_keys_still_work 200 - -H "$IH" -H "$JSON" -d "$GOOD_EV" /v1/events && add_acc ev

# ---- journeys and touchpoints -------------------------------------------------------------

J1='{"key":"pilot","name":{"vi":"Thí điểm","en":"Pilot"},"stages":[{"key":"s1","name":"Stage one","touchpoints":[{"key":"kiosk","name":"Kiosk","channel":"store"}]}]}'
J2='{"key":"pilot","name":"Pilot","stages":[{"key":"s1","touchpoints":[{"key":"kiosk","channel":"store"},{"key":"kiosk-app","channel":"mobile_app","expected":{"csat":4.2}}]}]}'
check journey_create_201 201 '.key == "pilot" and .created == true and .touchpoints == 1' \
        -X PUT -H "$AH" -H "$JSON" -d "$J1" /v1/journeys/pilot
check journey_update_200 200 '.key == "pilot" and .created == false and .touchpoints == 2' \
        -X PUT -H "$AH" -H "$JSON" -d "$J2" /v1/journeys/pilot
check journeys_list 200 '[.journeys[].key] | (index("pilot") != null and index("retail-vn") != null)' \
        -H "$AH" /v1/journeys
check journey_get 200 '.key == "pilot" and (.stages[0].touchpoints | length) == 2' -H "$AH" /v1/journeys/pilot
check journey_get_unknown_404 404 '.error.code == "not_found"' -H "$AH" /v1/journeys/no-such-journey
BADJ='{"key":"broken","stages":[{"key":"s1","touchpoints":[{"key":"t-ok","channel":"web"},{"key":"t-bad","channel":"carrier-pigeon"}]}]}'
check journey_bad_channel_422 422 '.error.field == "stages[0].touchpoints[1].channel"' \
        -X PUT -H "$AH" -H "$JSON" -d "$BADJ" /v1/journeys/broken
check journey_bad_not_stored 404 - -H "$AH" /v1/journeys/broken
check journey_key_mismatch_422 422 '.error.field == "key"' -X PUT -H "$AH" -H "$JSON" -d "$J1" /v1/journeys/other
check journey_put_ingest_403 403 - -X PUT -H "$IH" -H "$JSON" -d "$J1" /v1/journeys/pilot
check journey_put_bad_json 400 '.error.code == "invalid_json"' -X PUT -H "$AH" -H "$JSON" -d '{"key":' /v1/journeys/pilot
check touchpoints_list 200 '(.touchpoints | length) == 23 and ([.touchpoints[].key] | index("kiosk-app") != null)' \
        -H "$AH" /v1/touchpoints
check new_touchpoint_usable 200 '.accepted == 1' -H "$IH" -H "$JSON" \
        -d '{"id":"k-1","customer":"cust-k","touchpoint":"kiosk-app","type":"tap"}' /v1/events && add_acc ev
check kiosk_channel_default 200 '.items[0].channel == "mobile_app"' -H "$AH" /v1/customers/cust-k/timeline

# ---- metrics ------------------------------------------------------------------------------

curl -s --max-time 10 "$BASE/metrics" >"$T/m"
mval() { awk -v k="$1" 'index($0, k " ") == 1 { v = $2 } END { print (v == "" ? "absent" : v) }' "$T/m"; }
expect metrics_events_200 "no POST /v1/events 200 counter" \
        [ "$(mval 'touchpoint_http_requests_total{method="POST",route="/v1/events",status="200"}')" != absent ]
expect metrics_events_422 "no POST /v1/events 422 counter" \
        [ "$(mval 'touchpoint_http_requests_total{method="POST",route="/v1/events",status="422"}')" != absent ]
expect metrics_timeline_route "no timeline route label" \
        [ "$(mval 'touchpoint_http_requests_total{method="GET",route="/v1/customers/:id/timeline",status="200"}')" != absent ]
expect metrics_journey_put_201 "no PUT journey 201 counter" \
        [ "$(mval 'touchpoint_http_requests_total{method="PUT",route="/v1/journeys/:key",status="201"}')" = 1 ]
expect metrics_health_route "no health counter" \
        [ "$(mval 'touchpoint_http_requests_total{method="GET",route="/v1/health",status="200"}')" != absent ]
expect metrics_401_counted "no 401 counter on /v1/events" \
        [ "$(mval 'touchpoint_http_requests_total{method="POST",route="/v1/events",status="401"}')" != absent ]
expect metrics_unmatched_404 "no unmatched 404" \
        [ "$(mval 'touchpoint_http_requests_total{method="",route="unmatched",status="404"}')" != absent ]
eq metrics_rows_events "$(mval 'touchpoint_rows_ingested_total{kind="event"}')" "$ACC_EV"
eq metrics_rows_responses "$(mval 'touchpoint_rows_ingested_total{kind="response"}')" "$ACC_RS"
cnt=$(mval 'touchpoint_commit_seconds_count')
inf=$(mval 'touchpoint_commit_seconds_bucket{le="+Inf"}')
eq metrics_commit_inf_is_count "$inf" "$cnt"
within metrics_commit_count "$cnt" 1 1000000
expect metrics_commit_sum "no commit sum" grep -q '^touchpoint_commit_seconds_sum [0-9]' "$T/m"
expect metrics_type_lines "no TYPE histogram line" grep -q '^# TYPE touchpoint_commit_seconds histogram$' "$T/m"
check metrics_content_type 200 - /metrics
hdr metrics_text_plain '^content-type: text/plain'

# ---- stop, then look at the store ---------------------------------------------------------

health_ok health_before_stop
stop_server
eq store_events "$(db_count events)" "$ACC_EV"
eq store_responses "$(db_count responses)" "$ACC_RS"
eq store_no_dup_ids "$(sqlite3 "$DB" 'select count(*) - count(distinct id) from events')" 0
eq store_retry_once "$(db_count events "id in ('ev-2','ev-3','ev-4')")" 3
eq store_dup_in_batch_once "$(db_count events "id = 'ev-twice'")" 1
eq store_rejected_absent "$(db_count events "id in ('ev-p2','ev-p3','ab-1','ab-2','u-1')")" 0
# rv-2 may be accepted before the key cache expires; the store agrees with the API.
eq store_revoked_matches_api "$(db_count events "id = 'rv-2'")" "$rv2_ok"
want_hex=$(od -An -tx1 "$T/vi.want" | tr -d ' \n' | tr a-f A-F)
eq vietnamese_roundtrip_store "$(sqlite3 "$DB" "select hex(comment) from responses where id = 'r-vi'")" "$want_hex"
eq integrity_check "$(sqlite3 "$DB" 'PRAGMA integrity_check')" ok
finish
