#!/bin/sh
# guard.sh BUILD_DIR -- hostile and malformed input (RELIABILITY 2.3 I1-I3, I5-I8,
# I10, I11; 2.2 O4 slow clients and O7 big bodies; 3.1 the request guard).
# Each bad input must get a precise 4xx, store nothing and leave the server up;
# smuggled requests must never reach the application.  Raw-byte requests go over
# bash's /dev/tcp (see raw in lib.sh).  Prints "N passed, N failed" last.
# shellcheck disable=SC2034,SC2119,SC2059 # BUILD, the helpers' defaults and, here, printf formats
set -u
BUILD=${1:?usage: sh tests/e2e/guard.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

tp_setup || { bad setup "journey/keys setup failed"; finish; }
start_server --max-items 5 --timeout 2 || finish

JSON='Content-Type: application/json'
NDJSON='Content-Type: application/x-ndjson'
LC='(.error.message | test("line [0-9]+ column [0-9]+"))'

# post NAME STATUS JQ FILE [PATH]: POST FILE's bytes as JSON with the ingest key.
post() {
        check "$1" "$2" "$3" -H "$IH" -H "$JSON" --data-binary "@$4" "${5:-/v1/events}"
}
# postf NAME STATUS JQ PRINTF_FORMAT [ARGS...]: the same with a body made by printf.
postf() {
        _pn=$1 _ps=$2 _pj=$3
        shift 3
        # shellcheck disable=SC2059
        printf "$@" >"$T/in"
        post "$_pn" "$_ps" "$_pj" "$T/in"
}

# ---- I1 malformed JSON: 400 invalid_json with line and column ---------------------

postf malformed_json 400 ".error.code == \"invalid_json\" and $LC" '{"id": }'
postf malformed_json_line3 400 '.error.code == "invalid_json" and (.error.message | test("line 3 column"))' \
        '{\n  "id": "x",\n  "customer": }\n'
postf empty_body 400 '.error.code == "invalid_json" and .error.field == "body"' ''
postf whitespace_body 400 '.error.code == "invalid_json"' '  \n\t '
postf bom 400 ".error.code == \"invalid_json\" and $LC" '\357\273\277{"id":"b","customer":"c","touchpoint":"%s","type":"view"}' "$TP1"
postf trailing_comma_array 400 ".error.code == \"invalid_json\" and $LC" '[{"id":"tc"},]'
postf trailing_comma_object 400 ".error.code == \"invalid_json\" and $LC" '{"id":"tc",}'
postf nan 400 ".error.code == \"invalid_json\" and $LC" '{"value":NaN}'
postf infinity 400 ".error.code == \"invalid_json\" and $LC" '{"value":-Infinity}'
postf lone_surrogate 400 ".error.code == \"invalid_json\" and $LC" \
        '{"id":"\\ud800","customer":"c","touchpoint":"%s","type":"view"}' "$TP1"
postf lone_low_surrogate 400 '.error.code == "invalid_json"' '{"id":"\\udc00x"}'
postf truncated 400 ".error.code == \"invalid_json\" and $LC" '{"id":"tr","customer":"c","touchpoint":"'
postf truncated_array 400 '.error.code == "invalid_json"' '[{"id":"tr2"},'
postf single_quotes 400 '.error.code == "invalid_json"' "{'id':'sq'}"
postf comment 400 '.error.code == "invalid_json"' '{"id":"cm" /* hi */}'
postf leading_zero 400 '.error.code == "invalid_json"' '{"value":007}'
postf two_documents 400 '.error.code == "invalid_json"' '{"id":"a"}{"id":"b"}'

# ---- I11 content type ------------------------------------------------------------------

GOOD=$(printf '{"id":"ct-ok","customer":"c","touchpoint":"%s","type":"view"}' "$TP1")
check ct_text_plain 415 '.error.code == "unsupported_media_type" and .error.field == "Content-Type"' \
        -H "$IH" -H 'Content-Type: text/plain' -d "$GOOD" /v1/events
check ct_multipart 415 '.error.code == "unsupported_media_type"' -H "$IH" -F "event=$GOOD" /v1/events
check ct_latin1 415 '.error.code == "unsupported_media_type" and (.error.message | test("UTF-8"))' \
        -H "$IH" -H 'Content-Type: application/json; charset=latin1' -d "$GOOD" /v1/events
check ct_utf88 415 - -H "$IH" -H 'Content-Type: application/json; charset=utf-88' -d "$GOOD" /v1/events
check ct_utf8_quoted_ok 200 '.accepted == 1' -H "$IH" -H 'Content-Type: application/json; charset="utf-8"' -d "$GOOD" /v1/events
check ct_form_default 415 - -H "$IH" -d "$GOOD" /v1/events
check ct_missing 415 - -H "$IH" -H 'Content-Type:' -d "$GOOD" /v1/events
check ct_json_prefix 415 - -H "$IH" -H 'Content-Type: application/jsonp' -d "$GOOD" /v1/events
check ct_ndjson_on_journey 415 - -X PUT -H "$AH" -H "$NDJSON" -d '{}' /v1/journeys/x
check ct_utf8_ok 200 '.accepted + .duplicates == 1' -H "$IH" -H 'Content-Type: application/json; charset=UTF-8' -d "$GOOD" /v1/events

# ---- I5/I6 encoding and NUL ---------------------------------------------------------------

EV='{"id":"%s","customer":"c","touchpoint":"'$TP1'","type":"view"}'
EVB='{"id":"%b","customer":"c","touchpoint":"'$TP1'","type":"view"}' # %b: the id's \ooo escapes become bytes
postf utf8_ff 400 '.error.code == "invalid_json"' "$EVB" 'bad\377id'
postf utf8_overlong 400 '.error.code == "invalid_json"' "$EVB" 'bad\300\257id'
postf utf8_surrogate 400 '.error.code == "invalid_json"' "$EVB" 'bad\355\240\200id'
postf utf8_above_max 400 '.error.code == "invalid_json"' "$EVB" 'bad\364\220\200\200id'
postf utf8_truncated 400 '.error.code == "invalid_json"' "$EVB" 'bad\341\273'
postf raw_nul_in_string 400 '.error.code == "invalid_json"' "$EVB" 'bad\000id'
postf raw_nul_between 400 '.error.code == "invalid_json"' '{"id":"n1",\000"customer":"c"}'
postf escaped_nul 400 ".error.code == \"invalid_json\" and $LC" "$EV" 'bad\u0000id'
printf "$EV\n$EVB\n" 'nd-good' 'nd-bad\377' >"$T/in"
check ndjson_bad_utf8_line 200 '.accepted == 1 and .rejected[0].index == 1 and .rejected[0].code == "invalid_json"
        and (.rejected[0].message | test("line 2"))' -H "$IH" -H "$NDJSON" --data-binary "@$T/in" /v1/events

# ---- I3 nesting -------------------------------------------------------------------------

nest() { # N OPEN CLOSE: N opening brackets then (when CLOSE) N closing ones
        awk -v n="$1" -v c="$2" 'BEGIN { s = ""; for (i = 0; i < n; i++) printf "["; if (c) for (i = 0; i < n; i++) printf "]" }'
}
nest 100 0 >"$T/in"
post nest_100_open 400 '.error.code == "invalid_json"' "$T/in"
nest 100 1 >"$T/in"
post nest_100_closed 400 '.error.code == "too_deep"' "$T/in"
nest 10000 0 >"$T/in"
post nest_10000 400 '.error.code == "invalid_json" or .error.code == "too_deep"' "$T/in"
health_ok up_after_nest_10000
nest 1000000 0 >"$T/in"
post nest_1000000 400 '.error.code == "invalid_json" or .error.code == "too_deep"' "$T/in"
health_ok up_after_nest_1000000
awk 'BEGIN { printf "{\"id\":\"deep\",\"customer\":\"c\",\"touchpoint\":\"'"$TP1"'\",\"type\":\"view\",\"properties\":"; for (i = 0; i < 40; i++) printf "{\"a\":"; printf "1"; for (i = 0; i < 40; i++) printf "}"; printf "}" }' >"$T/in"
post nest_in_properties 400 '.error.code == "too_deep"' "$T/in"
nest 40 1 >"$T/in"
check nest_ndjson_line 422 '.rejected[0].code == "too_deep"' -H "$IH" -H "$NDJSON" --data-binary "@$T/in" /v1/events

# ---- I8 duplicate keys ----------------------------------------------------------------------

postf dup_keys 400 ".error.code == \"invalid_json\" and (.error.message | test(\"duplicate\")) and $LC" \
        '{"touchpoint":"%s","metric":"nps","score":1,"score":10}' "$TP1"
postf dup_keys_nested 400 '.error.code == "invalid_json"' \
        '{"id":"dk","customer":"c","touchpoint":"%s","type":"view","properties":{"a":1,"a":2}}' "$TP1"

# ---- I7 numbers --------------------------------------------------------------------------------

score() { # NAME STATUS JQ METRIC SCORE
        printf '{"id":"sc-%s","touchpoint":"%s","metric":"%s","score":%s}' "$1" "$TP1" "$4" "$5" >"$T/in"
        post "$1" "$2" "$3" "$T/in" /v1/responses
}
F422='.error.field == "score" and (.rejected | length) == 1 and .accepted == 0'
score nps_11 422 "$F422 and .error.code == \"out_of_range\" and (.error.message | test(\"0 to 10\"))" nps 11
score nps_minus_1 422 "$F422 and .error.code == \"out_of_range\"" nps -1
score nps_10_5 422 "$F422 and .error.code == \"invalid_type\"" nps 10.5
score nps_1e309 400 ".error.code == \"invalid_json\" and $LC" nps 1e309
score nps_2p63 400 ".error.code == \"invalid_json\" and $LC" nps 9223372036854775808
score nps_2p63_minus_1 422 "$F422" nps 9223372036854775807
score nps_minus_2p63 422 "$F422" nps -9223372036854775808
score nps_string_7 422 "$F422 and .error.code == \"invalid_type\"" nps '"7"'
score nps_true 422 "$F422" nps true
score nps_1e1 422 "$F422" nps 1e1
score ces_0 422 "$F422 and .error.code == \"out_of_range\" and (.error.message | test(\"ces\"))" ces 0
score ces_8 422 "$F422" ces 8
score csat_6 422 "$F422" csat 6
score goal_maybe 422 "$F422" goal '"maybe"'
score goal_3 422 "$F422" goal 3
score nps_null 422 "$F422 and .error.code == \"missing\"" nps null
postf event_value_too_big 422 '.error.field == "value"' \
        '{"id":"big","customer":"c","touchpoint":"%s","type":"buy","value":10000000000000001}' "$TP1"
postf event_value_real 422 '.error.field == "value" and .error.code == "invalid_type"' \
        '{"id":"big2","customer":"c","touchpoint":"%s","type":"buy","value":1.5}' "$TP1"

# ---- O7 items over --max-items (5) --------------------------------------------------------------

items() { # N [SEP]: N events, as a JSON array or NDJSON
        _k=0
        [ "${2:-}" ] || printf '['
        while [ $_k -lt "$1" ]; do
                [ $_k -gt 0 ] && [ -z "${2:-}" ] && printf ','
                printf "$EV" "it-$1-$_k-${2:+nd}"
                [ "${2:-}" ] && printf '\n'
                _k=$((_k + 1))
        done
        [ "${2:-}" ] || printf ']'
}
items 6 >"$T/in"
post items_6_array 413 '.error.code == "too_many_items"' "$T/in"
items 6 nd >"$T/in"
check items_6_ndjson 413 '.error.code == "too_many_items"' -H "$IH" -H "$NDJSON" --data-binary "@$T/in" /v1/events
items 5 >"$T/in"
post items_5_ok 200 '.accepted == 5' "$T/in"

# ---- I5/I6 the URL ---------------------------------------------------------------------------------

check url_nul_health 400 '.error.code == "bad_request"' /v1/health%00
req --path-as-is /v1/health%00/../x
one_of url_nul_health_tail "$STATUS" 400 404
check url_nul_customer 400 - -H "$AH" '/v1/customers/c%00x/timeline'
req -H "$AH" /v1/journeys/retail-vn%00junk
one_of url_nul_journey "$STATUS" 400 404
check url_nul_query 400 - -H "$AH" '/v1/customers/c/timeline?limit=5%00'
check url_bad_utf8_customer 400 - -H "$AH" '/v1/customers/%ff%fe/timeline'
check url_overlong_customer 400 - -H "$AH" '/v1/customers/%C0%AF/timeline'
check url_surrogate_customer 400 - -H "$AH" '/v1/customers/%ED%A0%80/timeline'
check url_bad_escape 400 - -H "$AH" '/v1/customers/a%zzb/timeline'
check url_control_customer 400 '.error.field == "customer"'  -H "$AH" '/v1/customers/a%01b/timeline'
check url_utf8_customer_ok 200 '.customer == "é-khách"' -H "$AH" '/v1/customers/%C3%A9-kh%C3%A1ch/timeline'

# ---- I10 request smuggling on a keep-alive connection -------------------------------------------------

HEALTH200='touchpoint_http_requests_total{method="GET",route="/v1/health",status="200"}'
printf 'GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' >"$T/appended"
SB=$(printf "$EV" smuggled)
SL=${#SB}
AUTH="Authorization: Bearer $INGEST"

# smuggle NAME PRINTF_FORMAT [ARGS...]: the hostile request, with a health
# request appended on the same connection.  Passes when the first answer is 400
# (or 413/501, or none: the connection closed), no 200 comes back at all, and
# the health counter of /metrics did not move.
smuggle() {
        _sn=$1
        shift
        # shellcheck disable=SC2059
        printf "$@" >"$T/sm"
        cat "$T/appended" >>"$T/sm"
        _before=$(metric "$HEALTH200")
        _t0=$(date +%s%N)
        raw "$T/sm" 3 | tr -d '\r' >"$T/sm.out"
        _ms=$((($(date +%s%N) - _t0) / 1000000))
        _after=$(metric "$HEALTH200")
        _first=$(grep -m1 '^HTTP/1\.[01] ' "$T/sm.out" | cut -d' ' -f2)
        case ${_first:-none} in
        400 | 413 | 501 | none) ;;
        *)
                bad "$_sn" "first answer $_first: $(head -c 300 "$T/sm.out" | tr '\n' '|')"
                return 1
                ;;
        esac
        if grep -q 'HTTP/1\.[01] 2[0-9][0-9] ' "$T/sm.out"; then
                bad "$_sn" "a 2xx came back: $(tr '\n' '|' <"$T/sm.out" | head -c 300)"
                return 1
        fi
        if [ "$_after" != "$_before" ]; then
                bad "$_sn" "the appended request reached the app (health 200s $_before -> $_after)"
                return 1
        fi
        if [ "$_first" = 400 ] && ! grep -qi '^connection: close' "$T/sm.out"; then
                bad "$_sn" "400 without Connection: close"
                return 1
        fi
        if [ "$_ms" -ge 2500 ]; then
                bad "$_sn" "the server kept the connection open (${_ms} ms)"
                return 1
        fi
        ok "$_sn"
}

