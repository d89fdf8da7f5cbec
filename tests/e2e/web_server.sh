#!/bin/sh
# web_server.sh BUILD_DIR -- the server side of the dashboard and the widget:
# dashboard files and their security headers, sign-in sessions (HttpOnly
# cookie, CSRF token, sign-out, revocation), CORS per key origin, the public
# touchpoint lookup and the response listing with its filters.
BUILD=${1:-build/asan}
. "$(dirname "$0")/lib.sh"

tp_setup || { bad setup "tp_setup failed"; finish; }
SITE=http://127.0.0.1:9
WIDGET=$("$TP" key create --db "sqlite:$DB" --scope ingest --name widget --origin "$SITE") || bad setup "key --origin"
WH="Authorization: Bearer $WIDGET"
check_cli() { # NAME WANT_STATUS COMMAND...
        _n=$1 _w=$2
        shift 2
        "$@" >"$T/cli.out" 2>"$T/cli.err"
        eq "$_n" "$?" "$_w"
}
check_cli "key create refuses a bad origin" 1 "$TP" key create --db "sqlite:$DB" --scope ingest --origin "ftp://x"
expect "the bad origin is named" "stderr: $(cat "$T/cli.err")" grep -q "ftp://x" "$T/cli.err"
"$TP" key list --db "sqlite:$DB" >"$T/keys"
expect "key list shows the origin" "$(cat "$T/keys")" grep -q "widget.*$SITE" "$T/keys"

# A web root as the build makes it.
W=$T/web
mkdir -p "$W/assets/js"
echo '<!doctype html><title>dash</title>' >"$W/index.html"
echo '<!doctype html><title>kiosk</title>' >"$W/kiosk.html"
echo '<!doctype html><title>survey</title>' >"$W/survey.html"
echo 'console.log(1)' >"$W/widget.js"
echo 'export const x = 1;' >"$W/assets/js/app.js"
echo 'body{}' >"$W/assets/app.css"
echo 'secret' >"$T/outside.txt"
ln -s "$T/outside.txt" "$W/assets/link.txt"
mkdir -p "$T/outdir" && echo 'secret' >"$T/outdir/s.txt"
ln -s "$T/outdir" "$W/assets/dir"

start_server --web "$W" || finish

# ---- files -------------------------------------------------------------------
check "index" 200 - /
expect "index is html" "$(cat "$T/hdr")" grep -qi '^content-type: text/html; charset=utf-8' "$T/hdr"
expect "CSP without inline script" "$(cat "$T/hdr")" grep -qi "^content-security-policy: default-src 'self'; script-src 'self';" "$T/hdr"
expect "frame-ancestors none" "$(cat "$T/hdr")" grep -qi "frame-ancestors 'none'" "$T/hdr"
expect "X-Frame-Options DENY" "$(cat "$T/hdr")" grep -qi '^x-frame-options: DENY' "$T/hdr"
expect "nosniff" "$(cat "$T/hdr")" grep -qi '^x-content-type-options: nosniff' "$T/hdr"
expect "no referrer" "$(cat "$T/hdr")" grep -qi '^referrer-policy: no-referrer' "$T/hdr"
expect "index body" "$(cat "$T/body")" grep -q '<title>dash' "$T/body"
check "kiosk page for any touchpoint" 200 - /kiosk/store
expect "kiosk body" "$(cat "$T/body")" grep -q '<title>kiosk' "$T/body"
check "survey page for any token" 200 - /s/abc.def
expect "survey body" "$(cat "$T/body")" grep -q '<title>survey' "$T/body"
check "widget" 200 - /widget.js
expect "widget is javascript" "$(cat "$T/hdr")" grep -qi '^content-type: text/javascript' "$T/hdr"
check "nested asset" 200 - /assets/js/app.js
check "css" 200 - /assets/app.css
expect "css type" "$(cat "$T/hdr")" grep -qi '^content-type: text/css' "$T/hdr"
check "HEAD of a page" 200 - -I /
check "missing asset" 404 - /assets/nope.js
check "traversal" 404 - --path-as-is /assets/../../outside.txt
check "encoded traversal" 404 - --path-as-is /assets/%2e%2e/%2e%2e/outside.txt
check "hidden file" 404 - /assets/.env
check "symlink out of the root" 404 - /assets/link.txt
check "symlinked directory out of the root" 404 - /assets/dir/s.txt
check "kiosk subpath" 404 - /kiosk/a/b
check "unknown page" 404 - /admin
check "POST to a page" 404 - -X POST -d x /
check "API errors carry the headers too" 401 - /v1/touchpoints
expect "API CSP" "$(cat "$T/hdr")" grep -qi "^content-security-policy: " "$T/hdr"

