#!/bin/sh
# segments.sh BUILD_DIR -- customers' segments and attributes (from a CRM) as
# breakdowns: PUT /v1/customers/{id}, GET /v1/segments, GET /v1/attributes,
# scores by segment / attribute and filtered by them, kept across a restart
# (the engine reloads them from the store), and the same from the CLI.
BUILD=${1:-build/asan}
. "$(dirname "$0")/lib.sh"

tp_setup || { bad setup "tp_setup failed"; finish; }
start_server || finish
check "no segments yet" 200 '.segments == []' -H "$AH" /v1/segments
check "vip customer" 200 '.customer == "k1" and .segment == "vip" and .attributes.city == "HCM"' -X PUT -H "$AH" \
        -H 'Content-Type: application/json' -d '{"segment":"vip","attributes":{"city":"HCM"}}' /v1/customers/k1
check "second vip" 200 - -X PUT -H "$AH" -H 'Content-Type: application/json' -d '{"segment":"vip"}' /v1/customers/k2
check "regular" 200 - -X PUT -H "$AH" -H 'Content-Type: application/json' \
        -d '{"segment":"regular","attributes":{"city":"HN","plan":"gold","age":41,"tags":["a"]}}' /v1/customers/k3
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
# Attributes: k1 {city HCM}, k3 {city HN, plan gold, age 41}; k2 and the anonymous answer have none.
check "attributes" 200 '[.attributes[] | [.name, .customers, .breakdown, ([.values[] | [.value, .customers]])]]
        == [["city", 2, true, [["HCM", 1], ["HN", 1]]], ["plan", 1, true, [["gold", 1]]], ["age", 1, true, [["41", 1]]]]
        and .unindexed_values == 0' -H "$AH" /v1/attributes
check "scores by city" 200 '.group == "attribute" and .attribute == "city" and ([.rows[] | [.attribute, .value, .nps.n, .nps.score]]
        == [["city", null, 2, -50], ["city", "HCM", 2, 100], ["city", "HN", 1, -100]])' \
        -H "$AH" "/v1/reports/scores?group=attr:city&metric=nps"
check "city HCM only" 200 '.rows[0].nps.n == 2 and .rows[0].nps.score == 100' -H "$AH" "/v1/reports/scores?attr=city:HCM&metric=nps"
check "two attributes ANDed, values ORed" 200 '.rows[0].nps.n == 1 and .rows[0].nps.score == -100' \
        -H "$AH" "/v1/reports/scores?attr=city:HCM,HN;plan:gold&metric=nps"
check "no city" 200 '.rows[0].nps.n == 2' -H "$AH" "/v1/reports/scores?attr=city:none&metric=nps"
check "by segment within HCM" 200 '[.rows[] | [.segment, .nps.n]] == [["vip", 2]]' \
        -H "$AH" "/v1/reports/scores?group=segment&attr=city:HCM&metric=nps"
check "themes honour attributes" 200 '.commented == 1' -H "$AH" "/v1/reports/themes?attr=plan:gold"
check "themes honour attributes (none)" 200 '.commented == 0' -H "$AH" "/v1/reports/themes?attr=city:HCM"
check "an attribute nobody has" 422 '.error.field == "attr" and (.error.message | test("ctiy"))' \
        -H "$AH" "/v1/reports/scores?attr=ctiy:HCM"
check "group by an attribute nobody has" 422 '.error.field == "group"' -H "$AH" "/v1/reports/scores?group=attr:tags"
check "attr without values" 400 '.error.field == "attr"' -H "$AH" "/v1/reports/scores?attr=city"
check "group attr without a name" 400 '.error.field == "group"' -H "$AH" "/v1/reports/scores?group=attr:"
check "a long value makes an attribute no breakdown" 200 - -X PUT -H "$AH" -H 'Content-Type: application/json' \
        -d '{"attributes":{"email":"someone.with.a.long.name@example.com"}}' /v1/customers/k8
check "listed as no breakdown" 200 '[.attributes[] | select(.name == "email") | [.breakdown, .customers]] == [[false, 1]]' \
        -H "$AH" /v1/attributes
check "refused as a breakdown, named" 422 '.error.field == "group" and (.error.message | test("email"))' \
        -H "$AH" "/v1/reports/scores?group=attr:email"
