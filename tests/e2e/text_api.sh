#!/bin/sh
# text_api.sh BUILD_DIR -- comments read at ingest, end to end: sentiment,
# confidence, themes and language come back through GET /v1/responses (posted
# through the API and imported from CSV), and the engine cuts scores by them:
# scores?group=sentiment|theme, the sentiment/theme/detractors filters and
# /v1/reports/themes (and the same from `touchpoint report themes`).
BUILD=${1:-build/asan}
. "$(dirname "$0")/lib.sh"

tp_setup || { bad setup "tp_setup failed"; finish; }
start_server || finish
check "post comments" 200 '.accepted == 6' -H "$IH" -H 'Content-Type: application/x-ndjson' --data-binary '
{"id":"c1","customer":"k1","touchpoint":"invoice","metric":"nps","score":2,"comment":"Giao hàng quá chậm, nhân viên thái độ không tốt","time":"2026-05-01T10:00:00Z"}
{"id":"c2","customer":"k2","touchpoint":"invoice","metric":"nps","score":3,"comment":"giao hang qua cham","time":"2026-05-02T10:00:00Z"}
{"id":"c3","customer":"k3","touchpoint":"invoice","metric":"nps","score":10,"comment":"Great service, fast delivery!","language":"en","time":"2026-05-03T10:00:00Z"}
{"id":"c4","customer":"k4","touchpoint":"invoice","metric":"nps","score":9,"comment":"Nhân viên rất nhiệt tình, tôi rất hài lòng","time":"2026-05-04T10:00:00Z"}
{"id":"c5","customer":"k5","touchpoint":"invoice","metric":"nps","score":8,"time":"2026-05-05T10:00:00Z"}
{"id":"c6","customer":"k6","touchpoint":"website","metric":"csat","score":1,"comment":"The website keeps crashing at payment","time":"2026-05-06T10:00:00Z"}' /v1/responses