# ---- sign-in ------------------------------------------------------------------
# (lib.sh takes arguments starting with "/" as paths, so the cookie goes by value.)
cookie_of() { sed -n 's/^[Ss]et-[Cc]ookie: \(tp_session=[^;]*\);.*/\1/p' "$T/hdr" | tr -d '\r'; }
check "sign in" 200 '.scope == "admin" and (.csrf_token | length) == 43 and (.expires | test("Z$"))' \
        -H 'Content-Type: application/json' -d "{\"key\":\"$ADMIN\"}" /v1/session
CSRF=$(jq -r .csrf_token "$T/body")
JAR=$(cookie_of)
expect "cookie is HttpOnly, SameSite=Strict, Path=/" "$(grep -i set-cookie "$T/hdr")" \
        grep -qiE '^set-cookie: tp_session=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200' "$T/hdr"
expect "the key is not in the cookie" "$JAR" sh -c "! echo '$JAR' | grep -q '$ADMIN'"
check "session read back" 200 ".csrf_token == \"$CSRF\"" -b "$JAR" /v1/session
check "the cookie reads reports" 200 '.touchpoints | length > 0' -b "$JAR" /v1/touchpoints
check "an ingest key cannot sign in" 403 '.error.field == "key"' -H 'Content-Type: application/json' \
        -d "{\"key\":\"$INGEST\"}" /v1/session
check "a bad key cannot sign in" 401 - -H 'Content-Type: application/json' -d '{"key":"tpk_000000000000_x"}' /v1/session
check "sign in needs a key field" 400 '.error.field == "key"' -H 'Content-Type: application/json' -d '{"k":1}' /v1/session
check "sign in from another site" 403 '.error.code == "cross_origin"' -H "Origin: http://evil.example" \
        -H 'Content-Type: application/json' -d "{\"key\":\"$ADMIN\"}" /v1/session
check "forged cookie" 401 - -b "tp_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" /v1/touchpoints
check "a key is not a session" 401 - -H "$AH" /v1/session
check "a change without the CSRF token" 403 '.error.code == "csrf" and .error.field == "X-CSRF-Token"' \
        -b "$JAR" -X PUT -H 'Content-Type: application/json' -d @"$T/j.json" /v1/journeys/retail-vn
check "a change with a wrong CSRF token" 403 '.error.code == "csrf"' -b "$JAR" -X PUT \
        -H "X-CSRF-Token: $(printf 'x%.0s' $(seq 43))" -H 'Content-Type: application/json' -d @"$T/j.json" /v1/journeys/retail-vn
check "a change with the CSRF token" 200 - -b "$JAR" -X PUT -H "X-CSRF-Token: $CSRF" \
        -H 'Content-Type: application/json' -d @"$T/j.json" /v1/journeys/retail-vn
check "a signed-in read from another site" 403 '.error.code == "cross_origin"' -b "$JAR" \
        -H "Origin: http://evil.example" /v1/touchpoints