check "attributes need admin" 403 - -H "$IH" /v1/attributes
# Path questions take the same filters: k1 (vip, HCM) on the web: TP1 -> TP2 -> purchase;
# k3 (regular, HN) in the app: TP1 -> TP3.
check "journey events" 200 '.accepted == 5' -H "$IH" -H 'Content-Type: application/x-ndjson' --data-binary "
{\"id\":\"e1\",\"customer\":\"k1\",\"touchpoint\":\"$TP1\",\"type\":\"view\",\"channel\":\"web\",\"time\":\"2024-06-01T10:00:00Z\"}
{\"id\":\"e2\",\"customer\":\"k1\",\"touchpoint\":\"$TP2\",\"type\":\"view\",\"channel\":\"web\",\"time\":\"2024-06-01T10:05:00Z\"}
{\"id\":\"e3\",\"customer\":\"k1\",\"touchpoint\":\"$TP2\",\"type\":\"purchase\",\"channel\":\"web\",\"value\":500000,\"time\":\"2024-06-01T10:09:00Z\"}
{\"id\":\"e4\",\"customer\":\"k3\",\"touchpoint\":\"$TP1\",\"type\":\"view\",\"channel\":\"mobile_app\",\"time\":\"2024-06-02T10:00:00Z\"}
{\"id\":\"e5\",\"customer\":\"k3\",\"touchpoint\":\"$TP3\",\"type\":\"view\",\"channel\":\"mobile_app\",\"time\":\"2024-06-02T10:03:00Z\"}" /v1/events
check "transitions, all" 200 '.total == 3' -H "$AH" /v1/reports/transitions
check "transitions of vip customers" 200 "[.transitions[] | [.from, .to, .n]] == [[\"$TP1\", \"$TP2\", 1], [\"$TP2\", \"$TP2\", 1]]" \
        -H "$AH" "/v1/reports/transitions?segment=vip"
check "transitions in HN" 200 "[.transitions[] | [.from, .to, .n]] == [[\"$TP1\", \"$TP3\", 1]]" \
        -H "$AH" "/v1/reports/transitions?attr=city:HN"
check "transitions in the app" 200 '.total == 1' -H "$AH" "/v1/reports/transitions?channel=mobile_app"
check "last touch of vip customers" 200 '[.touchpoints[] | .conversions] == [1]' -H "$AH" "/v1/attribution?model=last&segment=vip"
check "no conversion among regular customers" 200 '.touchpoints == []' -H "$AH" "/v1/attribution?model=last&segment=regular"
check "linear attribution of vip customers" 200 "[.touchpoints[] | [.touchpoint, .conversions]] == [[\"$TP1\", 0.5], [\"$TP2\", 0.5]]" \
        -H "$AH" "/v1/attribution?model=linear&segment=vip"
check "markov attribution in the app: no conversion" 200 '([.touchpoints[] | .conversions] | add // 0) == 0' \
        -H "$AH" "/v1/attribution?model=markov&channel=mobile_app"
check "funnel of HCM customers" 200 '.customers == 1' -H "$AH" "/v1/reports/funnel?attr=city:HCM"
check "weakest, every answer" 200 '.overall.n == 5' -H "$AH" "/v1/reports/weakest"
check "weakest among vip customers" 200 '.overall.n == 2 and [.touchpoints[] | .n] == [2]' -H "$AH" "/v1/reports/weakest?segment=vip"
check "weakest in HN" 200 '.overall.n == 1' -H "$AH" "/v1/reports/weakest?attr=city:HN"
check "paths filtered by an unknown attribute" 422 '.error.field == "attr"' -H "$AH" "/v1/reports/paths?attr=ctiy:HCM"
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
check "scores by city after a restart" 200 '[.rows[] | [.value, .nps.n]] == [[null, 2], ["HCM", 2], ["HN", 1]]' \
        -H "$AH" "/v1/reports/scores?group=attr:city&metric=nps"
stop_server
"$TP" report scores --db "sqlite:$DB" --group segment --metric nps --format csv >"$T/cli.csv" 2>"$T/cli.err"
expect "report scores by segment (cli)" "$(cat "$T/cli.csv" "$T/cli.err")" grep -q '^vip,2,' "$T/cli.csv"
"$TP" report scores --db "sqlite:$DB" --group attr:city --attr 'plan:gold' --metric nps --format csv >"$T/cli2.csv" 2>"$T/cli2.err"
expect "report scores by attribute, filtered by another (cli)" "$(cat "$T/cli2.csv" "$T/cli2.err")" \
        sh -c "grep -q '^city,HN,1,' '$T/cli2.csv' && [ \$(wc -l <'$T/cli2.csv') -eq 2 ]"
"$TP" report scores --db "sqlite:$DB" --attr 'ctiy:x' >"$T/cli3.out" 2>&1
expect "cli: an unknown attribute is named" "$(cat "$T/cli3.out")" grep -q 'ctiy' "$T/cli3.out"
finish
