#!/usr/bin/env bash
# The hunt on real-shaped data (issue 14): the public CloudTrail datasets replicated by
# bench/real_corpus.py (ten copies ≈ 334k records, ~1,000 records a file), next to zcat of the
# same files on one core. Prints zcat, then the hunt with the built-in pack (chains on, the
# default), then with ../shared/sigma added, each with wall time, rate, ratio and peak RSS.
#
#   bench/hunt_real.sh [CORPUS_DIR]     (default: ../bench-data/real, generated when missing)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

corpus=${1:-../bench-data/real}
# The target directory CI and the README use: a build into ./target would start cold (~30 min).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trailwatch/target}"
bin=$CARGO_TARGET_DIR/release/trailwatch
cargo build --release -p trailwatch >/dev/null

if [ ! -d "$corpus/AWSLogs" ]; then
    python3 bench/real_corpus.py "$corpus" --copies 10
fi
files=$(mktemp)
trap 'rm -f "$files"' EXIT
find "$corpus/AWSLogs" -name '*.json.gz' -print0 | sort -z > "$files"
xargs -0 cat < "$files" > /dev/null   # warm the page cache

echo "--- machine: $(nproc) cores; corpus: $(tr -cd '\0' < "$files" | wc -c) files, $(du -sh "$corpus/AWSLogs" | cut -f1) gzip"
zcat_secs=$( { /usr/bin/time -f "%e" taskset -c 0 sh -c "xargs -0 zcat < '$files' > /dev/null"; } 2>&1 | tail -n 1)

run() {
    local label=$1; shift
    local log; log=$(mktemp)
    /usr/bin/time -f "time %e %M" "$bin" hunt "$corpus/AWSLogs" "$@" --format jsonl -o /dev/null 2> "$log"
    local records secs rss alerts
    records=$(sed -n 's/.*files, \([0-9]*\) records.*/\1/p' "$log")
    alerts=$(sed -n 's/.*; \([0-9]*\) alerts (.*/\1/p' "$log")
    read -r _ secs rss < <(grep '^time ' "$log")
    rm -f "$log"
    awk -v l="$label" -v r="$records" -v s="$secs" -v z="$zcat_secs" -v m="$rss" -v a="$alerts" 'BEGIN {
        printf "%-28s %6.2f s  %8.0f records/s  %5.2fx zcat  peak RSS %4.0f MB  %s alerts\n", l, s, r / s, z / s, m / 1024, a
    }'
}
awk -v z="$zcat_secs" 'BEGIN { printf "%-28s %6.2f s\n", "zcat (one core)", z }'
run "hunt, built-in pack"
run "hunt, built-in, --no-chains" --no-chains
run "hunt, + ../shared/sigma" --rules ../shared/sigma