check "a same-origin read with Origin" 200 - -b "$JAR" -H "Origin: http://127.0.0.1:$PORT" /v1/touchpoints
check "sign out needs the CSRF token" 403 - -b "$JAR" -X DELETE /v1/session
check "sign out" 204 - -b "$JAR" -X DELETE -H "X-CSRF-Token: $CSRF" /v1/session
expect "sign out clears the cookie" "$(grep -i set-cookie "$T/hdr")" grep -qi '^set-cookie: tp_session=; .*Max-Age=0' "$T/hdr"
check "signed out" 401 - -b "$JAR" /v1/touchpoints
# A session dies with its key (revoked from the CLI: within the 1 s cache).
OPS=$("$TP" key create --db "sqlite:$DB" --scope admin --name temp)
check "sign in with a second key" 200 - -H 'Content-Type: application/json' -d "{\"key\":\"$OPS\"}" /v1/session
JAR2=$(cookie_of)
check "its session works" 200 - -b "$JAR2" /v1/touchpoints
"$TP" key revoke --db "sqlite:$DB" "$OPS" 2>/dev/null
sleep 1.2
check "revoking the key ends the session" 401 - -b "$JAR2" /v1/touchpoints

# ---- CORS -----------------------------------------------------------------------
check "preflight from a key's origin" 204 - -X OPTIONS -H "Origin: $SITE" -H "Access-Control-Request-Method: POST" \
        -H "Access-Control-Request-Headers: authorization, content-type" /v1/responses
expect "preflight allows the origin" "$(cat "$T/hdr")" grep -qi "^access-control-allow-origin: $SITE" "$T/hdr"
expect "preflight allows the headers" "$(cat "$T/hdr")" grep -qi '^access-control-allow-headers: Authorization, Content-Type' "$T/hdr"
check "preflight from another origin" 403 - -X OPTIONS -H "Origin: http://evil.example" /v1/responses
expect "no CORS headers for it" "$(cat "$T/hdr")" sh -c "! grep -qi '^access-control' '$T/hdr'"
check "preflight on an admin route" 405 - -X OPTIONS -H "Origin: $SITE" /v1/touchpoints
check "widget post from its origin" 200 '.accepted == 1' -H "$WH" -H "Origin: $SITE" -H 'Content-Type: application/json' \
        -d '{"id":"w-1","touchpoint":"website","metric":"nps","score":10,"comment":"<script>alert(1)</script>"}' /v1/responses
expect "the reply allows the origin" "$(cat "$T/hdr")" grep -qi "^access-control-allow-origin: $SITE" "$T/hdr"
check "widget errors are readable too" 422 '.rejected[0].field == "score"' -H "$WH" -H "Origin: $SITE" \
        -H 'Content-Type: application/json' -d '{"id":"w-2","touchpoint":"website","metric":"nps","score":11}' /v1/responses
expect "the error allows the origin" "$(cat "$T/hdr")" grep -qi "^access-control-allow-origin: $SITE" "$T/hdr"
check "the same key from another origin" 403 '.error.code == "origin_not_allowed" and .error.field == "Origin"' \
        -H "$WH" -H "Origin: http://evil.example" -H 'Content-Type: application/json' \
        -d '{"id":"w-3","touchpoint":"website","metric":"nps","score":1}' /v1/responses
expect "no CORS headers on the refusal" "$(cat "$T/hdr")" sh -c "! grep -qi '^access-control' '$T/hdr'"
check "a key without origins from a browser" 403 '.error.code == "origin_not_allowed"' -H "$IH" -H "Origin: $SITE" \
        -H 'Content-Type: application/json' -d '{"id":"w-4","touchpoint":"website","metric":"nps","score":1}' /v1/responses
check "a same-origin page (the kiosk) needs no origin list" 200 '.accepted == 1' -H "$IH" -H "Origin: http://127.0.0.1:$PORT" \
        -H 'Content-Type: application/json' -d '{"id":"k-1","touchpoint":"store","metric":"csat","score":5}' /v1/responses
check "nothing refused was stored" 200 '[.responses[].id] == ["k-1", "w-1"]' -H "$AH" /v1/responses

