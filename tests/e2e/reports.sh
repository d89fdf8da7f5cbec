#!/bin/sh
# reports.sh BUILD_DIR -- the analytics routes end to end against the built
# daemon: GET /v1/reports/scores, GET /v1/reports/transitions and
# GET /v1/attribution.  A small hand-made data set goes in through the API and
# every figure asserted below is worked out by hand in the comments: NPS with
# its margin, CSAT top-2-box with its Wilson interval, CES, groups, day / week /
# month buckets in local time (UTC+7), from/to as local dates and as RFC 3339,
# touchpoint / channel / metric filters, transitions with an event sent late,
# last-touch attribution with a look-back window, reading one's own writes,
# the same answers after a restart (the engine reloads from the store), and the
# errors (400 / 401 / 403 / 422).
# Prints "N passed, N failed" last; exits 1 on any failure.
# shellcheck disable=SC2034,SC2119 # BUILD and the helpers' optional arguments
set -u
BUILD=${1:?usage: sh tests/e2e/reports.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

tp_setup || { bad setup "journey/keys setup failed"; finish; }
start_server || finish

JSON='Content-Type: application/json'
# jq: round to 3 decimals (3600 / 1000 is exactly the double nearest 3.6).
R3='def r3: . * 1000 | round / 1000;'

# rs ID TOUCHPOINT METRIC SCORE TIME [CHANNEL]: one response as compact JSON.
rs() {
        printf '{"id":"%s","customer":"c-%s","touchpoint":"%s","metric":"%s","score":%s,"time":"%s"%s}' \
                "$1" "$1" "$2" "$3" "$4" "$5" "${6:+,\"channel\":\"$6\"}"
}

# ev ID CUSTOMER TOUCHPOINT TYPE TIME [VALUE]: one event as compact JSON.
ev() {
        printf '{"id":"%s","customer":"%s","touchpoint":"%s","type":"%s","time":"%s"%s}' \
                "$1" "$2" "$3" "$4" "$5" "${6:+,\"value\":$6}"
}

# The retail-vn journey gives these touchpoints and channels:
#   store (store), website (web), pos (store), ads (social), social-media
#   (social), reviews (web), care-centre (phone).
# Local time is UTC+7: a local date D means [D 00:00+07:00, D+1 00:00+07:00),
# i.e. it starts at 17:00Z of the day before.

# ---- the responses --------------------------------------------------------------------
#
# NPS at store, ten answers in local June 2024:
#   n1  2024-05-31T17:30:00Z  9  (local June 1, 00:30: June locally, May in UTC)
#   n2..n5 2024-06-05         10, 9, 10, 9
#   n6..n8 2024-06-05         7, 8, 7
#   n9  2024-06-05            3
#   n10 2024-06-30T16:30:00Z  6  (local June 30, 23:30)
#   promoters (9-10) n1..n5 = 5, passives (7-8) n6..n8 = 3, detractors (0-6) n9, n10 = 2
# and two just outside local June:
#   x1  2024-05-31T16:30:00Z  10 (local May 31, 23:30)  promoter
#   x2  2024-06-30T17:30:00Z  0  (local July 1, 00:30)  detractor
NPS="[$(rs n1 store nps 9 2024-05-31T17:30:00Z),$(rs n2 store nps 10 2024-06-05T03:00:00Z),\
$(rs n3 store nps 9 2024-06-05T03:01:00Z),$(rs n4 store nps 10 2024-06-05T03:02:00Z),\
$(rs n5 store nps 9 2024-06-05T03:03:00Z),$(rs n6 store nps 7 2024-06-05T03:04:00Z),\
$(rs n7 store nps 8 2024-06-05T03:05:00Z),$(rs n8 store nps 7 2024-06-05T03:06:00Z),\
$(rs n9 store nps 3 2024-06-05T03:07:00Z),$(rs n10 store nps 6 2024-06-30T16:30:00Z),\
$(rs x1 store nps 10 2024-05-31T16:30:00Z),$(rs x2 store nps 0 2024-06-30T17:30:00Z)]"
check post_nps 200 '.accepted == 12 and .rejected == []' -H "$IH" -H "$JSON" -d "$NPS" /v1/responses

# CSAT at website (web), 2024-06-05: 5, 4, 4, 3, 2.
# CES at pos (store), 2024-06-05: 7, 5, 3, 6.
# Ease at store but sent with channel mobile_app, 2024-06-05: 6.
# Emotion at website (web):
#   m1 2024-06-09T23:30:00Z  4  Sunday in UTC, Monday June 10 06:30 locally
#   m2 2024-06-09T16:59:59Z  2  Sunday June 9 23:59:59 locally
OTHER="[$(rs s1 website csat 5 2024-06-05T04:00:00Z),$(rs s2 website csat 4 2024-06-05T04:01:00Z),\
$(rs s3 website csat 4 2024-06-05T04:02:00Z),$(rs s4 website csat 3 2024-06-05T04:03:00Z),\
$(rs s5 website csat 2 2024-06-05T04:04:00Z),\
$(rs e1 pos ces 7 2024-06-05T05:00:00Z),$(rs e2 pos ces 5 2024-06-05T05:01:00Z),\
$(rs e3 pos ces 3 2024-06-05T05:02:00Z),$(rs e4 pos ces 6 2024-06-05T05:03:00Z),\
$(rs k1 store ease 6 2024-06-05T06:00:00Z mobile_app),\
$(rs m1 website emotion 4 2024-06-09T23:30:00Z),$(rs m2 website emotion 2 2024-06-09T16:59:59Z)]"
check post_other 200 '.accepted == 12 and .rejected == []' -H "$IH" -H "$JSON" -d "$OTHER" /v1/responses

JUNE='from=2024-06-01&to=2024-07-01'

# ---- scores: no groups ----------------------------------------------------------------

# Local June: n = 10, P = 5, Pa = 3, D = 2.
#   score  = 100 * (5 - 2) / 10 = 30
#   margin = 1.96 * sqrt((p + d - (p - d)^2) / n) * 100, p = 0.5, d = 0.2
#          = 1.96 * sqrt((0.5 + 0.2 - 0.09) / 10) * 100 = 1.96 * sqrt(0.061) * 100
#          = 1.96 * 0.2469818 * 100 = 48.408
check nps_june 200 "$R3"' .bucket == "none" and .group == "none" and .tz_offset == 25200 and .min_n == 30
        and (.rows | length) == 1 and (.rows[0] | has("bucket") or has("touchpoint") or has("channel") | not)
        and (.rows[0].nps | .n == 10 and .promoters == 5 and .passives == 3 and .detractors == 2
             and .score == 30 and (.margin | r3) == 48.408 and .low_volume == true)' \
        -H "$AH" "/v1/reports/scores?$JUNE"

# CSAT (local June): 5, 4, 4, 3, 2: n = 5, top-2-box (4-5) = 3 -> pct = 60,
# mean = 18 / 5 = 3.6.  Wilson 95%, z = 1.96, z^2 = 3.8416, p = 0.6:
#   den  = 1 + 3.8416 / 5 = 1.76832
#   mid  = 0.6 + 3.8416 / 10 = 0.98416
#   half = 1.96 * sqrt(0.6 * 0.4 / 5 + 3.8416 / 100) = 1.96 * sqrt(0.086416) = 0.5761730
#   lo   = (0.98416 - 0.5761730) / 1.76832 = 23.072 %
#   hi   = (0.98416 + 0.5761730) / 1.76832 = 88.238 %
eq csat_june "$(jq -c "$R3"' .rows[0].csat | [.n, .top2, .pct, (.mean | r3), (.lo | r3), (.hi | r3), .low_volume]' "$T/body")" \
        '[5,3,60,3.6,23.072,88.238,true]'
# CES (local June): 7, 5, 3, 6: n = 4, mean = 21 / 4 = 5.25, easy (5-7) = 3 -> 75 %.
eq ces_june "$(jq -c '.rows[0].ces | [.n, .easy, .mean, .pct_easy]' "$T/body")" '[4,3,5.25,75]'
# Ease: one 6 -> n 1, top (5-7) 1, mean 6, 100 %.  Emotion: 4 and 2 -> mean 3,
# top (4-5) 1 -> 50 %.  Goal: no answers -> null.
eq ease_june "$(jq -c '.rows[0].ease | [.n, .top, .mean, .pct_top]' "$T/body")" '[1,1,6,100]'
eq emotion_june "$(jq -c '.rows[0].emotion | [.n, .top, .mean, .pct_top]' "$T/body")" '[2,1,3,50]'
eq goal_june_null "$(jq -c '.rows[0].goal' "$T/body")" null

# All time adds x1 (promoter) and x2 (detractor): n = 12, P = 6, Pa = 3, D = 3.
#   score  = 100 * (6 - 3) / 12 = 25
#   margin = 1.96 * sqrt((0.5 + 0.25 - 0.0625) / 12) * 100 = 1.96 * 0.2393568 * 100 = 46.914
check nps_all_time 200 "$R3"' .rows[0].nps | .n == 12 and .promoters == 6 and .passives == 3
        and .detractors == 3 and .score == 25 and (.margin | r3) == 46.914' -H "$AH" /v1/reports/scores

# The same month in UTC (a range that cuts local days): n1 (May 31 17:30Z) and
# x1 fall out, x2 (June 30 17:30Z) comes in: P = 4, Pa = 3, D = 3 (n9, n10, x2).
#   score  = 100 * (4 - 3) / 10 = 10
#   margin = 1.96 * sqrt((0.4 + 0.3 - 0.01) / 10) * 100 = 1.96 * sqrt(0.069) * 100
#          = 1.96 * 0.2626785 * 100 = 51.485
check nps_june_utc 200 "$R3"' .rows[0].nps | .n == 10 and .promoters == 4 and .passives == 3
        and .detractors == 3 and .score == 10 and (.margin | r3) == 51.485' \
        -H "$AH" "/v1/reports/scores?from=2024-06-01T00:00:00Z&to=2024-07-01T00:00:00Z"
# An offset in the query (%2B is "+"): local June again, written as RFC 3339.
check nps_june_offset 200 '.rows[0].nps | .n == 10 and .score == 30' \
        -H "$AH" "/v1/reports/scores?from=2024-06-01T00:00:00%2B07:00&to=2024-07-01T00:00:00%2B07:00"
# from alone / to alone: from local June 1 drops x1 (11 left: P5 Pa3 D3, x2 in);
# to local June 1 keeps only x1.
check nps_from_only 200 '.rows[0].nps | .n == 11 and .promoters == 5 and .detractors == 3' \
        -H "$AH" "/v1/reports/scores?from=2024-06-01&metric=nps"
check nps_to_only 200 '.rows == [{"nps": {"n": 1, "promoters": 1, "passives": 0, "detractors": 0,
        "score": 100, "margin": 0, "low_volume": true}}]' -H "$AH" "/v1/reports/scores?to=2024-06-01&metric=nps"
