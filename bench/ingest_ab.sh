#!/usr/bin/env bash
# Ingest A/B (issue 21): runs two trailwatch binaries alternately on the same corpus, a fresh
# store each run, and prints ingest's rate, wall/user/sys time, peak RSS, peak live heap, files.
#
#   bench/ingest_ab.sh CORPUS_DIR BIN_A BIN_B [ROUNDS] [-- EXTRA INGEST ARGS]
#   e.g. bench/ingest_ab.sh ../bench-data/corpus/AWSLogs ./tw-main ./tw-branch 2 -- --batch-events 25000
set -euo pipefail
corpus=$1 a=$2 b=$3 rounds=${4:-2}
shift $(( $# < 4 ? $# : 4 ))
[ "${1:-}" = -- ] && shift
store=$(mktemp -d)
trap 'rm -rf "$store"' EXIT
for _ in $(seq "$rounds"); do
    for bin in "$a" "$b"; do
        rm -rf "$store"; sync; sleep 2
        out=$(TRAILWATCH_HEAP_STATS=1 /usr/bin/time -f "wall %e user %U sys %S rss_kb %M" \
            "$bin" ingest "$corpus" --store "$store" "$@" 2>&1)
        rate=$(grep -oE "[0-9]+ records/s" <<<"$out" | head -n 1)
        heap=$(grep -oE "peak live heap [0-9.]+ MB" <<<"$out" | head -n 1)
        times=$(grep -E "^wall" <<<"$out" | tail -n 1)
        files=$(find "$store" -name '*.parquet' | wc -l)
        echo "$(date +%T) load $(cut -d' ' -f1 /proc/loadavg) $bin | $rate | $times | $heap | files $files, $(du -sm "$store" | cut -f1) MB"
    done
done
