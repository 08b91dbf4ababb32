#!/usr/bin/env bash
# Distillation throughput and yield: builds datasets from the shipped math prompt set with a teacher
# model, once under per-difficulty thinking budgets and once under one fixed budget, and prints kept
# samples per hour, keep rate per difficulty and tokens per kept sample for each.
#
# usage: ops/bench/distill.sh [TEACHER.gguf]   (default: Qwen2.5-Coder-1.5B from ops/models/fetch.sh --all)
# Env: ITEMS (prompts, spread over levels 1-5; default 20), SAMPLES (per prompt, default 4), KEEP (default 2),
#      SEQS (worker --concurrency, default 8), TEMP (0.6), FIXED (fixed thinking budget, default 512),
#      TABLE (per-difficulty budgets, default easy=128:192,medium=384:192,hard=768:256), SOFT (top-k soft targets, 0).
# Needs a running server (source ops/pg.sh) and a release build.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
source ops/pg.sh start
export TOKENMILL_MODELS_DIR="${TOKENMILL_MODELS_DIR:-$HOME/.cache/tokenmill/models}"
TM="${TOKENMILL_BIN:-$ROOT/.build/release/tokenmill}"
MODEL="${1:-$TOKENMILL_MODELS_DIR/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf}"
ITEMS="${ITEMS:-20}"; SAMPLES="${SAMPLES:-4}"; KEEP="${KEEP:-2}"; SEQS="${SEQS:-8}"; TEMP="${TEMP:-0.6}"
FIXED="${FIXED:-512}"; TABLE="${TABLE:-easy=128:192,medium=384:192,hard=768:256}"; SOFT="${SOFT:-0}"
[ -f "$MODEL" ] || { echo "no teacher model $MODEL: run ops/models/fetch.sh --all" >&2; exit 1; }
[ -x "$TM" ] || { echo "build first: swift build -c release" >&2; exit 1; }
items=$(mktemp --suffix=.jsonl); per=$(( (ITEMS + 4) / 5 ))
for l in 1 2 3 4 5; do grep "\"level\": $l" jobs/prompts/math-mixed.jsonl | head -n "$per"; done | head -n "$ITEMS" > "$items"
trap 'rm -f "$items"' EXIT
q() { psql "$DATABASE_URL" -tAc "$1"; }
$TM migrate >/dev/null
stamp=$(date +%s)

build() { # name policy-args...
    local name=$1; shift
    $TM distill --name "$name" --prompts "$items" --model "$MODEL" --samples "$SAMPLES" --keep "$KEEP" --temp "$TEMP" \
        --soft-targets "$SOFT" "$@" >/dev/null
    local id; id=$(q "SELECT id FROM tokenmill.datasets WHERE name = '$name'")
    local batch; batch=$(q "SELECT batch_id FROM tokenmill.datasets WHERE id = $id")
    $TM worker --concurrency "$SEQS" --kinds distill --log-level error &
    local w=$!
    while [ "$(q "SELECT pending FROM tokenmill.batch_progress WHERE batch_id = $batch")" != 0 ]; do sleep 2; done
    kill -TERM $w; wait $w 2>/dev/null || true
    echo "== $name ($(basename "$MODEL"), $ITEMS prompts x $SAMPLES samples, keep $KEEP, $SEQS sequences)"
    psql "$DATABASE_URL" -c "
      SELECT difficulty, prompts, samples_generated AS generated, samples_kept AS kept, round(keep_rate::numeric, 2) AS keep_rate,
             round(tokens_per_kept_sample::numeric) AS tok_per_kept, rejection_reasons
        FROM tokenmill.dataset_progress WHERE dataset_id = $id ORDER BY difficulty"
    q "SELECT 'kept samples/hour: ' || round(3600 * sum(samples_kept) / nullif(max(elapsed), 0))
              || ', tokens per kept sample: ' || round(sum(tok) / nullif(sum(samples_kept), 0))
         FROM (SELECT p.samples_kept, p.tokens_per_kept_sample * p.samples_kept AS tok,
                      (SELECT elapsed_seconds FROM tokenmill.batch_progress WHERE batch_id = $batch) AS elapsed
                 FROM tokenmill.dataset_progress p WHERE p.dataset_id = $id) x"
}

build "bench-perdiff-$stamp" --policy per_difficulty --table "$TABLE"
build "bench-fixed-$stamp" --policy fixed --thinking "$FIXED"
