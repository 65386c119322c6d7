#!/usr/bin/env bash
# How many recovery steps the identifier grammar keeps out of the plan on real trails: every
# alert of medium or higher from a default hunt of each dataset, taken to `recover --alert`.
# Usage: bench/recover_refusals.sh [BINARY] [DATASET…]  (defaults: the release build, the
# AWS datasets and the Azure samples in ../shared/datasets). Prints per dataset the alerts,
# steps and refused steps, then each refusal's reason with its count.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/trailwatch/target}/release/trailwatch}"
shift || true
sets=("$@")
if [ ${#sets[@]} -eq 0 ]; then
    sets=(../shared/datasets/aws/* ../shared/datasets/azure)
fi
reasons=$(mktemp)
trap 'rm -f "$reasons"' EXIT
for d in "${sets[@]}"; do
    ids=$("$bin" hunt "$d" --format jsonl --min-level medium 2>/dev/null \
        | python3 -c 'import sys,json; print(" ".join(json.loads(l)["id"] for l in sys.stdin if l.strip()))')
    alerts=0 steps=0 refused=0
    for id in $ids; do
        alerts=$((alerts + 1))
        counts=$("$bin" recover "$d" --alert "$id" --format json 2>/dev/null | python3 -c '
import sys, json
p = json.load(sys.stdin)
st = p["steps"]
for x in st:
    if x.get("refused"):
        print(x["refused"], file=sys.stderr)
print(len(st), sum(1 for x in st if x.get("refused")))' 2>>"$reasons")
        steps=$((steps + ${counts% *}))
        refused=$((refused + ${counts#* }))
    done
    echo "$d: alerts=$alerts steps=$steps refused=$refused"
done
sort "$reasons" | uniq -c | sort -rn
