#!/usr/bin/env bash
# First run on a fresh Debian machine with only Swift:
#   installs PostgreSQL + libpq (apt, via ops/pg.sh), starts the local server (.tokenmill/pg, port 54329),
#   builds `swift build -c release`, migrates, then runs the main job on the embedded default:
#   for now a batch of 200 noop jobs, worked off by one worker while `tokenmill status` shows progress.
set -euo pipefail
cd "$(dirname "$0")/.."
source ops/pg.sh start
echo "setup: PostgreSQL up at $DATABASE_URL" >&2
swift build -c release --product tokenmill
BIN=.build/release/tokenmill
$BIN migrate

mkdir -p .tokenmill
items=.tokenmill/demo-noop.jsonl
for i in $(seq 1 200); do echo "{\"n\": $i, \"sleep_ms\": $(( (i * 37) % 40 ))}"; done > "$items"
out=$($BIN enqueue --kind noop --file "$items" --batch-name "setup-demo")
echo "$out"
batch=$(echo "$out" | sed -n 's/^batch \([0-9]*\):.*/\1/p')

$BIN worker --concurrency 8 --log-level warning &
worker=$!
trap 'kill -TERM $worker 2>/dev/null || true' EXIT
$BIN status --batch "$batch" --watch --interval 0.5
kill -TERM "$worker"
wait "$worker" || true
trap - EXIT
echo
$BIN status --batch "$batch"
echo "setup: done. Next: DATABASE_URL=$DATABASE_URL $BIN --help" >&2