# One local day: 2024-06-05 holds n2..n9 (P 4, Pa 3, D 1): 100 * 3 / 8 = 37.5.
check nps_one_day 200 '.rows[0].nps | .n == 8 and .score == 37.5' \
        -H "$AH" "/v1/reports/scores?from=2024-06-05&to=2024-06-06&metric=nps"
check empty_range 200 '.rows == []' -H "$AH" "/v1/reports/scores?from=2025-01-01&to=2025-02-01"
# Leap day is a date.
check leap_day_ok 200 - -H "$AH" "/v1/reports/scores?from=2024-02-29"

# ---- metric filter --------------------------------------------------------------------

check metric_filter 200 '(.rows[0] | keys) == ["ces", "nps"] and .rows[0].nps.n == 10 and .rows[0].ces.n == 4' \
        -H "$AH" "/v1/reports/scores?$JUNE&metric=nps,ces"
# Only goal asked, and there are no goal answers: no rows at all.
check metric_goal_none 200 '.rows == []' -H "$AH" "/v1/reports/scores?metric=goal"

# ---- groups ---------------------------------------------------------------------------

# By touchpoint: store (nps 10, ease 1), website (csat 5, emotion 2), pos (ces 4),
# ordered by touchpoint id.
check group_touchpoint 200 '.group == "touchpoint" and (.rows | length) == 3
        and ([.rows[].touchpoint_id] | . == sort)
        and ([.rows[] | keys] | all(index("touchpoint") != null and index("touchpoint_id") != null and index("channel") == null))' \
        -H "$AH" "/v1/reports/scores?$JUNE&group=touchpoint"
