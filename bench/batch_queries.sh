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
"$bin" ingest "$corpus" --store $old --batch-events 200000 >/dev/null 2>&1
"$bin" ingest "$corpus" --store $new --batch-events 25000 >/dev/null 2>&1
echo "files: old $(find $old -name '*.parquet' | wc -l), new $(find $new -name '*.parquet' | wc -l)"
queries=(
    "SELECT count(*) AS n FROM events"
    "SELECT action, count(*) AS n FROM events GROUP BY action ORDER BY n DESC LIMIT 10"
    "SELECT principal, count(*) AS n FROM events WHERE outcome = 'failure' GROUP BY principal ORDER BY n DESC LIMIT 10"
    "SELECT action, count(*) AS n FROM events WHERE principal = 'arn:aws:iam::823483092897:user/svc-etl' GROUP BY 1 ORDER BY n DESC"
    "SELECT time, principal, action, source_ip FROM events WHERE action = 'StopLogging' ORDER BY time"
    "SELECT count(*) AS n FROM events WHERE time >= TIMESTAMP '2026-10-03 00:00:00' AND time < TIMESTAMP '2026-10-04 00:00:00' AND access_key LIKE 'AKIA%'"
)
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
echo "after compact: old $(find $old -name '*.parquet' | wc -l), new $(find $new -name '*.parquet' | wc -l)"
run