# ---- public touchpoint lookup ------------------------------------------------------
check "touchpoint for an ingest key" 200 '.key == "store" and .name_vi != null and .name_en != null
        and .stage == "during" and (has("department") | not) and (has("expected") | not)' -H "$IH" /v1/touchpoints/store
check "unknown touchpoint" 404 '.error.code == "unknown_touchpoint"' -H "$IH" /v1/touchpoints/nope
check "touchpoint needs a key" 401 - /v1/touchpoints/store

# ---- response listing ----------------------------------------------------------------
check "more responses" 200 '.accepted == 4' -H "$IH" -H 'Content-Type: application/x-ndjson' --data-binary '
{"id":"r-1","customer":"c1","touchpoint":"website","metric":"nps","score":3,"comment":"chậm","time":"2024-05-01T10:00:00Z"}
{"id":"r-2","customer":"c2","touchpoint":"website","metric":"nps","score":9,"time":"2024-05-02T10:00:00Z"}
{"id":"r-3","customer":"c1","touchpoint":"invoice","metric":"csat","score":2,"comment":"sai hoá đơn","time":"2024-05-03T10:00:00Z"}
{"id":"r-4","customer":"c3","touchpoint":"website","metric":"ces","score":6,"comment":"","time":"2024-05-04T10:00:00Z"}' /v1/responses
check "newest first, with the response fields" 200 '.responses[0].id == "r-4" and (.responses | length) == 6
        and .next_cursor == null and .responses[3].customer == "c1" and .responses[3].time == "2024-05-01T10:00:00Z"
        and (.responses[0] | has("sentiment") and has("themes"))' -H "$AH" /v1/responses
check "by touchpoint" 200 '[.responses[].id] == ["r-4", "r-2", "r-1", "w-1"]' -H "$AH" "/v1/responses?touchpoint=website"
check "by metric and score" 200 '[.responses[].id] == ["r-1"]' -H "$AH" "/v1/responses?metric=nps&max_score=6"
check "by minimum score" 200 '[.responses[].id] == ["r-2", "w-1"]' -H "$AH" "/v1/responses?metric=nps&min_score=9"
check "with a comment" 200 '[.responses[].id] == ["r-3", "r-1", "w-1"]' -H "$AH" "/v1/responses?has_comment=1"
check "by customer" 200 '[.responses[].id] == ["r-3", "r-1"]' -H "$AH" "/v1/responses?customer=c1"
check "by time" 200 '[.responses[].id] == ["r-3", "r-2"]' -H "$AH" "/v1/responses?from=2024-05-02T00:00:00Z&to=2024-05-04T00:00:00Z"
check "page 1" 200 '[.responses[].id] == ["r-4", "r-3"] and .next_cursor != null' -H "$AH" "/v1/responses?limit=2"
NEXT=$(jq -r .next_cursor "$T/body")
check "page 2" 200 '[.responses[].id] == ["r-2", "r-1"]' -H "$AH" "/v1/responses?limit=2&cursor=$NEXT"
check "the comment comes back as text" 200 '[.responses[] | select(.id == "w-1") | .comment] == ["<script>alert(1)</script>"]' -H "$AH" "/v1/responses?touchpoint=website"
for bad in "touchpoint=nope touchpoint" "metric=stars metric" "min_score=11 min_score" "max_score=x max_score" \
        "sentiment=angry sentiment" "theme=A%20B theme" "has_comment=maybe has_comment" "limit=0 limit" \
        "limit=501 limit" "cursor=-1 cursor" "from=yesterday from"; do
        q=${bad% *} f=${bad#* }
        check "bad $q" 400 ".error.field == \"$f\"" -H "$AH" "/v1/responses?$q"
done
check "listing needs admin" 403 - -H "$IH" /v1/responses

server_alive && ok "server still up" || bad "server still up" "it died"
stop_server
finish
