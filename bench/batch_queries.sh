#!/usr/bin/env bash
# Query cost of the batch size (issue 21): ingests CORPUS_DIR twice with BIN, in batches of
# 200,000 events (the old default) and 25,000 (the new), and times bench/store.sh's queries
# (`trailwatch sql`, best of 3, seconds: old new) before and after `compact`.
#
#   bench/batch_queries.sh BIN CORPUS_DIR
set -euo pipefail
bin=$1 corpus=$2
old=$(mktemp -d) new=$(mktemp -d)
trap 'rm -rf "$old" "$new"' EXIT
rm -rf "$old" "$new" # ingest makes the stores
"$bin" ingest "$corpus" --store "$old" --batch-events 200000 >/dev/null 2>&1
"$bin" ingest "$corpus" --store "$new" --batch-events 25000 >/dev/null 2>&1
echo "files: old $(find "$old" -name '*.parquet' | wc -l), new $(find "$new" -name '*.parquet' | wc -l)"
source "$(dirname "${BASH_SOURCE[0]}")/store_queries.sh"
run() {
    for q in "${queries[@]}"; do
        line=""
        for st in "$old" "$new"; do
            t=$( { for _ in 1 2 3; do /usr/bin/time -f "%e" "$bin" sql "$q" --store "$st" --format csv >/dev/null; done; } 2>&1 | sort -n | head -n 1)
            line="$line $t"
        done
        echo "$line | ${q:0:70}"
    done
}
run
for st in "$old" "$new"; do /usr/bin/time -f "compact %e s" "$bin" compact --store "$st" --now "$(date -u +%F)" 2>&1 | tail -1; done
echo "after compact: old $(find "$old" -name '*.parquet' | wc -l), new $(find "$new" -name '*.parquet' | wc -l)"
run
