#!/usr/bin/env bash
# Compaction: a store made of about 2,000 small commits (what a busy `watch` leaves: one small
# file per poll and day), then `trailwatch compact`. Prints the data files and their bytes
# before and after, the time of the compaction, and the time of `trailwatch sql` queries
# (best of 3) before and after; then checks that the events are the same and that the store
# verifies.
#
#   bench/compaction.sh [WORK_DIR]           (default: ../bench-data/compaction)
#   BIN=path/to/trailwatch bench/compaction.sh   (default: the release build, built first)
#   COMMITS (about 2000), DAYS (3), EVENTS_PER_DAY (20000) change the store made.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

work=${1:-../bench-data/compaction}
commits=${COMMITS:-2000}
days=${DAYS:-3}
per_day=${EVENTS_PER_DAY:-20000}
if [ -n "${BIN:-}" ]; then
    bin=$BIN
else
    bin=${CARGO_TARGET_DIR:-target}/release/trailwatch
    cargo build --release -p trailwatch >/dev/null
fi

rm -rf "$work"
mkdir -p "$work"
logs=$work/logs
store=$work/store
"$bin" simulate --out "$logs" --provider aws --days "$days" --events-per-day "$per_day" \
    --seed 3 --start 2024-05-01 --no-attacks 2>&1 | tail -n 1
batch=$(( days * per_day / commits ))
/usr/bin/time -f "ingest in commits of $batch events: %e s" \
    "$bin" ingest "$logs" --store "$store" --batch-events "$batch" 2>&1 | tail -n 2

files() { find "$store" -name '*.parquet' | wc -l; }
bytes() { find "$store" -name '*.parquet' -print0 | du -cb --files0-from=- | tail -n 1 | cut -f1; }
# Best wall time of 3 runs of a query, in seconds.
best_of_3() {
    for _ in 1 2 3; do
        /usr/bin/time -f "%e" "$bin" sql "$1" --store "$store" --format csv 2>&1 >/dev/null | tail -n 1
    done | sort -n | head -n 1
}
queries=(
    "SELECT count(*) FROM events"
    "SELECT action, count(*) AS n FROM events GROUP BY action ORDER BY n DESC LIMIT 10"
)
answer() { "$bin" sql "$1" --store "$store" --format csv --limit 100000000 | md5sum | cut -c1-12; }

files_before=$(files)
bytes_before=$(bytes)
declare -a before_times before_answers
for q in "${queries[@]}"; do
    before_times+=("$(best_of_3 "$q")")
    before_answers+=("$(answer "$q")")
done
ids_before=$(answer "SELECT event_id FROM events ORDER BY event_id")

echo "--- trailwatch compact"
/usr/bin/time -f "compact: %e s wall, %U s user, %S s system, peak RSS %M KB" \
    "$bin" compact --store "$store" 2>&1 | tail -n 2

files_after=$(files)
bytes_after=$(bytes)
echo "--- figures ($(nproc) cores)"
printf "data files:  %6d -> %6d\n" "$files_before" "$files_after"
printf "data bytes:  %d -> %d (%.2f of before)\n" "$bytes_before" "$bytes_after" \
    "$(echo "$bytes_after / $bytes_before" | bc -l)"
for i in "${!queries[@]}"; do
    q=${queries[$i]}
    after=$(best_of_3 "$q")
    same=$([ "$(answer "$q")" = "${before_answers[$i]}" ] && echo "same answer" || echo "ANSWER DIFFERS")
    printf "sql, best of 3: %6s s -> %6s s (%s)   %s\n" "${before_times[$i]}" "$after" "$same" "$q"
done
if [ "$(answer "SELECT event_id FROM events ORDER BY event_id")" = "$ids_before" ]; then
    echo "event ids: the same before and after"
else
    echo "event ids: DIFFER"
    exit 1
fi
"$bin" verify --store "$store" | tail -n 1 | cut -c1-160
