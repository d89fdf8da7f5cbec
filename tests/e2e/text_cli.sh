#!/bin/sh
# text_cli.sh BUILD_DIR -- `touchpoint text`: classify on stdin (Vietnamese with and
# without diacritics, English), the shipped models evaluated against the public data
# beside the clone (../shared/data: UIT-VSFC dev, the 20% test part of the airline
# tweets) with the bars of issue #4, a train + eval round trip, corrupt models, and the
# theme taxonomy.
set -u
BUILD=${1:-build/asan}
. tests/e2e/lib.sh

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA=$(dirname "$ROOT")/shared/data
UIT=$DATA/uit_vsfc
TWEETS=$DATA/tweets/tweets_dev.csv
if [ ! -d "$UIT/train" ] || [ ! -d "$UIT/dev" ] || [ ! -f "$TWEETS" ]; then
        bad "data" "the public data sets are missing: expected $UIT/{train,dev} and $TWEETS (shared/ beside the clone)"
        finish
fi
TW="--text-col text --label-col airline_sentiment --split-col tweet_id"
# ge NAME GOT MIN: a decimal at least MIN
ge() {
        if awk -v g="$2" -v m="$3" 'BEGIN { exit !(g != "" && g + 0 >= m + 0) }'; then ok "$1 ($2 >= $3)"; else bad "$1" "got '$2', want >= $3"; fi
}

# ---- classify ------------------------------------------------------------------
printf '%s\n' "Giao hàng chậm quá, nhân viên thái độ kém" "giao hang cham qua, nhan vien thai do kem" \
        "Nhân viên rất nhiệt tình, giao hàng nhanh" "" "Great crew and a smooth flight, thank you!" \
        "Flight delayed 3 hours and they lost my bag" "not bad at all" "không tốt" >"$T/in.txt"
"$TP" text classify <"$T/in.txt" >"$T/out.txt" 2>"$T/err.txt"
eq "classify exits 0" "$?" 0
eq "one line out per line in" "$(wc -l <"$T/out.txt" | tr -d ' ')" 8
line() { sed -n "${1}p" "$T/out.txt"; }
col() { line "$1" | cut -f "$2"; }
eq "vi negative" "$(col 1 1)" negative
eq "vi themes" "$(col 1 3)" delivery,staff
eq "vi without diacritics: same label" "$(col 2 1)" negative
eq "vi without diacritics: same themes" "$(col 2 3)" delivery,staff
eq "vi positive" "$(col 3 1)" positive
eq "empty line: neutral, confidence 1" "$(line 4)" "$(printf 'neutral\t1.000\t')"
eq "en positive" "$(col 5 1)" positive
eq "en negative" "$(col 6 1)" negative
eq "en themes" "$(col 6 3)" delivery,damage
one_of "not bad is not negative" "$(col 7 1)" neutral positive
eq "không tốt is negative" "$(col 8 1)" negative
c=$(col 1 2)
ge "confidence is a probability" "$c" 0.34
eq "--lang en forces the model" "$(echo 'giao hàng chậm' | "$TP" text classify --lang en | cut -f 1 | wc -l | tr -d ' ')" 1

printf 'ok line\nbad \377 byte\nlast line\n' | "$TP" text classify >"$T/o2" 2>"$T/e2"
eq "invalid UTF-8: exit 1" "$?" 1
expect "invalid UTF-8: message names the line" "grep failed" grep -q "line 2: text is not valid UTF-8" "$T/e2"
eq "invalid UTF-8: the other lines still classified" "$(cut -f 1 "$T/o2" | tr '\n' ' ')" "$(printf '%s ' "$(sed -n 1p "$T/o2" | cut -f 1)" error "$(sed -n 3p "$T/o2" | cut -f 1)")"
echo x | "$TP" text classify --lang fr >/dev/null 2>&1
eq "unknown --lang: usage error" "$?" 2

# ---- the shipped models meet the bars ------------------------------------------------
"$TP" text eval --lang vi "$UIT/dev" >"$T/ev_vi" 2>&1
eq "eval vi exits 0" "$?" 0
wf=$(awk '$1 == "weighted_f1" { print $2 }' "$T/ev_vi")
nf=$(awk '$1 == "f1_neutral" { print $2 }' "$T/ev_vi")
echo "     shipped vi on UIT-VSFC dev: weighted F1 $wf, neutral F1 $nf"
ge "shipped vi: weighted F1 on UIT-VSFC dev" "$wf" 0.88
# negativereason -> our theme, for the theme report (printed; no bar)
# shellcheck disable=SC2086
"$TP" text eval --lang en $TW --split test --theme-col negativereason \
        --map "Customer Service Issue=support" --map "Late Flight=delivery" --map "Cancelled Flight=cancellation" \
        --map "Lost Luggage=damage" --map "Damaged Luggage=damage" --map "Bad Flight=quality" \
        --map "Flight Booking Problems=booking" --map "Flight Attendant Complaints=staff" --map "longlines=delivery" \
        "$TWEETS" >"$T/ev_en" 2>&1
