#!/bin/sh
# train_models.sh [BUILD_DIR] -- retrain the shipped text models, models/vi.tpm and
# models/en.tpm, from the public data beside the clone (../shared/data) plus the
# hand-written seed phrases in models/seed_*.csv.  Deterministic: the same data and
# binary give the same files byte for byte (fixed seed, fixed order).  Then rebuild:
# the models are embedded into the binary at build time.
#
#   vi: UIT-VSFC train (11,426 sentences; dev is kept for the evaluation)
#   en: Twitter US Airline Sentiment, the 80% "train" part of a split on the hash of
#       tweet_id (the 20% "test" part is kept for the evaluation)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build/release}
TP=$BUILD/touchpoint
DATA=$(dirname "$root")/shared/data
cd "$root"
[ -x "$TP" ] || { echo "train_models.sh: build $TP first (make MODE=release)" >&2; exit 1; }
[ -d "$DATA/uit_vsfc/train" ] && [ -f "$DATA/tweets/tweets_dev.csv" ] || {
        echo "train_models.sh: $DATA/uit_vsfc and $DATA/tweets are needed" >&2
        exit 1
}
"$TP" text train --lang vi --seed 20240601 --extra models/seed_vi.csv -o models/vi.tpm.new "$DATA/uit_vsfc/train"
"$TP" text train --lang en --seed 20240601 --extra models/seed_en.csv \
        --text-col text --label-col airline_sentiment --split train --split-col tweet_id \
        -o models/en.tpm.new "$DATA/tweets/tweets_dev.csv"
mv models/vi.tpm.new models/vi.tpm
mv models/en.tpm.new models/en.tpm
ls -l models/vi.tpm models/en.tpm
