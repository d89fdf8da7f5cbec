#!/bin/sh
# segments.sh BUILD_DIR -- customers' segments (from a CRM) as a breakdown:
# PUT /v1/customers/{id}, GET /v1/segments, scores by segment and filtered by
# it, kept across a restart (the engine reloads them from the store).
BUILD=${1:-build/asan}
. "$(dirname "$0")/lib.sh"

tp_setup || { bad setup "tp_setup failed"; finish; }
start_server || finish
check "no segments yet" 200 '.segments == []' -H "$AH" /v1/segments
check "vip customer" 200 '.customer == "k1" and .segment == "vip" and .attributes.city == "HCM"' -X PUT -H "$AH" \
        -H 'Content-Type: application/json' -d '{"segment":"vip","attributes":{"city":"HCM"}}' /v1/customers/k1
check "second vip" 200 - -X PUT -H "$AH" -H 'Content-Type: application/json' -d '{"segment":"vip"}' /v1/customers/k2
check "regular" 200 - -X PUT -H "$AH" -H 'Content-Type: application/json' -d '{"segment":"regular"}' /v1/customers/k3
check "moved out of vip" 200 '.segment == null' -X PUT -H "$AH" -H 'Content-Type: application/json' -d '{"segment":null}' /v1/customers/k2
check "segments" 200 '.segments == [{"key":"vip","customers":1},{"key":"regular","customers":1}]' -H "$AH" /v1/segments
# NPS: k1 (vip) 10 and 9; k2 (none) 2; k3 (regular) 5; anonymous 8.
check "answers" 200 '.accepted == 5' -H "$IH" -H 'Content-Type: application/x-ndjson' --data-binary '
{"id":"a1","customer":"k1","touchpoint":"invoice","metric":"nps","score":10}
{"id":"a2","customer":"k1","touchpoint":"invoice","metric":"nps","score":9}
{"id":"a3","customer":"k2","touchpoint":"invoice","metric":"nps","score":2}
{"id":"a4","customer":"k3","touchpoint":"invoice","metric":"nps","score":5,"comment":"giao hàng quá chậm"}
{"id":"a5","touchpoint":"invoice","metric":"nps","score":8}' /v1/responses
check "scores by segment" 200 '.group == "segment" and ([.rows[] | [.segment, .nps.n, .nps.score]]
        == [[null, 2, -50], ["regular", 1, -100], ["vip", 2, 100]])' -H "$AH" "/v1/reports/scores?group=segment&metric=nps"
check "vip only" 200 '.rows[0].nps.n == 2 and .rows[0].nps.score == 100' -H "$AH" "/v1/reports/scores?segment=vip&metric=nps"
check "vip or none" 200 '.rows[0].nps.n == 4' -H "$AH" "/v1/reports/scores?segment=vip,none&metric=nps"
check "unknown segment: nothing" 200 '.rows == []' -H "$AH" "/v1/reports/scores?segment=gold&metric=nps"
# The one comment is k3's (regular): the vip themes have none of it.
check "themes of every segment" 200 '.commented == 1' -H "$AH" "/v1/reports/themes"
check "themes honour the segment" 200 '.commented == 0' -H "$AH" "/v1/reports/themes?segment=vip"
for bad in '{"segment":5}|segment' '{"segment":""}|segment' '{"segment":"12345678901234567890123456789012"}|segment' \
        '{"attributes":[1]}|attributes' '[1]|'; do
        body=${bad%|*} want=${bad#*|}
        check "refused: $body" 422 ".error.field == \"$want\"" -X PUT -H "$AH" -H 'Content-Type: application/json' -d "$body" /v1/customers/k9
done
check "segments need admin" 403 - -H "$IH" /v1/segments
check "an ingest key (public in web pages) cannot set segments" 403 - -X PUT -H "$IH" -H 'Content-Type: application/json' \
        -d '{"segment":"x"}' /v1/customers/k1
check "bad group" 400 '.error.field == "group"' -H "$AH" "/v1/reports/scores?group=tier"
stop_server
start_server || finish
check "segments after a restart" 200 '.segments == [{"key":"vip","customers":1},{"key":"regular","customers":1}]' -H "$AH" /v1/segments
check "scores by segment after a restart" 200 '[.rows[] | [.segment, .nps.n]] == [[null, 2], ["regular", 1], ["vip", 2]]' \
        -H "$AH" "/v1/reports/scores?group=segment&metric=nps"
stop_server
"$TP" report scores --db "sqlite:$DB" --group segment --metric nps --format csv >"$T/cli.csv" 2>"$T/cli.err"
expect "report scores by segment (cli)" "$(cat "$T/cli.csv" "$T/cli.err")" grep -q '^vip,2,' "$T/cli.csv"
finish
