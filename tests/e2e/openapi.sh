#!/bin/sh
# openapi.sh BUILD_DIR -- docs/openapi.json against the routes the server serves.
#
#   sh tests/e2e/openapi.sh build/asan        (VERBOSE=1 also prints the passes)
#
# Checks: the document is JSON and its "openapi" field starts with 3; every
# "METHOD PATH" of `$BUILD_DIR/touchpoint routes` (":name" read as "{name}") is
# an operation of the document and every operation of the document is a served
# route; every operation has an operationId (unique) and at least one 2xx
# response; every "$ref" is local ("#/...") and resolves inside the document.
# Needs jq only; starts no server.  Last line: "N passed, N failed"; exit 1 on
# any failure.
set -u

BUILD=${1:-}
pass=0
fail=0

ok() {
        pass=$((pass + 1))
        [ -n "${VERBOSE:-}" ] && echo "ok   $1"
        return 0
}

bad() {
        fail=$((fail + 1))
        echo "FAIL $1: $2"
        return 0
}

finish() {
        echo "$pass passed, $fail failed"
        [ "$fail" -eq 0 ] && exit 0
        exit 1
}

if [ -z "$BUILD" ]; then
        echo "usage: sh tests/e2e/openapi.sh BUILD_DIR" >&2
        bad usage "no BUILD_DIR given"
        finish
fi
command -v jq >/dev/null 2>&1 || {
        bad jq "jq is needed"
        finish
}