# Negative control: a clean request with the same appendix gets both answered
# and moves the counter by one -- proof the matrix below can see a smuggled request.
printf 'GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' >"$T/sm"
cat "$T/appended" >>"$T/sm"
_before=$(metric "$HEALTH200")
out=$(raw "$T/sm" 2 | tr -d '\r')
_after=$(metric "$HEALTH200")
eq control_two_answers "$(count_status "$out")" 2
eq control_counter_moved "$((_after - _before))" 2

P='POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\nContent-Type: application/json\r\n'
guard_before=$(metric touchpoint_http_guard_rejections_total)
smuggle smuggle_cl_te "$P"'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n' "$AUTH" "$SL" "$SB"
smuggle smuggle_te_cl "$P"'Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n%x\r\n%s\r\n0\r\n\r\n' "$AUTH" "$SL" "$SB"
smuggle smuggle_two_cl "$P"'Content-Length: %d\r\nContent-Length: 3\r\n\r\n%s' "$AUTH" "$SL" "$SB"
smuggle smuggle_same_cl_twice "$P"'Content-Length: %d\r\nContent-Length: %d\r\n\r\n%s' "$AUTH" "$SL" "$SL" "$SB"
smuggle smuggle_cl_list "$P"'Content-Length: %d, 3\r\n\r\n%s' "$AUTH" "$SL" "$SB"
smuggle smuggle_te_gzip "$P"'Transfer-Encoding: gzip\r\n\r\n%s' "$AUTH" "$SB"
smuggle smuggle_te_chunked_chunked "$P"'Transfer-Encoding: chunked, chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n' "$AUTH" "$SL" "$SB"
smuggle smuggle_two_te "$P"'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n' "$AUTH" "$SL" "$SB"
smuggle smuggle_te_space_colon "$P"'Transfer-Encoding : chunked\r\nContent-Length: %d\r\n\r\n%s' "$AUTH" "$SL" "$SB"
smuggle smuggle_cl_plus "$P"'Content-Length: +%d\r\n\r\n%s' "$AUTH" "$SL" "$SB"
smuggle smuggle_chunk_size_overflow "$P"'Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\n%s\r\n0\r\n\r\n' "$AUTH" "$SB"
smuggle smuggle_nul_in_value 'GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Note: a\000b\r\n\r\n'
smuggle smuggle_nul_in_auth 'POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\000x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
        "$INGEST" "$SL" "$SB"