eq group_touchpoint_rows "$(jq -c '[.rows[] | [.touchpoint, .nps.n, .csat.n, .ces.n, .ease.n, .emotion.n]] | sort' "$T/body")" \
        '[["pos",null,null,4,null,null],["store",10,null,null,1,null],["website",null,5,null,null,2]]'
eq group_touchpoint_store_nps "$(jq -c '.rows[] | select(.touchpoint == "store") | .nps.score' "$T/body")" 30
eq group_touchpoint_pos_ces "$(jq -c '.rows[] | select(.touchpoint == "pos") | .ces.mean' "$T/body")" 5.25

# By channel: store (store nps 10 + pos ces 4), web (website csat 5, emotion 2),
# mobile_app (the ease answer, sent with its own channel).
check group_channel 200 '.group == "channel" and (.rows | length) == 3
        and ([.rows[] | has("touchpoint")] | any | not)' \
        -H "$AH" "/v1/reports/scores?$JUNE&group=channel"
eq group_channel_rows "$(jq -c '[.rows[] | [.channel, .nps.n, .csat.n, .ces.n, .ease.n, .emotion.n]] | sort' "$T/body")" \
        '[["mobile_app",null,null,null,1,null],["store",10,null,4,null,null],["web",null,5,null,null,2]]'

