#!/bin/sh
# links.sh BUILD_DIR -- sealed (encrypted and authenticated), expiring, single-use survey links: made by the
# CLI and by POST /v1/links, with QR codes that decode (zbarimg) to the link;
# the survey page's two calls; a tampered, expired, foreign or reused link is
# refused with a clear code and stores nothing.
BUILD=${1:-build/asan}
. "$(dirname "$0")/lib.sh"

tp_setup || { bad setup "tp_setup failed"; finish; }
command -v zbarimg >/dev/null 2>&1 || bad zbarimg "zbarimg (zbar-tools) is needed to read the QR codes"
qr_text() { zbarimg -q --raw "$1" 2>/dev/null | head -n 1; }

# ---- the command line ----------------------------------------------------------------
URL=$("$TP" link create --db "sqlite:$DB" --touchpoint invoice --customer kh-7 --metric csat --lang en \
        --base-url https://cx.example/ --qr "$T/cli.png" 2>"$T/cli.err")
eq "cli exit 0" "$?" 0
expect "cli prints the link on the base url" "$URL" sh -c "echo '$URL' | grep -qE '^https://cx.example/s/[A-Za-z0-9_-]{100,}$'"
# The token is sealed: the customer id cannot be read out of a forwarded link.
TOK64=$(printf '%s' "${URL##*/}" | tr '_-' '/+')
while [ $((${#TOK64} % 4)) -ne 0 ]; do TOK64="$TOK64="; done
expect "the customer id is not in the token" "$URL" sh -c "! printf '%s' '$TOK64' | base64 -d 2>/dev/null | grep -aq 'kh-7'"
expect "cli says what it made" "$(cat "$T/cli.err")" grep -q "kh-7 at invoice (csat), single use, expires" "$T/cli.err"
eq "the QR code holds the link" "$(qr_text "$T/cli.png")" "$URL"
for bad in "--touchpoint nope --customer a|touchpoint" "--touchpoint invoice|customer" \
        "--touchpoint invoice --customer a --metric goal|metric" "--touchpoint invoice --customer a --hours 0|expires_hours" \
        "--touchpoint invoice --customer a --lang fr|lang" "--touchpoint invoice --customer a --channel pigeon|channel"; do
        args=${bad%|*} want=${bad#*|}
        # shellcheck disable=SC2086
        "$TP" link create --db "sqlite:$DB" $args >"$T/out" 2>"$T/err"
        rc=$?
        if [ "$rc" -ne 0 ] && [ ! -s "$T/out" ] && grep -q "$want" "$T/err"; then ok "cli refuses $args"; else
                bad "cli refuses $args" "exit $rc, out '$(cat "$T/out")', err '$(cat "$T/err")'"; fi
done

start_server --test-link-clock 0 || finish
CLITOKEN=${URL##*/}
check "a CLI link opens on the server" 200 '.touchpoint.key == "invoice" and .metric == "csat" and .lang == "en"
        and .touchpoint.name_vi == "Hóa đơn" and .touchpoint.name_en == "Invoice"' "/v1/survey/$CLITOKEN"

# ---- the API ---------------------------------------------------------------------------
check "make a link" 201 '(.url | startswith("http://127.0.0.1:'"$PORT"'/s/")) and .customer == "kh-1"
        and .touchpoint == "store" and (.id | test("^[0-9a-f]{16}$")) and (.qr_png | endswith("/qr.png"))' \
        -H "$AH" -H 'Content-Type: application/json' -d '{"customer":"kh-1","touchpoint":"store"}' /v1/links
TOKEN=$(jq -r .token "$T/body")
LINKURL=$(jq -r .url "$T/body")
LINKID=$(jq -r .id "$T/body")
check "its QR code" 200 - "/v1/links/$TOKEN/qr.png"
expect "QR is a PNG" "$(head -c 8 "$T/body" | od -An -c | tr -d ' ')" grep -qi '^content-type: image/png' "$T/hdr"
cp "$T/body" "$T/api.png"
eq "the QR code decodes to the link" "$(qr_text "$T/api.png")" "$LINKURL"
check "links need admin" 403 - -H "$IH" -H 'Content-Type: application/json' -d '{"customer":"kh-1","touchpoint":"store"}' /v1/links
check "links need a key" 401 - -H 'Content-Type: application/json' -d '{"customer":"kh-1","touchpoint":"store"}' /v1/links
for bad in '{"touchpoint":"store"}|customer' '{"customer":"a","touchpoint":"nope"}|touchpoint' \
        '{"customer":"a","touchpoint":"store","metric":"goal"}|metric' '{"customer":"a","touchpoint":"store","lang":"de"}|lang' \
        '{"customer":"a","touchpoint":"store","expires_hours":9999}|expires_hours' \
        '{"customer":"a","touchpoint":"store","expires_hours":"2"}|expires_hours' '{"customer":5,"touchpoint":"store"}|customer' \
        '{"customer":"a\u0001","touchpoint":"store"}|customer'; do
        body=${bad%|*} want=${bad#*|}
        check "link refused: $body" 422 ".error.field == \"$want\"" -H "$AH" -H 'Content-Type: application/json' -d "$body" /v1/links
done
check "link body must be JSON" 400 - -H "$AH" -H 'Content-Type: application/json' -d '{' /v1/links

# ---- the survey page's calls -------------------------------------------------------------
check "open the link" 200 '.touchpoint.key == "store" and .metric == "nps" and .lang == "vi" and (.expires | test("Z$"))
        and (has("customer") | not)' "/v1/survey/$TOKEN"
# Tampering: change one character of the payload, cut the tag, or send garbage.
TAMPERED=$(printf '%s' "$TOKEN" | sed 's/^\(.\)\(.\)/\1X/')
[ "$TAMPERED" = "$TOKEN" ] && TAMPERED=$(printf '%s' "$TOKEN" | sed 's/^\(.\)\(.\)/\1Y/')
check "a tampered link" 403 '.error.code == "link_invalid"' "/v1/survey/$TAMPERED"
check "a cut link" 403 '.error.code == "link_invalid"' "/v1/survey/${TOKEN%??????}"
check "only the nonce" 403 '.error.code == "link_invalid"' "/v1/survey/$(printf '%.32s' "$TOKEN")"
check "garbage" 403 '.error.code == "link_invalid"' "/v1/survey/abc.def"
check "answer a tampered link" 403 '.error.code == "link_invalid"' -H 'Content-Type: application/json' -d '{"score":10}' "/v1/survey/$TAMPERED"
check "QR of a tampered link" 403 - "/v1/links/$TAMPERED/qr.png"
# A link of another store (another secret) is not a link here.
OTHER=$T/other.db
"$TP" journey apply --db "sqlite:$OTHER" "$T/j.json" 2>/dev/null
FOREIGN=$("$TP" link create --db "sqlite:$OTHER" --touchpoint store --customer kh-1 2>/dev/null)
check "a link of another store" 403 '.error.code == "link_invalid"' "/v1/survey/${FOREIGN##*/}"
# Bad answers are refused and do not use the link up.
check "score out of range" 422 '.error.field == "score"' -H 'Content-Type: application/json' -d '{"score":11}' "/v1/survey/$TOKEN"
check "score of the wrong type" 422 '.error.field == "score"' -H 'Content-Type: application/json' -d '{"score":"9"}' "/v1/survey/$TOKEN"
check "comment of the wrong type" 422 '.error.field == "comment"' -H 'Content-Type: application/json' -d '{"score":9,"comment":5}' "/v1/survey/$TOKEN"
check "still open after bad answers" 200 - "/v1/survey/$TOKEN"
# Two answers at once: exactly one is stored.
RACE=""
for i in 1 2; do
        curl -s -o "$T/race$i" -w '%{http_code}' --max-time 15 -H 'Content-Type: application/json' \
                -d "{\"score\":$((7 + i)),\"comment\":\"nhân viên nhiệt tình $i\"}" "$BASE/v1/survey/$TOKEN" >"$T/race$i.code" &
        RACE="$RACE $!"
done
# shellcheck disable=SC2086
wait $RACE
codes=$(cat "$T/race1.code" "$T/race2.code" | tr -d '\n' | fold -w3 | sort | tr '\n' ' ')
eq "two answers at once: one 200, one 410" "$codes" "200 410 "
check "the link is used" 410 '.error.code == "link_used"' "/v1/survey/$TOKEN"
check "a third answer" 410 '.error.code == "link_used"' -H 'Content-Type: application/json' -d '{"score":1}' "/v1/survey/$TOKEN"
check "stored once, as the customer's answer" 200 "(.responses | length) == 1 and .responses[0].id == \"link-$LINKID\"
        and .responses[0].customer == \"kh-1\" and .responses[0].touchpoint == \"store\" and .responses[0].channel == \"email\"
        and .responses[0].metric == \"nps\" and (.responses[0].score == 8 or .responses[0].score == 9)
        and .responses[0].language == \"vi\"" -H "$AH" "/v1/responses?customer=kh-1"
check "answer the CLI link" 200 '.accepted == 1' -H 'Content-Type: application/json' -d '{"score":2,"comment":""}' "/v1/survey/$CLITOKEN"
check "an empty comment is no comment" 200 '.responses[0].comment == null and .responses[0].score == 2' -H "$AH" "/v1/responses?customer=kh-7"
stop_server

# ---- expiry: the same server three days and an hour later ----------------------------------
start_server --test-link-clock $((73 * 3600)) || finish
check "make a link to expire" 201 - -H "$AH" -H 'Content-Type: application/json' \
        -d '{"customer":"kh-2","touchpoint":"store","expires_hours":1}' /v1/links
EXPIRED=$(jq -r .token "$T/body")
check "an expired link" 410 '.error.code == "link_expired"' "/v1/survey/$EXPIRED"
check "answering an expired link" 410 '.error.code == "link_expired"' -H 'Content-Type: application/json' -d '{"score":9}' "/v1/survey/$EXPIRED"
check "nothing stored for it" 200 '.responses == []' -H "$AH" "/v1/responses?customer=kh-2"
server_alive && ok "server still up" || bad "server still up" "it died"
stop_server
finish