smuggle smuggle_nul_last_header 'GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Last: \000hidden\r\n\r\n'
smuggle smuggle_nul_after_version 'GET /v1/health HTTP/1.1\000junk\r\nHost: 127.0.0.1\r\n\r\n'
smuggle smuggle_ctl_in_name 'GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX\001Bad: b\r\n\r\n'
smuggle smuggle_space_in_name 'GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX Bad: b\r\n\r\n'
smuggle smuggle_ctl_in_value 'GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\033b\r\n\r\n'
smuggle smuggle_del_in_value 'GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\177b\r\n\r\n'
smuggle smuggle_no_host 'GET /v1/health HTTP/1.1\r\nX-A: b\r\n\r\n'
smuggle smuggle_space_in_target 'GET /v1/he alth HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'
# obs-fold: RFC 9112 5.2 lets a server reject it (400) or replace it by spaces;
# either is safe, as long as the server stays up and answers in order.
printf 'GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\r\n b\r\n\r\n' >"$T/sm"
first=$(raw "$T/sm" 2 | tr -d '\r' | grep -m1 '^HTTP/1' | cut -d' ' -f2)
one_of obs_fold_400_or_joined "${first:-none}" 400 200
guard_after=$(metric touchpoint_http_guard_rejections_total)
within guard_counter_grew "$((guard_after - guard_before))" 10 1000
eq smuggled_event_not_stored "$(db_count events "id = 'smuggled'")" 0