# By both (named "touchpoint_channel" in the reply): store/store, store/mobile_app,
# website/web, pos/store.
check group_both 200 '.group == "touchpoint_channel" and (.rows | length) == 4' \
        -H "$AH" "/v1/reports/scores?$JUNE&group=touchpoint,channel"
eq group_both_rows "$(jq -c '[.rows[] | "\(.touchpoint)/\(.channel)"] | sort' "$T/body")" \
        '["pos/store","store/mobile_app","store/store","website/web"]'

# ---- buckets (local UTC+7, weeks from Monday) ----------------------------------------

# m1 is Sunday 2024-06-09T23:30Z = Monday 06:30 locally: the week of Monday
# 2024-06-10.  m2 is Sunday 23:59:59 locally: the week of Monday 2024-06-03.
check week_emotion 200 '.bucket == "week" and .rows == [
        {"bucket": "2024-06-03", "start": "2024-06-03T00:00:00+07:00",
         "emotion": {"n": 1, "top": 0, "mean": 2, "pct_top": 0, "low_volume": true}},
        {"bucket": "2024-06-10", "start": "2024-06-10T00:00:00+07:00",
         "emotion": {"n": 1, "top": 1, "mean": 4, "pct_top": 100, "low_volume": true}}]' \
        -H "$AH" "/v1/reports/scores?bucket=week&metric=emotion"
check day_emotion 200 '[.rows[] | [.bucket, .start, .emotion.mean]] == [
        ["2024-06-09", "2024-06-09T00:00:00+07:00", 2], ["2024-06-10", "2024-06-10T00:00:00+07:00", 4]]' \
        -H "$AH" "/v1/reports/scores?bucket=day&metric=emotion"
# NPS by week in local June: n1 is Saturday June 1 (week of Monday May 27),
# n2..n9 Wednesday June 5 (week of June 3), n10 Sunday June 30 (week of June 24).
check week_nps 200 '[.rows[] | [.bucket, .nps.n]] == [["2024-05-27", 1], ["2024-06-03", 8], ["2024-06-24", 1]]' \
        -H "$AH" "/v1/reports/scores?$JUNE&bucket=week&metric=nps"
# By month, all time: x1 in local May, n1..n10 in June, x2 in local July.
check month_nps 200 '[.rows[] | [.bucket, .start, .nps.n]] == [["2024-05", "2024-05-01T00:00:00+07:00", 1],
        ["2024-06", "2024-06-01T00:00:00+07:00", 10], ["2024-07", "2024-07-01T00:00:00+07:00", 1]]' \
        -H "$AH" "/v1/reports/scores?bucket=month&metric=nps"
