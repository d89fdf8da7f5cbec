#!/bin/sh
# zone.sh BUILD_DIR -- the organisation's time zone: `touchpoint zone` keeps it
# in the store; the server (after a restart, with or without its snapshot) and
# the CLI report begin days, weeks and months there, and read local dates in
# from/to in it.
BUILD=${1:-build/asan}
. "$(dirname "$0")/lib.sh"

tp_setup || { bad setup "tp_setup failed"; finish; }
expect "default zone" "$("$TP" zone --db "sqlite:$DB" 2>&1)" test "$("$TP" zone --db "sqlite:$DB")" = "+07:00"
start_server || finish
# 2024-06-09T23:30Z is Sunday in UTC and Monday 06:30 in UTC+7.
check "answers" 200 '.accepted == 2' -H "$IH" -H 'Content-Type: application/x-ndjson' --data-binary "
{\"id\":\"z1\",\"customer\":\"c1\",\"touchpoint\":\"$TP1\",\"metric\":\"nps\",\"score\":10,\"time\":\"2024-06-09T23:30:00Z\"}
{\"id\":\"z2\",\"customer\":\"c2\",\"touchpoint\":\"$TP1\",\"metric\":\"nps\",\"score\":0,\"time\":\"2024-06-09T12:00:00Z\"}" /v1/responses
check "weeks from Monday UTC+7" 200 '.tz_offset == 25200 and ([.rows[] | [.bucket, .nps.n]] == [["2024-06-03", 1], ["2024-06-10", 1]])' \
        -H "$AH" "/v1/reports/scores?metric=nps&bucket=week"
check "a local date is UTC+7 midnight" 200 '.rows[0].nps.n == 1 and .rows[0].nps.promoters == 1' \
        -H "$AH" "/v1/reports/scores?metric=nps&from=2024-06-10"
stop_server
expect "set UTC" "$("$TP" zone --db "sqlite:$DB" UTC 2>&1)" test "$("$TP" zone --db "sqlite:$DB")" = "+00:00"
rc=0
"$TP" zone --db "sqlite:$DB" +15:00 >"$T/bad.out" 2>&1 || rc=$?
expect "an offset past +14:00 is refused" "exit $rc: $(cat "$T/bad.out")" sh -c "[ $rc -eq 2 ] && grep -q 'not a UTC offset' '$T/bad.out'"
expect "the refused offset changed nothing" "$("$TP" zone --db "sqlite:$DB")" test "$("$TP" zone --db "sqlite:$DB")" = "+00:00"
# The restart loads the snapshot written at the stop; its rollups are rebuilt in the new zone.
start_server || finish
expect "the server says its zone" "$(cat "$SERR")" grep -q 'zone UTC+00:00' "$SERR"
check "weeks from Monday UTC" 200 '.tz_offset == 0 and ([.rows[] | [.bucket, .nps.n]] == [["2024-06-03", 2]])' \
        -H "$AH" "/v1/reports/scores?metric=nps&bucket=week"
check "days in UTC" 200 '[.rows[] | .bucket] == ["2024-06-09"]' -H "$AH" "/v1/reports/scores?metric=nps&bucket=day"
check "a local date is UTC midnight" 200 '.rows == []' -H "$AH" "/v1/reports/scores?metric=nps&from=2024-06-10"
check "listing dates in the zone too" 200 '(.responses | length) == 2' -H "$AH" "/v1/responses?from=2024-06-09&to=2024-06-10"
stop_server
"$TP" report scores --db "sqlite:$DB" --metric nps --bucket week --format csv >"$T/cli.csv" 2>"$T/cli.err"
expect "the CLI report uses the store's zone" "$(cat "$T/cli.csv" "$T/cli.err")" grep -q '^2024-06-03,.*,2,' "$T/cli.csv"
"$TP" zone --db "sqlite:$DB" +07:00 >/dev/null
"$TP" report scores --db "sqlite:$DB" --metric nps --bucket week --format csv >"$T/cli2.csv" 2>&1
expect "and follows a change" "$(cat "$T/cli2.csv")" grep -q '^2024-06-10,' "$T/cli2.csv"
finish
