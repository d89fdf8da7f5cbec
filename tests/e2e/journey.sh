#!/bin/sh
# journey.sh BUILD_DIR -- the journey questions over HTTP on three hand-made
# customers of the retail-vn journey (stages before, during, after):
#   j1: ads 10:00 -> website 11:00 -> invoice 13:00      (before, during, after)
#   j2: ads 10:00 -> store 10:30                         (before, during)
#   j3: social-media 10:00                               (before)
BUILD=${1:-build/asan}
. "$(dirname "$0")/lib.sh"

tp_setup || { bad setup "tp_setup failed"; finish; }
start_server || finish
check "post the events" 200 '.accepted == 6' -H "$IH" -H 'Content-Type: application/x-ndjson' --data-binary '
{"id":"1a","customer":"j1","touchpoint":"ads","type":"view","time":"2024-06-01T10:00:00Z"}
{"id":"1b","customer":"j1","touchpoint":"website","type":"view","time":"2024-06-01T11:00:00Z"}
{"id":"1c","customer":"j1","touchpoint":"invoice","type":"view","time":"2024-06-01T13:00:00Z"}
{"id":"2a","customer":"j2","touchpoint":"ads","type":"view","time":"2024-06-01T10:00:00Z"}
{"id":"2b","customer":"j2","touchpoint":"store","type":"visit","time":"2024-06-01T10:30:00Z"}
{"id":"3a","customer":"j3","touchpoint":"social-media","type":"view","time":"2024-06-01T10:00:00Z"}' /v1/events

# Funnel: before 3; during 2 (both from before: conversion 2/3, 1 dropped);
# after 1 (from during: 1/2, 1 dropped); before -> during took 3600 s and 1800 s.
check "funnel" 200 '.journey == "retail-vn" and ([.stages[] | [.key, .reached, .converted, .dropped]]
        == [["before", 3, 0, 0], ["during", 2, 2, 1], ["after", 1, 1, 1]])
        and (.stages[1].conversion * 1e6 | round) == 666667 and .stages[1].timed == 2
        and .stages[1].median_seconds >= 1800 and .stages[1].median_seconds <= 3600
        and .stages[2].median_seconds == 7200' -H "$AH" /v1/reports/funnel
check "funnel, named journey" 200 '.stages | length == 3' -H "$AH" "/v1/reports/funnel?journey=retail-vn"
check "funnel, unknown journey" 422 '.error.field == "journey"' -H "$AH" "/v1/reports/funnel?journey=nope"
# Where they stand: j1 after, j2 during, j3 before.
check "standing" 200 '[.stages[] | [.key, .customers]] == [["before", 1], ["during", 1], ["after", 1]]
        and .total == 3 and .unstaged == 0' -H "$AH" /v1/reports/standing
# Paths: three distinct, one customer each.
check "paths" 200 '.distinct == 3 and .customers == 3 and (.paths | length) == 3
        and ([.paths[] | [.touchpoints[].touchpoint] | join(">")] | sort)
            == ["ads>store", "ads>website>invoice", "social-media"]' -H "$AH" /v1/reports/paths
check "paths, top 1 and length 1" 200 '.paths == [{"customers": 2, "touchpoints": [.paths[0].touchpoints[0]]}]
        and .paths[0].touchpoints[0].touchpoint == "ads"' -H "$AH" "/v1/reports/paths?top=1&length=1"
# Explorer from ads: 2 customers; ads->website 1, ads->store 1, website->invoice 1.
check "explorer" 200 '.customers == 2 and ([.links[] | "\(.step):\(.from)>\(.to)=\(.customers)"] | sort)
        == ["0:ads>store=1", "0:ads>website=1", "1:website>invoice=1"]' -H "$AH" "/v1/reports/explorer?start=ads&depth=3"
check "explorer needs a start" 400 '.error.field == "start"' -H "$AH" /v1/reports/explorer
# Next after ads: website and store, one each.
check "next after ads" 200 '.order_used == 1 and ([.next[] | [.touchpoint, .n, .p]] | sort)
        == [["store", 1, 0.5], ["website", 1, 0.5]]' -H "$AH" "/v1/reports/next?touchpoint=ads"
check "next after ads,website (order 2)" 200 '.order_used == 2 and [.next[] | [.touchpoint, .p]] == [["invoice", 1]]' \
        -H "$AH" "/v1/reports/next?touchpoint=ads,website"
check "next for j2 (last: store): nothing follows a store visit yet" 200 '.next == []' \
        -H "$AH" "/v1/reports/next?customer=j2"
check "next for an unknown customer" 404 '.error.field == "customer"' -H "$AH" "/v1/reports/next?customer=nobody"
check "next needs one context" 400 '.error.code == "missing"' -H "$AH" "/v1/reports/next?touchpoint=ads&customer=j1"
# Hold-out from 10:45: train on ads->store (10:30); test on ads->website (11:00)
# and website->invoice (13:00): order 1 predicts store after ads (miss) and has
# never seen website (unseen).
check "next accuracy" 200 '.train == 1 and .test == 2 and .order1.top1 == 0' \
        -H "$AH" "/v1/reports/next-accuracy?split=2024-06-01T10:45:00Z"
check "next accuracy needs a split" 400 '.error.field == "split"' -H "$AH" /v1/reports/next-accuracy
"$TP" report funnel --db "sqlite:$DB" --format csv >"$T/f.csv" 2>/dev/null
eq "report funnel (csv)" "$(awk -F, 'NR > 1 { printf "%s ", $2 }' "$T/f.csv")" "3 2 1 "

stop_server
finish
