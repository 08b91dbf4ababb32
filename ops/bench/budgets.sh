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
#      SCOPE (where EPSILON applies for the adaptive policy: overall, default, or per_tier),
#      HINTED (policies run a second time with their budget stated in the instruction, "Use less than N
#      tokens for your reasoning."; any of "fixed:N per_difficulty adaptive"; default none: on these models
#      the stated number does not shorten the reasoning, see ops/bench/README.md),
#      EFFORT (the reasoning effort per difficulty for the +effort runs, `generate --effort`; default
#      easy=minimal,medium=minimal,hard=high; "" = no +effort runs),
#      WAIT (a fraction, e.g. 0.5: one more held-out batch, unlimited with budget forcing's continuation,
#      `generate --wait-below WAIT`: hard items whose reasoning ends below WAIT x the room are continued once
#      with "Wait"; default none),
#      REASONING (markers, plain or auto; default auto = detected from the model),
#      PLOT (SVG output, default ops/bench/budgets-<model>.svg), TOKENMILL_MODELS_DIR, TOKENMILL_BIN,
#      FIT_BATCH (reuse a finished step-1 batch), REPLAY (1 = greedy replay in the held-out worker, default 1),
#      CHECK (items re-run with replay off, compared with the replayed ones: identical text and same verdict,
#      default 24; 0 = skip).
# Needs: a running server (source ops/pg.sh start), a release build (swift build -c release).
#
# Steps:
#  1. fit half, unlimited (thinking ends by itself or at the cap): the history the adaptive policy
#     learns from; `tokenmill learn-budgets` prints the budgets it learns and why; the same with EFFORT
#     (the history of adaptive+effort);
#  2. held-out half, one batch per policy: unlimited, fixed at the three budgets, per_difficulty
#     (TABLE) and adaptive (learned from step 1 only, TABLE where a tier lacks history), run by one
#     worker so every slot stays busy. The unlimited batch goes first (priority); with REPLAY=1 the
#     worker keeps each prompt's greedy tokens (TOKENMILL_GREEDY_REPLAY) and the budgeted runs decode
#     only from their cut on (the tokens before it are the same under greedy decoding; they are
#     prefilled instead of decoded). CHECK items of the first fixed budget are run again by a worker
#     without replay and compared token for token. With EFFORT: unlimited, per_difficulty (TABLE) and
#     adaptive once more with the effort's instructions (unlimited+effort first, for replay);
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
REPLAY="${REPLAY:-1}"; CHECK="${CHECK:-24}"
SEQS="${SEQS:-8}"; CAP="${CAP:-1024}"; ANSWER="${ANSWER:-64}"; FIXED="${FIXED:-128 256 512}"
TABLE="${TABLE:-easy=128:64,medium=256:64,hard=512:64}"; EPSILON="${EPSILON:-0.02}"; REASONING="${REASONING:-auto}"
SCOPE="${SCOPE:-overall}"; HINTED="${HINTED-}"; EFFORT="${EFFORT-easy=minimal,medium=minimal,hard=high}"; WAIT="${WAIT-}"
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
pending() { q "SELECT coalesce(sum(pending), 0) FROM tokenmill.batch_progress WHERE batch_id IN ($(IFS=,; echo "$*"))"; }
worker=
start_worker() { # replay(0|1)
    TOKENMILL_GREEDY_REPLAY="$1" $TM worker --concurrency "$SEQS" --kinds generate --log-level error &
    worker=$!
}
stop_worker() { kill -TERM "$worker"; wait "$worker" 2>/dev/null || true; }
wait_done() { # batch ids...
    while [ "$(pending "$@")" != 0 ]; do
        kill -0 "$worker" 2>/dev/null || { echo "worker exited" >&2; exit 1; }
        sleep 3
    done
}
elapsed() { q "SELECT round(extract(epoch FROM max(created_at) - min(created_at)))::int FROM tokenmill.generation_outputs WHERE batch_id IN ($(IFS=,; echo "$*"))"; }

echo "== $name, $(date -u '+%Y-%m-%d %H:%M UTC'), $SEQS sequences, reasoning $REASONING, cap $CAP, answer $ANSWER, greedy replay $REPLAY, effort ${EFFORT:-none}, wait ${WAIT:-off}"
start=$(date +%s)
# One worker runs everything, in priority order: the fit half, the held-out unlimited run, the
# budgeted runs; the adaptive batch is enqueued once the fit half is done (it learns from it alone).
fit=${FIT_BATCH:-$(gen fit unlimited --answer "$ANSWER" --max-tokens "$CAP" --priority 20)}
fits=("$fit")
if [ -n "$EFFORT" ]; then
    fite=${FIT_EFFORT_BATCH:-$(gen fit unlimited --answer "$ANSWER" --max-tokens "$CAP" --effort "$EFFORT" --priority 20)}
    fits+=("$fite")