# ---- O4 slow clients: closed after --timeout 2 ------------------------------------------------------------

# stall FILE MAX: send FILE, then wait (at most MAX s) for the server to close;
# prints the milliseconds that took.
stall() {
        timeout $(($2 + 3)) bash -c '
                exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
                cat "$2" >&3
                s=$(date +%s%N)
                timeout "$3" cat <&3 >/dev/null
                echo $((($(date +%s%N) - s) / 1000000))' stall "$PORT" "$1" "$2" 2>/dev/null
}
printf 'GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' >"$T/slow1"
printf "$P"'Content-Length: 500\r\n\r\n{"id":"slow",' "$AUTH" >"$T/slow2"
stall "$T/slow1" 8 >"$T/slow1.ms" &
s1=$!
stall "$T/slow2" 8 >"$T/slow2.ms" &
s2=$!
sleep 0.5
health_ok served_during_stall
wait $s1 $s2
ms1=$(cat "$T/slow1.ms")
ms2=$(cat "$T/slow2.ms")
within slow_headers_closed_ms "$ms1" 1000 5000
within slow_body_closed_ms "$ms2" 1000 5000
health_ok up_after_slow

# ---- misc: huge header, body on a GET --------------------------------------------------------------------

awk 'BEGIN { for (i = 0; i < 100000; i++) printf "a" }' >"$T/hv"
req -H "X-Huge: $(cat "$T/hv")" /v1/health
one_of huge_header_refused "$STATUS" 431 400 413
check get_with_body 400 '.error.code == "unexpected_body"' -X GET -H "$JSON" -d '{"a":1}' /v1/health

