#!/usr/bin/env bash
# The detection pipeline's state between watch steps (issue 16): a simulated month of a
# 200-principal organisation (CloudTrail, every attack and detection scenario) watched with
# learned baselines on, then the size of the state saved with the checkpoints, by part, and
# the time the watch took. Prints the figures BENCHMARKS.md records.
#
#   bench/pipeline_state.sh [WORK_DIR]     (default: ../bench-data/pipeline-state)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

work=${1:-../bench-data/pipeline-state}
# BIN=path uses that binary as it is; otherwise the release build is brought up to date.
if [ -z "${BIN:-}" ]; then
    cargo build --release -p trailwatch >/dev/null
fi
bin=${BIN:-${CARGO_TARGET_DIR:-target}/release/trailwatch}

rm -rf "$work"
mkdir -p "$work"
"$bin" simulate --out "$work/month" --provider aws --days 30 --principals 200 \
    --events-per-day 20000 --detections --seed 5 2>&1 | tail -n 1

cat > "$work/watch.toml" <<EOF
[store]
dir = "$work/store"

[watch]
batch_objects = 256

[baselines]
enabled = true

[[sources]]
name = "month"
kind = "local"
path = "$work/month/AWSLogs"
EOF

/usr/bin/time -f "watch --once: %e s, peak RSS %M KB" \
    "$bin" watch --once --config "$work/watch.toml" 2>&1 | grep -E "objects read|watch --once"

python3 - "$work/store/_watch/state.sqlite" <<'EOF'
import json, sqlite3, sys
snap = sqlite3.connect(sys.argv[1]).execute("SELECT snapshot FROM pipeline").fetchone()[0]
doc = json.loads(snap)
print(f"pipeline state: {len(snap):,} bytes")
for part in ("replay", "aws_correlations", "azure_correlations", "facts", "accounts"):
    print(f"  {part}: {len(json.dumps(doc.get(part), separators=(',', ':'))):,} bytes")
replay = doc.get("replay") or {}
base = replay.get("base") or {}
tail = replay.get("tail") or {}
print(f"  learned: {len(base.get('principals', []))} principal profiles, "
      f"{len(base.get('resources', []))} resource profiles; "
      f"replayed tail: {len(tail.get('obs', []))} events")
print(f"  late events: {doc.get('late')}")
EOF
