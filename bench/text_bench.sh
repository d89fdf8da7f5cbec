#!/bin/sh
# text_bench.sh [BUILD_DIR] -- throughput of `touchpoint text classify` (sentiment +
# themes, one core): real comments from ../shared/data (UIT-VSFC dev, Vietnamese, and
# the airline tweets, English) repeated to N lines (default 200,000), language
# detected per comment.  Prints comments/s; not a timed test.  Use a release build:
#   make MODE=release && sh bench/text_bench.sh build/release
set -eu
BUILD=${1:-build/release}
N=${N:-200000}
root=$(cd "$(dirname "$0")/.." && pwd)
DATA=$(dirname "$root")/shared/data
TP=$BUILD/touchpoint
[ -x "$TP" ] || { echo "text_bench.sh: build $TP first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# tweets: the text column, one line each (embedded newlines flattened)
awk -v RS='\r?\n' 'NR > 1' "$DATA/tweets/tweets_dev.csv" |
        sed -n 's/^[0-9]*,[a-z]*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,[0-9]*,//p' >"$tmp/en.txt"
cat "$DATA/uit_vsfc/dev/sents.txt" "$tmp/en.txt" >"$tmp/one.txt"
: >"$tmp/in.txt"
while [ "$(wc -l <"$tmp/in.txt")" -lt "$N" ]; do cat "$tmp/one.txt" >>"$tmp/in.txt"; done
head -n "$N" "$tmp/in.txt" >"$tmp/bench.txt"
bytes=$(wc -c <"$tmp/bench.txt")
for mode in auto; do
        t0=$(date +%s.%N)
        pin=""
        command -v taskset >/dev/null 2>&1 && pin="taskset -c 0"
        $pin "$TP" text classify --lang "$mode" <"$tmp/bench.txt" >"$tmp/out.txt"
        t1=$(date +%s.%N)
        awk -v n="$N" -v b="$bytes" -v a="$t0" -v z="$t1" 'BEGIN {
                s = z - a
                printf "text classify (sentiment + themes, --lang auto): %d comments (%.0f bytes avg) in %.2f s = %.0f comments/s on one core\n", n, b / n, s, n / s
        }'
done