health_ok up_at_end
stop_server
eq stored_events "$(sqlite3 "$DB" "select count(*) from events where id like 'sc-%' or id in ('smuggled','b','tc','tr','sq','cm','deep','dk','big','big2','slow')")" 0
eq stored_responses "$(db_count responses)" 0
eq stored_good "$(db_count events "id in ('ct-ok','nd-good')")" 2

# ---- O7 body over --max-body 1000 ----------------------------------------------------------------------------

start_server --max-body 1000 --timeout 2 || finish
awk 'BEGIN { for (i = 0; i < 5000; i++) printf " " }' >"$T/5000"
check body_cl_413_expect 413 '.error.code == "too_large" and .error.field == "body"' \
        -H "$IH" -H "$JSON" -H 'Expect: 100-continue' --data-binary "@$T/5000" /v1/events
hdr body_cl_413_close '^connection: close'
# The reply came before curl sent a byte of the body: with Expect: 100-continue
# curl waits for the go-ahead, and the 413 arrived instead.
up=$(curl -s --max-time 10 -o /dev/null -w '%{size_upload}' -H "$IH" -H "$JSON" -H 'Expect: 100-continue' \
        --expect100-timeout 5 --data-binary "@$T/5000" "$BASE/v1/events")
eq body_cl_413_no_upload "$up" 0
check body_cl_413_no_expect 413 '.error.code == "too_large"' -H "$IH" -H "$JSON" -H 'Expect:' \
        --data-binary "@$T/5000" /v1/events