eq "eval en exits 0" "$?" 0
acc=$(awk '$1 == "accuracy" { print $2 }' "$T/ev_en")
echo "     shipped en on the tweets' 20% test part: accuracy $acc"
ge "shipped en: accuracy on the tweets' test part" "$acc" 0.79
expect "theme report printed" "grep failed" grep -q "^theme_delivery precision" "$T/ev_en"
sed -n '/^themes against/,/^theme_/p' "$T/ev_en" | grep -v '^theme_' | sed 's/^/     /'

# ---- train + eval round trip -----------------------------------------------------------
start=$(date +%s)
"$TP" text train --lang vi -o "$T/vi.tpm" "$UIT/train" 2>"$T/tr_vi"
eq "train vi exits 0" "$?" 0
wf=$("$TP" text eval --lang vi --model "$T/vi.tpm" "$UIT/dev" | awk '$1 == "weighted_f1" { print $2 }')
ge "trained vi: weighted F1 on UIT-VSFC dev" "$wf" 0.88
# shellcheck disable=SC2086
"$TP" text train --lang en $TW --split train -o "$T/en.tpm" "$TWEETS" 2>"$T/tr_en"
eq "train en exits 0" "$?" 0
# shellcheck disable=SC2086
acc=$("$TP" text eval --lang en --model "$T/en.tpm" $TW --split test "$TWEETS" | awk '$1 == "accuracy" { print $2 }')
ge "trained en: accuracy on the tweets' test part" "$acc" 0.79
echo "     train + eval took $(($(date +%s) - start)) s"
"$TP" text train --lang vi -o "$T/vi2.tpm" "$UIT/train" 2>/dev/null
expect "training is deterministic" "cmp failed" cmp -s "$T/vi.tpm" "$T/vi2.tpm"
sz=$(wc -c <"$T/vi.tpm" | tr -d ' ')
within "model size (bytes)" "$sz" 1000 1500000
eq "classify with a trained model" "$(echo 'rất tốt' | "$TP" text classify --model-vi "$T/vi.tpm" | cut -f 1)" positive

# ---- corrupt models ----------------------------------------------------------------------
cp "$T/vi.tpm" "$T/flip.tpm"
printf '\377' | dd of="$T/flip.tpm" bs=1 seek=4000 conv=notrunc 2>/dev/null
echo "tốt" | "$TP" text classify --model-vi "$T/flip.tpm" >/dev/null 2>"$T/e3"
eq "flipped byte: exit 1" "$?" 1
expect "flipped byte: clear message" "grep failed" grep -q "checksum mismatch" "$T/e3"
head -c 1000 "$T/vi.tpm" >"$T/short.tpm"
echo "tốt" | "$TP" text classify --model-vi "$T/short.tpm" >/dev/null 2>"$T/e4"
eq "truncated: exit 1" "$?" 1
expect "truncated: clear message" "grep failed" grep -q "truncated" "$T/e4"
echo "not a model" >"$T/junk.tpm"
"$TP" text eval --lang vi --model "$T/junk.tpm" "$UIT/dev" >/dev/null 2>"$T/e5"
eq "junk file: exit 1" "$?" 1
expect "junk file: clear message" "grep failed" grep -q "not a text model" "$T/e5"
echo "tốt" | "$TP" text classify --model-en "$T/vi.tpm" >/dev/null 2>"$T/e6"
eq "vi model as en: exit 1" "$?" 1
expect "vi model as en: clear message" "grep failed" grep -q "expected 'en'" "$T/e6"

# ---- themes ---------------------------------------------------------------------------------
"$TP" text themes >"$T/th.txt"
eq "themes exits 0" "$?" 0
expect "themes table lists delivery" "grep failed" grep -q "delivery .*Delivery and waiting .*Giao hàng và chờ đợi" "$T/th.txt"
n=$("$TP" text themes --format json | jq 'length')
within "themes count" "$n" 10 64
eq "themes json first key" "$("$TP" text themes --format json | jq -r '.[0].key')" delivery
cat >"$T/my.json" <<'JSON'
{"themes": [{"key": "parking", "name": {"vi": "Bãi xe", "en": "Parking"},
             "terms": {"vi": ["bãi xe", "gửi xe"], "en": ["parking"]}}]}
JSON
eq "--themes FILE overrides" "$(echo 'bai xe chat qua' | "$TP" text classify --themes "$T/my.json" | cut -f 3)" parking
echo '{"themes": 3}' >"$T/bad.json"
"$TP" text themes --themes "$T/bad.json" >/dev/null 2>"$T/e7"
eq "bad taxonomy: exit 1" "$?" 1
expect "bad taxonomy: clear message" "grep failed" grep -q "must be an array" "$T/e7"
"$TP" text nonsense >/dev/null 2>&1
eq "unknown subcommand: exit 2" "$?" 2
"$TP" text --help >/dev/null
eq "text --help: exit 0" "$?" 0

finish