fi
held=()
unl=$(gen heldout unlimited --answer "$ANSWER" --max-tokens "$CAP" --priority 10); held+=("$unl")
[ -n "$EFFORT" ] && held+=("$(gen heldout unlimited --answer "$ANSWER" --max-tokens "$CAP" --effort "$EFFORT" --priority 10)")
[ -n "$WAIT" ] && held+=("$(gen heldout unlimited --answer "$ANSWER" --max-tokens "$CAP" --wait-below "$WAIT" --priority 5)")
fixed1=
for b in $FIXED; do held+=("$(gen heldout fixed --thinking "$b" --answer "$ANSWER")"); fixed1=${fixed1:-${held[-1]}}; done
held+=("$(gen heldout per_difficulty --table "$TABLE")")
[ -n "$EFFORT" ] && held+=("$(gen heldout per_difficulty --table "$TABLE" --effort "$EFFORT")")
for h in $HINTED; do
    case "$h" in
        fixed:*) held+=("$(gen heldout fixed --thinking "${h#fixed:}" --answer "$ANSWER" --hint-budget)") ;;
        per_difficulty) held+=("$(gen heldout per_difficulty --table "$TABLE" --hint-budget)") ;;
        adaptive) ;;   # after the fit half, below
        *) echo "HINTED: unknown policy '$h' (use fixed:N, per_difficulty, adaptive)" >&2; exit 2 ;;
    esac
done
start_worker "$REPLAY"
wait_done "${fits[@]}"
echo "-- 1. fit half, unlimited: batch $fit ($(q "SELECT count(*) FROM tokenmill.generation_outputs WHERE batch_id=$fit") items, $(( $(date +%s) - start )) s)"
$TM learn-budgets --batch "$fit" --epsilon "$EPSILON" --scope "$SCOPE"
adaptive=$(gen heldout adaptive --table "$TABLE" --history-batch "$fit" --epsilon "$EPSILON" --scope "$SCOPE"); held+=("$adaptive")
if [ -n "$EFFORT" ]; then
    echo "-- 1b. fit half, unlimited, effort $EFFORT: batch $fite"
    $TM learn-budgets --batch "$fite" --epsilon "$EPSILON" --scope "$SCOPE"
    adaptivee=$(gen heldout adaptive --table "$TABLE" --history-batch "$fite" --epsilon "$EPSILON" --scope "$SCOPE" --effort "$EFFORT")
    held+=("$adaptivee")
fi
for h in $HINTED; do
    if [ "$h" = adaptive ]; then
        held+=("$(gen heldout adaptive --table "$TABLE" --history-batch "$fit" --epsilon "$EPSILON" --scope "$SCOPE" --hint-budget)")
    fi
done
wait_done "${held[@]}"
stop_worker
echo "-- 2. held-out half: batches ${held[*]} ($(( $(date +%s) - start )) s since the start)"
echo "adaptive budgets used: $(q "SELECT string_agg(DISTINCT difficulty || '=' || thinking_budget, ', ') FROM tokenmill.generation_outputs WHERE batch_id=$adaptive")"
[ -n "$EFFORT" ] && echo "adaptive+effort budgets used: $(q "SELECT string_agg(DISTINCT difficulty || '=' || thinking_budget, ', ') FROM tokenmill.generation_outputs WHERE batch_id=$adaptivee")"
if [ "$CHECK" -gt 0 ] && [ "$REPLAY" = 1 ]; then
    first=$(echo $FIXED | cut -d' ' -f1)
    check=$($TM generate --model "$MODEL" --prompts "$PROMPTS" --split heldout --reasoning "$REASONING" --policy fixed \
        --thinking "$first" --answer "$ANSWER" --limit "$CHECK" --batch-name "budgets $name replay check" 2>/dev/null)
    start_worker 0
    wait_done "$check"
    stop_worker
    # Identical text where decoding is batch-invariant; on quantized weights a fresh run in another batch
    # composition can take another wording at a near-tie (GreedyReplay's doc), so the verdicts are counted too.
    echo "replay check: $(q "SELECT count(*) FILTER (WHERE a.thinking_text = b.thinking_text AND a.answer_text = b.answer_text)
            || '/' || count(*) || ' outputs of fixed $first identical with and without replay, '
            || count(*) FILTER (WHERE a.correct IS NOT DISTINCT FROM b.correct) || '/' || count(*) || ' with the same verdict'
        FROM tokenmill.generation_outputs a JOIN tokenmill.generation_outputs b USING (item_id)
        WHERE a.batch_id = $check AND b.batch_id = $fixed1")"
fi
echo "-- 3. report (saving and Δacc against unlimited)"
others=(); for b in "${held[@]}"; do [ "$b" != "$adaptive" ] && others+=("$b"); done
$TM report --batch "$adaptive" --baseline "${others[@]}" --plot "$PLOT" \
    --title "Thinking budgets, held-out half ($(q "SELECT count(*) FROM tokenmill.generation_outputs WHERE batch_id=$unl") items): $name, greedy"
echo "-- 4. difficulty estimator"
$TM difficulty --prompts "$PROMPTS"
echo "total $(( $(date +%s) - start )) s"
