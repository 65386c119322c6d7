#!/usr/bin/env bash
# The store benchmark (issues 3 and 21): ingest a corpus into a fresh store, compare its size
# with the gzip input (and show the largest columns), time SQL queries through `trailwatch sql`
# next to DuckDB over the same files, and re-ingest (all skipped). Prints the figures
# BENCHMARKS.md records. Needs python3 with the `duckdb` package.
#
#   bench/store.sh [CORPUS_DIR] [STORE_DIR]   the simulated hunt corpus (>= 3 million CloudTrail
#                                             records, see bench/hunt.sh; defaults:
#                                             ../bench-data/corpus, ../bench-data/store)
#   bench/store.sh real [STORE_DIR]           the real-shaped corpus: ../shared/datasets/aws ten
#                                             times (bench/real_corpus.py) in ../bench-data/real,
#                                             store ../bench-data/store-real
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bin=${CARGO_TARGET_DIR:-target}/release/trailwatch
cargo build --release -p trailwatch >/dev/null
if [ "${1:-}" = real ]; then
    corpus=../bench-data/real
    store=${2:-../bench-data/store-real}
    if [ ! -d "$corpus/AWSLogs" ]; then
        echo "generating the real-shaped corpus in $corpus"
        python3 bench/real_corpus.py "$corpus" --copies 10
    fi
else
    corpus=${1:-../bench-data/corpus}
    store=${2:-../bench-data/store}
    if [ ! -d "$corpus/AWSLogs" ]; then
        echo "generating the corpus in $corpus"
        "$bin" simulate --out "$corpus" --provider aws --days 7 --events-per-day 520000 --seed 1
    fi
fi
rm -rf "$store"
find "$corpus/AWSLogs" -name '*.json.gz' -print0 | xargs -0 cat > /dev/null

echo "--- machine: $(nproc) cores; corpus: $(du -sb "$corpus/AWSLogs" | cut -f1) bytes gzip"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
/usr/bin/time -f "time %e %U %S %P %M" "$bin" ingest "$corpus/AWSLogs" --store "$store" 2> "$log"
grep '^trailwatch:' "$log"
read -r _ secs user sys cpu rss < <(grep '^time ' "$log")
records=$(sed -n 's/.*; \([0-9]*\) records read.*/\1/p' "$log")
gz=$(du -sb "$corpus/AWSLogs" | cut -f1)
data=$(find "$store" -name '*.parquet' -print0 | du -cb --files0-from=- | tail -n 1 | cut -f1)
awk -v r="$records" -v s="$secs" -v cpu="$cpu" -v rss="$rss" -v gz="$gz" -v data="$data" 'BEGIN {
    printf "ingest:               %.2f s = %.0f records/s (cpu %s), peak RSS %.0f MB\n", s, r / s, cpu, rss / 1024
    printf "store data files:     %.1f MB = %.2f of the gzip input (%.1f MB)\n", data / 1e6, data / gz, gz / 1e6
}'

python3 - "$store" <<'EOF'
import duckdb, sys
glob = (sys.argv[1] + "/provider=*/dt=*/*.parquet").replace("'", "''")
rows = duckdb.connect().execute(
    "SELECT path_in_schema, sum(total_compressed_size), sum(total_uncompressed_size) "
    f"FROM parquet_metadata('{glob}') GROUP BY 1 ORDER BY 2 DESC LIMIT 5").fetchall()
print("largest columns:     " + ", ".join(f"{c} {z / 1e6:.1f} MB ({u / z:.1f}:1)" for c, z, u in rows))
EOF

/usr/bin/time -f "re-ingest (all skipped): %e s" "$bin" ingest "$corpus/AWSLogs" --store "$store" 2>&1 | tail -n 1

source bench/store_queries.sh
echo "--- queries (wall seconds, best of 3): trailwatch sql | duckdb"
for q in "${queries[@]}"; do
    tw=$( { for _ in 1 2 3; do /usr/bin/time -f "%e" "$bin" sql "$q" --store "$store" --format csv >/dev/null; done; } 2>&1 | sort -n | head -n 1)
    dk=$(python3 - "$store" "$q" <<'EOF'
import duckdb, sys, time
store, q = sys.argv[1], sys.argv[2]
best = None
for _ in range(3):
    t = time.time()
    con = duckdb.connect()
    glob = (store + "/provider=*/dt=*/*.parquet").replace("'", "''")
    con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{glob}', hive_partitioning = true)")
    con.execute(q).fetchall()
    d = time.time() - t
    best = d if best is None else min(best, d)
print(f"{best:.2f}")
EOF
)
    printf "%6s | %6s   %s\n" "$tw" "$dk" "$q"
done
/usr/bin/time -f "hunt --store: %e s, peak RSS %M KB" "$bin" hunt --store "$store" --format jsonl -o /dev/null 2>&1 | tail -n 2