# A bucket is the whole local month even where from cuts it: from June 15
# leaves n10 (June 30) and x2 (local July 1).
check month_cut_by_from 200 '[.rows[] | [.bucket, .start, .nps.n]] == [["2024-06", "2024-06-01T00:00:00+07:00", 1],
        ["2024-07", "2024-07-01T00:00:00+07:00", 1]]' \
        -H "$AH" "/v1/reports/scores?from=2024-06-15&bucket=month&metric=nps"
check week_by_touchpoint 200 '[.rows[] | [.bucket, .touchpoint]] == [["2024-06-03", "website"], ["2024-06-10", "website"]]' \
        -H "$AH" "/v1/reports/scores?bucket=week&group=touchpoint&metric=emotion"

# ---- touchpoint and channel filters ---------------------------------------------------

check filter_touchpoints 200 '(.rows | length) == 1 and .rows[0].nps == null and .rows[0].csat.n == 5
        and .rows[0].ces.n == 4 and .rows[0].ease == null and .rows[0].emotion.n == 2' \
        -H "$AH" "/v1/reports/scores?$JUNE&touchpoint=website,pos"
check filter_one_touchpoint 200 '.rows[0].nps.n == 10 and .rows[0].ease.n == 1 and .rows[0].csat == null' \
        -H "$AH" "/v1/reports/scores?$JUNE&touchpoint=store"
check filter_touchpoint_no_answers 200 '.rows == []' -H "$AH" "/v1/reports/scores?touchpoint=care-centre"
check filter_channel_web 200 '.rows[0].nps == null and .rows[0].csat.n == 5 and .rows[0].emotion.n == 2
        and .rows[0].ces == null' -H "$AH" "/v1/reports/scores?$JUNE&channel=web"
# channel=store keeps store's NPS and pos's CES but not the ease answer sent as mobile_app.
check filter_channel_store 200 '.rows[0].nps.n == 10 and .rows[0].ces.n == 4 and .rows[0].ease == null
        and .rows[0].csat == null' -H "$AH" "/v1/reports/scores?$JUNE&channel=store"
check filter_channels_two 200 '.rows[0].nps.n == 10 and .rows[0].ease.n == 1 and .rows[0].csat == null' \
        -H "$AH" "/v1/reports/scores?$JUNE&channel=store,mobile_app"
check filter_touchpoint_and_channel 200 '.rows[0] | .ease.n == 1 and .nps == null' \
        -H "$AH" "/v1/reports/scores?$JUNE&touchpoint=store&channel=mobile_app"

# ---- score errors ---------------------------------------------------------------------

check bad_group 400 '.error.code == "invalid_value" and .error.field == "group"' \
        -H "$AH" "/v1/reports/scores?group=region"
check bad_bucket 400 '.error.field == "bucket"' -H "$AH" "/v1/reports/scores?bucket=year"
check bad_metric 400 '.error.field == "metric"' -H "$AH" "/v1/reports/scores?metric=nps,wow"
check bad_channel 400 '.error.code == "invalid_value" and .error.field == "channel"' \
        -H "$AH" "/v1/reports/scores?channel=web,pigeon"
check unknown_touchpoint 422 '.error.code == "unknown_touchpoint" and .error.field == "touchpoint"
        and (.error.message | contains("ghost-counter"))' -H "$AH" "/v1/reports/scores?touchpoint=store,ghost-counter"
check to_before_from 400 '.error.code == "invalid_value" and .error.field == "to"' \
        -H "$AH" "/v1/reports/scores?from=2024-07-01&to=2024-06-01"
check to_equals_from 400 '.error.field == "to"' -H "$AH" "/v1/reports/scores?from=2024-06-01&to=2024-06-01"
check bad_from 400 '.error.code == "invalid_value" and .error.field == "from"' \
        -H "$AH" "/v1/reports/scores?from=yesterday"
check bad_to_month13 400 '.error.field == "to"' -H "$AH" "/v1/reports/scores?to=2024-13-01"

