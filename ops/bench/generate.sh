#!/usr/bin/env bash
# Generate jobs end to end: throughput with continuous batching beside llama-batched-bench, and
# accuracy / thinking tokens of budget policies on the shipped prompt set.
#
# usage: ops/bench/generate.sh [MODEL.gguf ...]   (default: Qwen2.5 0.5B and 1.5B from ops/models/fetch.sh --all)
# Env: ITEMS (prompts from jobs/prompts/math-mixed.jsonl, default 20, taken evenly over levels 1-5),
#      SEQS (concurrent sequences = worker --concurrency, default 8), THREADS (2),
#      CAP (thinking cap of the "no budget" run, default 1024), FIXED (fixed thinking budget, default 512),
#      TABLE (per-difficulty budgets, default easy=96:192,medium=256:192,hard=512:192),
#      TOKENMILL_PEER_DIR / TOKENMILL_MODELS_DIR as in ops/bench/inference.sh.
# Needs: a running server (source ops/pg.sh), a release build, llama.cpp built by ops/llamacpp/build.sh.
#
# Runs, per model, four batches over the same items (greedy, so the runs are comparable):
#   none      budget.policy unlimited with thinking capped at CAP (the "no budget" reference)
#   fixed     one budget for all (FIXED)
#   per-diff  the TABLE
#   adaptive  learned from the "none" run's history in the database (accuracy within 2 points)
# and prints items/s, generated tokens/s, thinking tokens, accuracy, and the ratios against "none" and
# "fixed"; then llama-batched-bench at the same number of sequences for the throughput ratio.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
source ops/pg.sh start
PEER_DIR="${TOKENMILL_PEER_DIR:-$HOME/.cache/tokenmill/peer}"
export TOKENMILL_MODELS_DIR="${TOKENMILL_MODELS_DIR:-$HOME/.cache/tokenmill/models}"
LLAMA="$PEER_DIR/llama_cpp_python-0.3.36/vendor/llama.cpp/build/bin"
TM="${TOKENMILL_BIN:-$ROOT/.build/release/tokenmill}"
ITEMS="${ITEMS:-20}"; SEQS="${SEQS:-8}"; THREADS="${THREADS:-2}"; CAP="${CAP:-1024}"; FIXED="${FIXED:-512}"
TABLE="${TABLE:-easy=96:192,medium=256:192,hard=512:192}"
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
    for n in qwen2.5-coder-0.5b-instruct-q4_k_m qwen2.5-coder-1.5b-instruct-q4_k_m; do
        [ -f "$TOKENMILL_MODELS_DIR/$n.gguf" ] && models+=("$TOKENMILL_MODELS_DIR/$n.gguf")
    done
fi
[ ${#models[@]} -gt 0 ] || { echo "no models: run ops/models/fetch.sh --all" >&2; exit 1; }
[ -x "$TM" ] || { echo "build first: swift build -c release" >&2; exit 1; }

# An even spread of ITEMS over the five levels.
items=$(mktemp); per=$(( (ITEMS + 4) / 5 ))
for l in 1 2 3 4 5; do grep "\"level\": $l" jobs/prompts/math-mixed.jsonl | head -n "$per"; done | head -n "$ITEMS" > "$items"

q() { psql "$DATABASE_URL" -tAc "$1"; }
$TM migrate >/dev/null

run_batch() { # name model args... -> prints the batch id once a worker drained it
    local name=$1 model=$2; shift 2
    local id
    id=$($TM generate --model "$model" --prompts "$items" --batch-name "bench $name $(basename "$model")" "$@" 2>/dev/null)
    $TM worker --concurrency "$SEQS" --kinds generate --log-level error &
    local w=$!
    while [ "$(q "SELECT pending FROM tokenmill.batch_progress WHERE batch_id = $id")" != 0 ]; do sleep 1; done
    kill -TERM $w; wait $w 2>/dev/null || true
    echo "$id"
}

for model in "${models[@]}"; do
    echo "== $(basename "$model"): $ITEMS items, $SEQS sequences, $THREADS threads"
    declare -A ids secs
    ids[none]=$(run_batch none "$model" --policy unlimited --answer 192 --max-tokens $((CAP + 192))); secs[none]=$(q "SELECT elapsed_seconds FROM tokenmill.batch_progress WHERE batch_id=${ids[none]}")
    ids[fixed]=$(run_batch fixed "$model" --policy fixed --thinking "$FIXED" --answer 192); secs[fixed]=$(q "SELECT elapsed_seconds FROM tokenmill.batch_progress WHERE batch_id=${ids[fixed]}")
    ids[perdiff]=$(run_batch per-diff "$model" --policy per_difficulty --table "$TABLE"); secs[perdiff]=$(q "SELECT elapsed_seconds FROM tokenmill.batch_progress WHERE batch_id=${ids[perdiff]}")
    ids[adaptive]=$(run_batch adaptive "$model" --policy adaptive --table "$TABLE"); secs[adaptive]=$(q "SELECT elapsed_seconds FROM tokenmill.batch_progress WHERE batch_id=${ids[adaptive]}")
    printf "%-10s %8s %9s %10s %11s %8s %8s %10s %10s\n" policy items/s gen_tok/s think_tok answer_tok hit% acc% vs_none vs_fixed
    base_none=$(q "SELECT sum(thinking_tokens) FROM tokenmill.generation_outputs WHERE batch_id=${ids[none]}")
    base_fixed=$(q "SELECT sum(thinking_tokens) FROM tokenmill.generation_outputs WHERE batch_id=${ids[fixed]}")
    for p in none fixed perdiff adaptive; do
        read -r n gen think ans hit acc < <(q "SELECT count(*), sum(thinking_tokens+answer_tokens+forced_tokens), sum(thinking_tokens),
              sum(answer_tokens), round(100*avg(budget_hit::int),1), round(100*avg(correct::int),1)
              FROM tokenmill.generation_outputs WHERE batch_id=${ids[$p]}" | tr '|' ' ')
        printf "%-10s %8.2f %9.1f %10d %11d %8s %8s %9.0f%% %9.0f%%\n" "$p" "$(echo "$n/${secs[$p]}" | bc -l)" \
            "$(echo "$gen/${secs[$p]}" | bc -l)" "$think" "$ans" "$hit" "$acc" \
            "$(echo "100*$think/$base_none" | bc -l)" "$(echo "100*$think/$base_fixed" | bc -l)"
    done
    if [ -x "$LLAMA/llama-batched-bench" ]; then
        echo "-- llama-batched-bench at $SEQS sequences (pp 128, tg 128):"
        # Its log goes to a file, shown when it prints no table (a failed peer run must not end the script).
        peer_log=$(mktemp)
        "$LLAMA/llama-batched-bench" -m "$model" -c 8192 -b 2048 -ub 512 -npp 128 -ntg 128 -npl "$SEQS" \
            -t "$THREADS" -tb "$THREADS" 2>"$peer_log" | grep -E "^\|" | tail -n 2 \
            || { echo "llama-batched-bench printed no table; its log:"; tail -n 20 "$peer_log"; }
        rm -f "$peer_log"
        echo "-- TokenMill bench at $SEQS sequences:"
        $TM bench --model "$model" -p 128 -n 128 --sequences "$SEQS" --threads "$THREADS"
    fi
done
rm -f "$items"