check "read back" 200 '.responses as $all | ($all | map({(.id): .}) | add) as $r
        | ($r.c1.sentiment.label == "negative" and ($r.c1.themes | index("delivery")) != null
          and ($r.c1.themes | index("staff")) != null and $r.c1.language == "vi")
        and ($r.c2.sentiment.label == "negative" and $r.c2.themes == ["delivery"] and $r.c2.language == "vi")
        and ($r.c3.sentiment.label == "positive" and ($r.c3.themes | index("delivery")) != null and $r.c3.language == "en")
        and ($r.c4.sentiment.label == "positive" and ($r.c4.themes | index("staff")) != null)
        and ($r.c5.sentiment == null and $r.c5.themes == [] and $r.c5.language == null)
        and ($r.c6.sentiment.label == "negative" and ($r.c6.themes | index("website")) != null)
        and ([$all[] | .sentiment.confidence // 0.5 | . > 0 and . <= 1] | all)' -H "$AH" "/v1/responses?limit=10"
check "no diacritics, same reading" 200 '.responses[0].themes == ["delivery"]' -H "$AH" "/v1/responses?customer=k2"
check "listing by sentiment" 200 '[.responses[].id] == ["c6", "c2", "c1"]' -H "$AH" "/v1/responses?sentiment=negative"
check "listing by theme" 200 '[.responses[].id] | sort == ["c1", "c2", "c3"]' -H "$AH" "/v1/responses?theme=delivery"

# Scores by sentiment: none {8}; negative {2, 3} NPS -100 (csat 1 too); positive {10, 9} NPS 100.
check "scores by sentiment" 200 '.group == "sentiment" and ([.rows[] | [.sentiment, .nps.n, .nps.score]]
        == [[null, 1, 0], ["negative", 2, -100], ["positive", 2, 100]])' -H "$AH" "/v1/reports/scores?group=sentiment&metric=nps"
check "scores by theme" 200 '(.rows | map({(.theme // "none"): .nps}) | add) as $t
        | $t.delivery.n == 3 and ($t.delivery.score | round) == -33 and $t.staff.n == 2 and $t.none.n == 1' \
        -H "$AH" "/v1/reports/scores?group=theme&metric=nps"
check "filter by theme" 200 '.rows[0].nps.n == 3' -H "$AH" "/v1/reports/scores?theme=delivery&metric=nps"
check "filter by sentiment" 200 '.rows[0].nps.n == 2 and .rows[0].nps.score == 100' -H "$AH" "/v1/reports/scores?sentiment=positive&metric=nps"
check "detractors only" 200 '.rows[0].nps.n == 2 and .rows[0].nps.detractors == 2 and .rows[0].csat.n == 1' \
        -H "$AH" "/v1/reports/scores?detractors=1&metric=nps,csat"
check "themes of the invoice's detractors" 200 '.detractors == true and .commented == 2
        and .themes[0].theme == "delivery" and .themes[0].mentions == 2 and .themes[0].share == 1
        and .themes[0].negative == 2 and .themes[0].positive == 0 and .themes[0].name_vi != null
        and .themes[0].name_en != null and .themes[0].nps.detractors == 2' \
        -H "$AH" "/v1/reports/themes?touchpoint=invoice&detractors=1"
check "theme trend" 200 '.bucket == "month" and ([.trend[] | select(.theme == "delivery") | .nps.n] == [3])' \
        -H "$AH" "/v1/reports/themes?bucket=month&metric=nps"
for bad in "group=mood group" "sentiment=angry sentiment" "theme=Not%20a%20key theme" "detractors=2 detractors"; do
        q=${bad% *} f=${bad#* }
        check "bad $q" 400 ".error.field == \"$f\"" -H "$AH" "/v1/reports/scores?$q"
done
check "themes report needs admin" 403 - -H "$IH" /v1/reports/themes
stop_server

# The command line, on the same store.
"$TP" report themes --db "sqlite:$DB" --touchpoint invoice --detractors 1 --format json >"$T/cli.json" 2>"$T/cli.err"
eq "report themes exit 0" "$?" 0
expect "report themes: delivery first" "$(cat "$T/cli.json" "$T/cli.err")" jq -e '.themes[0].theme == "delivery" and .themes[0].mentions == 2' "$T/cli.json"
"$TP" report scores --db "sqlite:$DB" --group sentiment --metric nps --format csv >"$T/cli.csv" 2>"$T/cli.err"
expect "report scores by sentiment (csv)" "$(cat "$T/cli.csv")" grep -q '^negative,2,' "$T/cli.csv"

# Import reads comments too (and --no-text does not).
printf 'id,customer,touchpoint,metric,score,comment,time\ni1,k7,store,csat,1,"Nhân viên thô lỗ, chờ quá lâu",2026-05-07T10:00:00Z\n' >"$T/r.csv"
printf 'id,customer,touchpoint,metric,score,comment,time\ni2,k8,store,csat,1,"Nhân viên thô lỗ, chờ quá lâu",2026-05-07T10:00:00Z\n' >"$T/r2.csv"
"$TP" import --db "sqlite:$DB" --kind responses "$T/r.csv" >/dev/null 2>"$T/imp.err"
eq "import with text exit 0" "$?" 0
"$TP" import --db "sqlite:$DB" --kind responses --no-text "$T/r2.csv" >/dev/null 2>"$T/imp.err"
eq "import --no-text exit 0" "$?" 0
eq "import stored the sentiment" "$(sqlite3 "$DB" "SELECT sentiment IS NOT NULL, themes LIKE '%staff%' FROM responses WHERE id = 'i1'")" "1|1"
eq "--no-text stored none" "$(sqlite3 "$DB" "SELECT sentiment IS NULL, themes IS NULL FROM responses WHERE id = 'i2'")" "1|1"
"$TP" import --db "sqlite:$DB" --kind responses --text-model-vi /nonexistent "$T/r2.csv" >/dev/null 2>"$T/imp.err"
rc=$?
if [ "$rc" -ne 0 ] && grep -q "text models" "$T/imp.err"; then ok "a missing model is a clear error"; else
        bad "a missing model is a clear error" "exit $rc: $(cat "$T/imp.err")"; fi
# The server restarts with the same readings (the engine loads them from the store).
start_server || finish
check "after a restart" 200 '([.rows[] | select(.sentiment == "negative") | .csat.n] == [2])' \
        -H "$AH" "/v1/reports/scores?group=sentiment&metric=csat"
stop_server
finish