# ---- transitions ----------------------------------------------------------------------
#
# u1: ads 06-01 01:00Z -> website 02:00 -> store 03:00 -> pos purchase 250000 04:00
# u2: social-media 06-02 01:00Z -> website 02:00 -> pos purchase 100000 04:00,
#     then, sent later on its own, reviews at 03:00 (out of time order): the
#     path becomes social-media -> website -> reviews -> pos.
# u3: ads 05-01 00:00Z ... pos purchase 50000 06-03 00:00Z (33 days later)
# u4: pos purchase 30000 06-04 00:00Z, nothing before it
EVS="[$(ev u1-1 u1 ads view 2024-06-01T01:00:00Z),$(ev u1-2 u1 website view 2024-06-01T02:00:00Z),\
$(ev u1-3 u1 store visit 2024-06-01T03:00:00Z),$(ev u1-4 u1 pos purchase 2024-06-01T04:00:00Z 250000),\
$(ev u2-1 u2 social-media view 2024-06-02T01:00:00Z),$(ev u2-2 u2 website view 2024-06-02T02:00:00Z),\
$(ev u2-4 u2 pos purchase 2024-06-02T04:00:00Z 100000),\
$(ev u3-1 u3 ads view 2024-05-01T00:00:00Z),$(ev u3-2 u3 pos purchase 2024-06-03T00:00:00Z 50000),\
$(ev u4-1 u4 pos purchase 2024-06-04T00:00:00Z 30000)]"
check post_events 200 '.accepted == 10 and .rejected == []' -H "$IH" -H "$JSON" -d "$EVS" /v1/events

# Before the late event: u2 gives social-media -> website, website -> pos.
check transitions_before_late 200 '.total == 6 and ([.transitions[] | select(.from == "website" and .to == "pos") | .n] == [1])' \
        -H "$AH" /v1/reports/transitions
check attribution_before_late 200 '[.touchpoints[] | select(.touchpoint == "website") | .conversions] == [1]' \
        -H "$AH" /v1/attribution

check post_late_event 200 '.accepted == 1' -H "$IH" -H "$JSON" \
        -d "$(ev u2-3 u2 reviews view 2024-06-02T03:00:00Z)" /v1/events

# All time, seven pairs:
#   u1: ads->website, website->store, store->pos
#   u2: social-media->website, website->reviews, reviews->pos
#   u3: ads->pos
# share = n / (pairs leaving the same touchpoint): ads 2, website 2, others 1.
check transitions_all 200 '.total == 7 and (.transitions | length) == 7' -H "$AH" /v1/reports/transitions
eq transitions_pairs "$(jq -c '[.transitions[] | [.from, .to, .n, .share]] | sort' "$T/body")" \
        '[["ads","pos",1,0.5],["ads","website",1,0.5],["reviews","pos",1,1],["social-media","website",1,1],["store","pos",1,1],["website","reviews",1,0.5],["website","store",1,0.5]]'
eq transitions_no_stale_pair "$(jq '[.transitions[] | select(.from == "website" and .to == "pos")] | length' "$T/body")" 0
eq transitions_ids "$(jq '[.transitions[] | (.from_id | type), (.to_id | type)] | unique' "$T/body" | tr -d ' \n')" '["number"]'
# Ordered by from id, then to id.
eq transitions_order "$(jq '[.transitions[] | [.from_id, .to_id]] | . == sort' "$T/body")" true
# Both events must be in range: from local June 2 leaves u2's three pairs
# (u1 is local June 1; u3's ads touch is in May).
check transitions_from 200 '.total == 3 and ([.transitions[] | "\(.from)>\(.to)"] | sort)
        == ["reviews>pos", "social-media>website", "website>reviews"]' \
        -H "$AH" "/v1/reports/transitions?from=2024-06-02"
# Local June 1 only: u1's three pairs.
check transitions_one_day 200 '.total == 3 and ([.transitions[] | .from] | sort) == ["ads", "store", "website"]' \
        -H "$AH" "/v1/reports/transitions?from=2024-06-01&to=2024-06-02"
check transitions_empty 200 '.total == 0 and .transitions == []' \
        -H "$AH" "/v1/reports/transitions?from=2025-01-01"
check transitions_bad_range 400 '.error.field == "to"' \
        -H "$AH" "/v1/reports/transitions?from=2024-06-02&to=2024-06-01"