# The repository root: two levels above this script, else the current directory.
ROOT=$(cd "$(dirname "$0")/../.." 2>/dev/null && pwd)
[ -n "$ROOT" ] && [ -f "$ROOT/docs/openapi.json" ] || ROOT=$(pwd)
DOC=$ROOT/docs/openapi.json
TP=$BUILD/touchpoint
case $TP in /*) ;; *) [ -x "$TP" ] || TP=$ROOT/$TP ;; esac

T=$(mktemp -d "${TMPDIR:-/tmp}/tp-openapi.XXXXXX") || {
        bad mktemp "cannot create a temporary directory"
        finish
}
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM HUP

# ---- the document ----------------------------------------------------------

if [ ! -f "$DOC" ]; then
        bad doc_exists "$DOC does not exist"
        finish
fi
ok doc_exists
if ! jq -e 'type == "object"' "$DOC" >/dev/null 2>"$T/jq.err"; then
        bad doc_json "$DOC is not a JSON object: $(head -c 300 "$T/jq.err")"
        finish
fi
ok doc_json

version=$(jq -r '.openapi | if type == "string" then . else "(not a string)" end' "$DOC")
case $version in
3*) ok openapi_version ;;
*) bad openapi_version "the \"openapi\" field is '$version', want 3.x" ;;
esac

# "METHOD PATH" of every operation (path items may also hold parameters,
# summary, description, servers: only HTTP methods are operations).
METHODS='^(get|put|post|delete|options|head|patch|trace)$'
jq -r --arg m "$METHODS" '
        (.paths // {}) | to_entries[] | .key as $p
        | (.value | objects | to_entries[]) | select(.key | test($m))
        | "\(.key | ascii_upcase) \($p)"' "$DOC" 2>"$T/jq.err" | sort -u >"$T/doc"
if [ -s "$T/doc" ]; then
        ok doc_has_operations
else
        bad doc_has_operations "no operations under .paths"
fi

# ---- the served routes -----------------------------------------------------

if [ ! -x "$TP" ]; then
        bad routes_run "$BUILD/touchpoint is not built"
        : >"$T/served"
elif ! "$TP" routes >"$T/routes.raw" 2>"$T/routes.err"; then
        bad routes_run "'$TP routes' failed: $(head -c 300 "$T/routes.err")"
        : >"$T/served"
else
        # ":name" captures one segment; OpenAPI writes it "{name}".
        sed -n 's/^\([A-Za-z][A-Za-z]*\)  *\(\/[^ ]*\) *$/\1 \2/p' "$T/routes.raw" |
                sed 's/:\([A-Za-z_][A-Za-z0-9_]*\)/{\1}/g' |
                awk '{ print toupper($1), $2 }' | sort -u >"$T/served"
        if [ -s "$T/served" ]; then
                ok routes_run
        else
                bad routes_run "'$TP routes' printed no \"METHOD PATH\" line"
        fi
        # Every line must have parsed: a line we cannot read is a route we skip.
        n_raw=$(grep -c . "$T/routes.raw")
        n_ok=$(wc -l <"$T/served" | tr -d ' ')
        if [ "$n_raw" -eq "$n_ok" ]; then
                ok routes_parsed
        else
                bad routes_parsed "$n_raw lines from 'touchpoint routes', $n_ok read as \"METHOD PATH\" (duplicates?)"
        fi
fi

# ---- both ways -------------------------------------------------------------

while IFS= read -r route; do
        if grep -Fxq -- "$route" "$T/doc"; then
                ok "documented: $route"
        else
                bad "documented: $route" "served by the server but missing from docs/openapi.json"
        fi
done <"$T/served"

while IFS= read -r op; do
        if grep -Fxq -- "$op" "$T/served"; then
                ok "served: $op"
        else
                bad "served: $op" "in docs/openapi.json but not served (touchpoint routes)"
        fi
done <"$T/doc"

# ---- every operation: an operationId and a 2xx response --------------------

jq -r --arg m "$METHODS" '
        (.paths // {}) | to_entries[] | .key as $p
        | (.value | objects | to_entries[]) | select(.key | test($m))
        | [ "\(.key | ascii_upcase) \($p)",
            (if (.value.operationId | type) == "string" and .value.operationId != ""
             then .value.operationId else "-" end),
            (if ((.value.responses // {}) | objects | keys | map(select(test("^2([0-9][0-9]|XX)$"))) | length) > 0
             then "yes" else "no" end) ]
        | join("\t")' "$DOC" >"$T/ops"

TAB=$(printf '\t')
while IFS="$TAB" read -r op opid has2xx; do
        if [ "$opid" != "-" ]; then
                ok "operationId: $op"
        else
                bad "operationId: $op" "the operation has no operationId"
        fi
        if [ "$has2xx" = yes ]; then
                ok "2xx: $op"
        else
                bad "2xx: $op" "the operation documents no 2xx response"
        fi
done <"$T/ops"

dups=$(cut -f2 "$T/ops" | grep -v '^-$' | sort | uniq -d | tr '\n' ' ')
if [ -z "$dups" ]; then
        ok operationId_unique
else
        bad operationId_unique "used by more than one operation: $dups"
fi

# ---- every $ref resolves ---------------------------------------------------

# One line per distinct $ref: "yes REF" when it resolves, "no REF" otherwise.
# A local ref is "#" + a JSON pointer (RFC 6901: ~1 is "/", ~0 is "~"), with the
# percent-escapes a URI fragment may use for braces, spaces and "%".
jq -r '
        def unescape: gsub("%7[Bb]"; "{") | gsub("%7[Dd]"; "}") | gsub("%20"; " ")
                      | gsub("~1"; "/") | gsub("~0"; "~") | gsub("%25"; "%");
        . as $doc
        | [.. | objects | select(has("$ref")) | .["$ref"]] | unique[]
        | . as $ref
        | if (type == "string") and startswith("#/") then
                (ltrimstr("#/") | split("/") | map(unescape)) as $path
                | (try ($doc | getpath($path) | . != null) catch false) as $found
                | "\(if $found then "yes" else "no" end) \($ref)"
          elif $ref == "#" then "yes #"
          else "no \($ref | tostring)"
          end' "$DOC" >"$T/refs" 2>"$T/jq.err"

if [ ! -s "$T/refs" ]; then
        bad refs_found "no \$ref in the document (or jq failed: $(head -c 200 "$T/jq.err"))"
fi
while read -r found ref; do
        if [ "$found" = yes ]; then
                ok "\$ref $ref"
        else
                bad "\$ref $ref" "does not resolve inside docs/openapi.json"
        fi
done <"$T/refs"

finish
