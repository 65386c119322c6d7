#!/usr/bin/env bash
# Baselines (issue 4): the false-positive rate of the learned baselines and attack chains on a
# simulated month of an attack-free 200-principal organisation, and what `--baselines` costs a
# hunt on the same corpus. Prints the figures BENCHMARKS.md records.
#
#   bench/baselines.sh [CORPUS_DIR] [EVENTS_PER_DAY]
#       (default: ../bench-data/month-200, 20000 records a day, generated when missing)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

corpus=${1:-../bench-data/month-200}
per_day=${2:-20000}
days=30
bin=${CARGO_TARGET_DIR:-target}/release/trailwatch
cargo build --release -p trailwatch >/dev/null

if [ ! -d "$corpus/AWSLogs" ]; then
    echo "generating the corpus in $corpus"
    "$bin" simulate --out "$corpus" --provider aws --days "$days" --events-per-day "$per_day" \
        --principals 200 --seed 3 --no-attacks
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
find "$corpus/AWSLogs" -name '*.json.gz' -print0 | xargs -0 cat > /dev/null   # warm the cache

run() { # name, extra args...
    local name=$1
    shift
    /usr/bin/time -f "%e s wall, %M KB peak RSS, %P CPU" \
        "$bin" hunt "$corpus" --min-level medium --format jsonl -o "$out/$name.jsonl" "$@" \
        2> "$out/$name.err" || { cat "$out/$name.err"; exit 1; }
    echo "$name: $(grep '^trailwatch: read' "$out/$name.err")"
    echo "$name: $(tail -n 1 "$out/$name.err")"
}

echo "--- machine: $(nproc) cores, $(uname -m); corpus: $days days, $per_day records/day, 200 principals, no attacks"
run plain
run baselines --baselines --baseline-state "$out/state.json"
n=$(grep -c '"rule_id":"tw-' "$out/baselines.jsonl" || true)
echo "baseline/chain alerts at medium or above: $n over $days days = $(echo "scale=2; $n / $days" | bc) per day"
echo "by rule:"
grep -o '"rule_id":"tw-[a-z-]*","title":"[^"]*","severity":"[a-z]*"' "$out/baselines.jsonl" | sort | uniq -c | sort -rn || true