# On the wire: headers only, no body sent at all -- the 413 still comes back.
printf "$P"'Content-Length: 5000\r\n\r\n' "$AUTH" >"$T/hdr-only"
raw "$T/hdr-only" 2 | tr -d '\r' >"$T/hdr-only.out"
expect body_cl_413_before_body "reply: $(head -1 "$T/hdr-only.out")" grep -q '^HTTP/1.1 413' "$T/hdr-only.out"
awk 'BEGIN { printf "["; for (i = 0; i < 998; i++) printf " "; printf "]" }' >"$T/1000"
post body_at_limit 422 '.error.code == "empty_batch"' "$T/1000"
printf ' ' >>"$T/1000"
post body_over_by_1 413 '.error.code == "too_large"' "$T/1000"
check body_chunked_413 413 '.error.code == "too_large"' -H "$IH" -H "$JSON" -H 'Transfer-Encoding: chunked' \
        --data-binary "@$T/5000" /v1/events
hdr body_chunked_413_close '^connection: close'
# Raw chunked over the limit with a request appended: 413, closed, appendix unseen.
{
        printf "$P"'Transfer-Encoding: chunked\r\n\r\n' "$AUTH"
        for _k in 1 2 3 4 5 6; do
                printf '200\r\n'
                head -c 512 "$T/5000"
                printf '\r\n'
        done
        printf '0\r\n\r\n'
} >"$T/chunked-big"
_ch_before=$(metric "$HEALTH200")
cat "$T/chunked-big" "$T/appended" >"$T/sm"
_t0=$(date +%s%N)
raw "$T/sm" 3 | tr -d '\r' >"$T/sm.out"
within body_chunked_raw_closed_ms "$((($(date +%s%N) - _t0) / 1000000))" 0 2500
expect body_chunked_raw_413 "reply: $(head -1 "$T/sm.out")" grep -q '^HTTP/1.1 413' "$T/sm.out"
eq body_chunked_raw_one_answer "$(count_status "$(cat "$T/sm.out")")" 1
eq body_chunked_raw_appendix_unseen "$(metric "$HEALTH200")" "$_ch_before"
# An endless chunked stream is cut off (no need to read it all): 3 MiB, no answer
# expected, the server must stay up and close the connection.
{
        printf "$P"'Transfer-Encoding: chunked\r\n\r\n' "$AUTH"
        awk 'BEGIN { s = ""; for (i = 0; i < 4096; i++) s = s " "; for (k = 0; k < 768; k++) printf "1000\r\n%s\r\n", s }'
} >"$T/endless"
raw "$T/endless" 3 >/dev/null 2>&1
health_ok up_after_endless_chunked
check body_on_get_health 413 - -X GET -H "$JSON" --data-binary "@$T/5000" /v1/health
health_ok up_at_end_2
stop_server server2_exit_0
eq stored_nothing_2 "$(db_count events "id like 'it-%' and id not like 'it-5-%'")" 0
finish
