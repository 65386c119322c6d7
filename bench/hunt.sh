#!/usr/bin/env bash
# The hunt benchmark (issue 2): a simulated corpus of >= 3 million CloudTrail records in the S3
# delivery layout, hunted with every AWS rule in ../shared/sigma plus the built-in pack, next
# to zcat of the same files (the decompression floor). Prints the figures BENCHMARKS.md records.
#
#   bench/hunt.sh [CORPUS_DIR]     (default: ../bench-data/corpus, generated when missing)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

corpus=${1:-../bench-data/corpus}
bin=${CARGO_TARGET_DIR:-target}/release/trailwatch
cargo build --release -p trailwatch >/dev/null

if [ ! -d "$corpus/AWSLogs" ]; then
    echo "generating the corpus in $corpus"
    "$bin" simulate --out "$corpus" --provider aws --days 7 --events-per-day 520000 --seed 1
fi

files=$(mktemp)
trap 'rm -f "$files"' EXIT
find "$corpus/AWSLogs" -name '*.json.gz' -print0 | sort -z > "$files"
nfiles=$(tr -cd '\0' < "$files" | wc -c)
# Warm the page cache so that both runs read from memory.
xargs -0 cat < "$files" > /dev/null

echo "--- machine: $(nproc) cores, $(uname -m); corpus: $nfiles files, $(du -sh "$corpus/AWSLogs" | cut -f1) gzip"

zcat_out=$( { /usr/bin/time -f "%e %U" sh -c "xargs -0 zcat < '$files' | wc -c" ; } 2>&1 )
zcat_bytes=$(echo "$zcat_out" | head -n 1)
zcat_secs=$(echo "$zcat_out" | tail -n 1 | cut -d' ' -f1)

hunt_log=$(mktemp)
TRAILWATCH_HEAP_STATS=1 /usr/bin/time -f "time %e %U %S %P %M" \
    "$bin" hunt "$corpus/AWSLogs" --rules ../shared/sigma --format jsonl -o /dev/null 2> "$hunt_log"
records=$(sed -n 's/.*files, \([0-9]*\) records.*/\1/p' "$hunt_log")
rules=$("$bin" rules list --rules ../shared/sigma --format jsonl 2>/dev/null | grep -c '"routed_to":"aws"')
read -r _ hunt_secs hunt_user hunt_sys hunt_cpu hunt_rss < <(grep '^time ' "$hunt_log")
heap=$(sed -n 's/.*peak live heap \([0-9.]*\) MB.*/\1/p' "$hunt_log")
grep '^trailwatch: read' "$hunt_log" || true
rm -f "$hunt_log"

awk -v r="$records" -v hs="$hunt_secs" -v zs="$zcat_secs" -v zb="$zcat_bytes" -v rss="$hunt_rss" \
    -v heap="$heap" -v cpu="$hunt_cpu" -v rules="$rules" 'BEGIN {
    printf "records:              %d (%.0f MB decompressed)\n", r, zb / 1e6
    printf "AWS rules loaded:     %d (shared/sigma + built-in)\n", rules
    printf "zcat (1 core):        %.2f s  = %.0f records/s, %.0f MB/s\n", zs, r / zs, zb / 1e6 / zs
    printf "hunt:                 %.2f s  = %.0f records/s (cpu %s)\n", hs, r / hs, cpu
    printf "hunt / zcat speed:    %.2fx\n", zs / hs
    printf "peak RSS:             %.0f MB (live heap %s MB)\n", rss / 1024, heap
}'