# ---- last-touch attribution ------------------------------------------------------------
#
# Each purchase goes to the customer's previous non-purchase touchpoint:
#   u1 250000 -> store; u2 100000 -> reviews (the late event now comes just
#   before the purchase); u3 50000 -> ads (33 days earlier); u4 30000 -> none.
check attribution_all 200 '.model == "last"' -H "$AH" /v1/attribution
eq attribution_keys "$(jq -c 'keys' "$T/body")" '["conversion","lookback_days","model","touchpoints","unattributed"]'
eq attribution_head "$(jq -c '[.model, .conversion, .lookback_days]' "$T/body")" '["last","purchase",0]'
eq attribution_rows "$(jq -c '[.touchpoints[] | [.touchpoint, .conversions, .value]] | sort' "$T/body")" \
        '[["ads",1,50000],["reviews",1,100000],["store",1,250000]]'
eq attribution_unattributed "$(jq -c '.unattributed' "$T/body")" '{"conversions":1,"value":30000}'
eq attribution_row_keys "$(jq -c '[.touchpoints[] | keys] | unique' "$T/body")" '[["conversions","touchpoint","value"]]'
check attribution_explicit 200 '.model == "last" and .conversion == "purchase" and (.touchpoints | length) == 3' \
        -H "$AH" "/v1/attribution?model=last&conversion=purchase"
# A 30-day look-back drops u3's ads touch (33 days): unattributed u3 + u4 =
# 2 conversions, 50000 + 30000 = 80000.
check attribution_lookback_30 200 '.lookback_days == 30 and ([.touchpoints[] | [.touchpoint, .conversions, .value]] | sort)
        == [["reviews", 1, 100000], ["store", 1, 250000]] and .unattributed == {"conversions": 2, "value": 80000}' \
        -H "$AH" "/v1/attribution?lookback_days=30"
check attribution_lookback_32 200 '.unattributed.conversions == 2' -H "$AH" "/v1/attribution?lookback_days=32"
# Exactly 33 days (2,851,200 s) is still inside the window ("at most").
check attribution_lookback_33 200 '[.touchpoints[] | select(.touchpoint == "ads") | .conversions] == [1]' \
        -H "$AH" "/v1/attribution?lookback_days=33"
check attribution_lookback_34 200 '([.touchpoints[] | select(.touchpoint == "ads") | .value] == [50000])
        and .unattributed == {"conversions": 1, "value": 30000}' -H "$AH" "/v1/attribution?lookback_days=34"
check attribution_lookback_max 200 '.lookback_days == 3650' -H "$AH" "/v1/attribution?lookback_days=3650"
# from/to pick the purchases: local June 2 holds u2's only (its touch may be older).
check attribution_range 200 '.touchpoints == [{"touchpoint": "reviews", "conversions": 1, "value": 100000}]
        and .unattributed == {"conversions": 0, "value": 0}' \
        -H "$AH" "/v1/attribution?from=2024-06-02&to=2024-06-03"
# Local June 3 and 4: u3 (June 3 07:00 local) and u4.
check attribution_range_2 200 '.touchpoints == [{"touchpoint": "ads", "conversions": 1, "value": 50000}]
        and .unattributed == {"conversions": 1, "value": 30000}' \
        -H "$AH" "/v1/attribution?from=2024-06-03&to=2024-06-05"

