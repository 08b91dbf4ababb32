#!/usr/bin/env bash
# Thinking budgets, proven: accuracy against thinking tokens of the budget policies on the held-out
# half of the evaluation set (jobs/prompts/math-eval.jsonl, ops/prompts/make_eval.py), greedy.
#
# usage: ops/bench/budgets.sh [MODEL.gguf]   (default: Qwen2.5-Coder-0.5B Instruct Q4_K_M)
# Env: SEQS (worker --concurrency, default 8),
#      CAP (token cap of the "unlimited" runs, default 1024), ANSWER (answer budget, default 64),
#      FIXED (three fixed thinking budgets, default "128 256 512"),
#      TABLE (the per_difficulty table, set by hand before any run: default easy=128:64,medium=256:64,hard=512:64),
#      EPSILON (accuracy the adaptive policy may give up on the fit half, default 0.02),
#      REASONING (markers, plain or auto; default auto = detected from the model),
#      PLOT (SVG output, default ops/bench/budgets-<model>.svg), TOKENMILL_MODELS_DIR, TOKENMILL_BIN.
# Needs: a running server (source ops/pg.sh start), a release build (swift build -c release).
#
# Steps:
#  1. fit half, unlimited (thinking ends by itself or at the cap): the history the adaptive policy
#     learns from; `tokenmill learn-budgets` prints the budgets it learns and why;
#  2. held-out half, one batch per policy: unlimited, fixed at the three budgets, per_difficulty
#     (TABLE) and adaptive (learned from step 1 only, TABLE where a tier lacks history), run by one
#     worker so every slot stays busy;
#  3. `tokenmill report`: per policy and difficulty, items, accuracy with its 95% Wilson interval,
#     mean thinking tokens, budget-hit rate, saving against unlimited; writes the plot;
#  4. `tokenmill difficulty`: the estimator fitted on the fit half, its confusion matrix on the held-out half.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
source ops/pg.sh start >/dev/null
export TOKENMILL_MODELS_DIR="${TOKENMILL_MODELS_DIR:-$HOME/.cache/tokenmill/models}"
TM="${TOKENMILL_BIN:-$ROOT/.build/release/tokenmill}"
MODEL="${1:-qwen2.5-coder-0.5b-instruct-q4_k_m.gguf}"
SEQS="${SEQS:-8}"; CAP="${CAP:-1024}"; ANSWER="${ANSWER:-64}"; FIXED="${FIXED:-128 256 512}"
TABLE="${TABLE:-easy=128:64,medium=256:64,hard=512:64}"; EPSILON="${EPSILON:-0.02}"; REASONING="${REASONING:-auto}"
PROMPTS=jobs/prompts/math-eval.jsonl
name="$(basename "$MODEL" .gguf)"
PLOT="${PLOT:-ops/bench/budgets-$name.svg}"
[ -x "$TM" ] || { echo "build first: swift build -c release" >&2; exit 1; }
q() { psql "$DATABASE_URL" -tAc "$1"; }
$TM migrate >/dev/null

gen() { # split policy args... -> batch id
    local split=$1 policy=$2; shift 2
    $TM generate --model "$MODEL" --prompts "$PROMPTS" --split "$split" --reasoning "$REASONING" --policy "$policy" \
        --batch-name "budgets $name $split $policy $*" "$@" 2>/dev/null
}
drain() { # batch ids... : one worker until none of them has pending jobs
    local ids; ids=$(IFS=,; echo "$*")
    $TM worker --concurrency "$SEQS" --kinds generate --log-level error &
    local w=$!
    while [ "$(q "SELECT coalesce(sum(pending), 0) FROM tokenmill.batch_progress WHERE batch_id IN ($ids)")" != 0 ]; do
        kill -0 $w 2>/dev/null || { echo "worker exited" >&2; exit 1; }
        sleep 3
    done
    kill -TERM $w; wait $w 2>/dev/null || true
}
elapsed() { q "SELECT round(extract(epoch FROM max(created_at) - min(created_at)))::int FROM tokenmill.generation_outputs WHERE batch_id IN ($(IFS=,; echo "$*"))"; }

echo "== $name, $(date -u '+%Y-%m-%d %H:%M UTC'), $SEQS sequences, reasoning $REASONING, cap $CAP, answer $ANSWER"
start=$(date +%s)
fit=$(gen fit unlimited --answer "$ANSWER" --max-tokens "$CAP")
drain "$fit"
echo "-- 1. fit half, unlimited: batch $fit ($(q "SELECT count(*) FROM tokenmill.generation_outputs WHERE batch_id=$fit") items, $(( $(date +%s) - start )) s)"
$TM learn-budgets --batch "$fit" --epsilon "$EPSILON"

held=()
unl=$(gen heldout unlimited --answer "$ANSWER" --max-tokens "$CAP"); held+=("$unl")
for b in $FIXED; do held+=("$(gen heldout fixed --thinking "$b" --answer "$ANSWER")"); done
held+=("$(gen heldout per_difficulty --table "$TABLE")")
held+=("$(gen heldout adaptive --table "$TABLE" --history-batch "$fit")")
t2=$(date +%s)
drain "${held[@]}"
echo "-- 2. held-out half: batches ${held[*]} ($(( $(date +%s) - t2 )) s)"
adaptive=${held[${#held[@]}-1]}
echo "adaptive budgets used: $(q "SELECT string_agg(DISTINCT difficulty || '=' || thinking_budget, ', ') FROM tokenmill.generation_outputs WHERE batch_id=$adaptive")"
echo "-- 3. report (saving and Δacc against unlimited)"
$TM report --batch "$adaptive" --baseline "${held[@]:0:${#held[@]}-1}" --plot "$PLOT" \
    --title "Thinking budgets, held-out half ($(q "SELECT count(*) FROM tokenmill.generation_outputs WHERE batch_id=$unl") items): $name, greedy"
echo "-- 4. difficulty estimator"
$TM difficulty --prompts "$PROMPTS"
echo "total $(( $(date +%s) - start )) s"