# The path models split each purchase over its own journey (events since the
# previous purchase); whatever the model, credited plus unattributed is all four
# purchases and all 430,000 of value.
for m in first last_non_direct linear time_decay position markov shapley; do
        check "attribution_$m" 200 ".model == \"$m\" and
                ((([.touchpoints[].conversions] | add // 0) + .unattributed.conversions) * 1e6 | round) == 4e6 and
                ((([.touchpoints[].value] | add // 0) + .unattributed.value) | round) == 430000" \
                -H "$AH" "/v1/attribution?model=$m"
done
check attribution_bad_model 400 '.error.code == "invalid_value" and .error.field == "model"' \
        -H "$AH" "/v1/attribution?model=magic"
check attribution_bad_direct 422 '.error.code == "unknown_touchpoint" and .error.field == "direct"' \
        -H "$AH" "/v1/attribution?model=last_non_direct&direct=nowhere"
# No signup events here: every journey is a non-converting one, nothing is credited.
check attribution_conversion 200 '.conversion == "signup" and .touchpoints == [] and .unattributed.conversions == 0' \
        -H "$AH" "/v1/attribution?conversion=signup"
check attribution_bad_conversion 400 '.error.code == "invalid_value" and .error.field == "conversion"' \
        -H "$AH" "/v1/attribution?conversion=Not%20A%20Type"
check attribution_lookback_neg 400 '.error.code == "invalid_value" and .error.field == "lookback_days"' \
        -H "$AH" "/v1/attribution?lookback_days=-1"
check attribution_lookback_big 400 '.error.field == "lookback_days"' -H "$AH" "/v1/attribution?lookback_days=3651"
check attribution_lookback_text 400 '.error.field == "lookback_days"' -H "$AH" "/v1/attribution?lookback_days=week"
check attribution_bad_range 400 '.error.field == "to"' -H "$AH" "/v1/attribution?from=2024-06-05&to=2024-06-01"

# ---- keys -----------------------------------------------------------------------------

for r in reports/scores reports/transitions attribution; do
        n=$(echo "$r" | tr / _)
        check "${n}_ingest_key_403" 403 '.error.code == "forbidden"' -H "$IH" "/v1/$r"
        check "${n}_no_key_401" 401 '.error.code == "unauthorized"' "/v1/$r"
        hdr "${n}_no_key_www_authenticate" '^www-authenticate: bearer'
        check "${n}_head" 200 - -I -H "$AH" "/v1/$r"
done
check scores_json_type 200 - -H "$AH" /v1/reports/scores
hdr scores_content_type '^content-type: application/json'

# ---- restart: the engine reloads everything from the store ---------------------------------

stop_server server_exit_0_first
start_server || finish
check restart_nps_june 200 "$R3"' .rows[0].nps | .n == 10 and .score == 30 and (.margin | r3) == 48.408' \
        -H "$AH" "/v1/reports/scores?$JUNE"
check restart_week_emotion 200 '[.rows[] | .bucket] == ["2024-06-03", "2024-06-10"]' \
        -H "$AH" "/v1/reports/scores?bucket=week&metric=emotion"
check restart_transitions 200 '.total == 7 and ([.transitions[] | select(.from == "website") | .to] | sort) == ["reviews", "store"]' \
        -H "$AH" /v1/reports/transitions
check restart_attribution 200 '([.touchpoints[] | [.touchpoint, .value]] | sort) == [["ads", 50000], ["reviews", 100000], ["store", 250000]]
        and .unattributed == {"conversions": 1, "value": 30000}' -H "$AH" /v1/attribution

# ---- reading one's own writes ------------------------------------------------------------
#
# Each report right after a POST includes it: CSAT at care-centre (no answers
# yet) gets a 5, a 1, a 4, ... and the report follows one answer at a time.
i=1
sum=0
for score in 5 1 4 2 3; do
        sum=$((sum + score))
        req -H "$IH" -H "$JSON" -d "$(rs "ryw-$i" care-centre csat "$score" 2024-06-20T03:00:00Z)" /v1/responses
        req -H "$AH" "/v1/reports/scores?touchpoint=care-centre&metric=csat"
        eq "ryw_csat_$i" "$(jq -c '.rows[0].csat | [.n, (.mean * .n | round)]' "$T/body" 2>/dev/null)" "[$i,$sum]"
        i=$((i + 1))
done
# Transitions and attribution: u5 visits care-centre, then buys at pos.
check ryw_post_touch 200 '.accepted == 1' -H "$IH" -H "$JSON" \
        -d "$(ev u5-1 u5 care-centre call 2024-06-20T01:00:00Z)" /v1/events
check ryw_post_purchase 200 '.accepted == 1' -H "$IH" -H "$JSON" \
        -d "$(ev u5-2 u5 pos purchase 2024-06-20T02:00:00Z 77000)" /v1/events
check ryw_transitions 200 '.total == 8 and ([.transitions[] | select(.from == "care-centre") | [.to, .n]] == [["pos", 1]])' \
        -H "$AH" /v1/reports/transitions
check ryw_attribution 200 '[.touchpoints[] | select(.touchpoint == "care-centre") | [.conversions, .value]] == [[1, 77000]]' \
        -H "$AH" /v1/attribution

health_ok health_before_stop
stop_server
finish
