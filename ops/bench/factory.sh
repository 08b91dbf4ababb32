#!/usr/bin/env bash
# Factory throughput: the same prompt set three ways on this machine in one run.
#   (1) a TokenMill generate batch drained by one worker (--concurrency SEQS, plain chat, greedy)
#   (2) llama-server --parallel SEQS (same llama.cpp source as the other peer tools) and
#       factory_client.py posting each item as a chat request, SEQS at a time, same max_tokens, greedy
#   (3) llama-batched-bench at the batch's mean prompt and generation lengths and SEQS sequences
# and prints tokens/s ((prompt + generated) / wall) and items/s for each, with the ratios.
# With DISTILL=1 also: DISTILL_PROMPTS prompts x DISTILL_SAMPLES samples (temperature 0.8) as a
# TokenMill batch (one job per sample) against llama-server with one n=DISTILL_SAMPLES request per prompt.
#
# usage: ops/bench/factory.sh [MODEL.gguf ...]   (paths, or names in TOKENMILL_MODELS_DIR; default: Qwen2.5-Coder 0.5B Q4_K_M)
# Env: ITEMS (48, from jobs/prompts/math-mixed.jsonl), SEQS (8), THREADS (2, llama.cpp; the worker
#      uses every core, which is 2 here), MAX_TOKENS (128), PORT (18080), OUT_DIR (raw outputs),
#      TM_CONCURRENCY (worker --concurrency, default SEQS; 'auto' to let it size itself),
#      TOKENMILL_PEER_DIR / TOKENMILL_MODELS_DIR as in ops/bench/inference.sh.
# Needs: a release build, llama.cpp built by ops/llamacpp/build.sh (llama-server, llama-batched-bench).
# A benchmark, not a test: the figures depend on the machine and its load (printed alongside).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
source ops/pg.sh start >/dev/null
PEER_DIR="${TOKENMILL_PEER_DIR:-$HOME/.cache/tokenmill/peer}"
export TOKENMILL_MODELS_DIR="${TOKENMILL_MODELS_DIR:-$HOME/.cache/tokenmill/models}"
LLAMA="$PEER_DIR/llama_cpp_python-0.3.36/vendor/llama.cpp/build/bin"
TM="${TOKENMILL_BIN:-$ROOT/.build/release/tokenmill}"
ITEMS="${ITEMS:-48}"; SEQS="${SEQS:-8}"; THREADS="${THREADS:-2}"; MAX_TOKENS="${MAX_TOKENS:-128}"
PORT="${PORT:-18080}"; TM_CONCURRENCY="${TM_CONCURRENCY:-$SEQS}"
DISTILL="${DISTILL:-0}"; DISTILL_PROMPTS="${DISTILL_PROMPTS:-12}"; DISTILL_SAMPLES="${DISTILL_SAMPLES:-8}"
OUT_DIR="${OUT_DIR:-$(mktemp -d)}"; mkdir -p "$OUT_DIR"
models=("$@")
[ ${#models[@]} -gt 0 ] || models=("$TOKENMILL_MODELS_DIR/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
# A model is a path or a file name in $TOKENMILL_MODELS_DIR (with or without .gguf): both engines get the path.
for i in "${!models[@]}"; do
    m="${models[$i]}"
    if [ ! -f "$m" ]; then
        for c in "$TOKENMILL_MODELS_DIR/$m" "$TOKENMILL_MODELS_DIR/$m.gguf"; do [ -f "$c" ] && { models[$i]="$c"; break; }; done
    fi
    [ -f "${models[$i]}" ] || { echo "model not found: $m (a path, or a file in TOKENMILL_MODELS_DIR=$TOKENMILL_MODELS_DIR; ops/models/fetch.sh --all)" >&2; exit 1; }
done
[ -x "$TM" ] || { echo "build first: swift build -c release --product tokenmill" >&2; exit 1; }
for t in llama-server llama-batched-bench; do
    [ -x "$LLAMA/$t" ] || { echo "missing $LLAMA/$t: run ops/llamacpp/build.sh" >&2; exit 1; }
done

# The prompt set: a shared system prompt (as a real batch has) and each item's question.
SYSTEM="You are a careful math tutor. Answer the question, show the key step briefly, and end with the final answer."
mkset() { # N OUT [REPEAT] -> items with messages
    python3 - "$1" "$2" "${3:-1}" "$SYSTEM" <<'PY'
import json, sys
n, out, rep, system = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
src = [json.loads(l) for l in open("jobs/prompts/math-mixed.jsonl") if l.strip()]
with open(out, "w") as f:
    for i in range(n):
        it = src[i % len(src)]
        for r in range(rep):
            f.write(json.dumps({"id": f"{it['id']}-{i}-{r}", "difficulty": it["difficulty"], "reference": it["reference"],
                                "messages": [{"role": "system", "content": system}, {"role": "user", "content": it["prompt"]}]}) + "\n")
PY
}
mkset "$ITEMS" "$OUT_DIR/items.jsonl"
q() { psql "$DATABASE_URL" -tAc "$1"; }
load() { echo "load $(cut -d' ' -f1-3 /proc/loadavg), $(ps -eo pcpu= | awk '$1 > 20' | wc -l) processes above 20% CPU"; }
now() { date +%s.%N; }
$TM migrate >/dev/null

tokenmill_batch() { # MODEL FILE TAG extra generate args... -> prints "wall prompt generated items"
    local model=$1 file=$2 tag=$3; shift 3
    TOKENMILL_PROFILE=1 $TM worker --concurrency "$TM_CONCURRENCY" --kinds generate --log-level error \
        2>"$OUT_DIR/worker-$tag.err" &
    local w=$! t0 id t1
    sleep 1
    t0=$(now)
    id=$($TM generate --model "$model" --prompts "$file" --batch-name "factory $tag" --reasoning none --policy unlimited \
        --max-tokens "$MAX_TOKENS" "$@" 2>"$OUT_DIR/generate-$tag.err")
    while [ "$(q "SELECT pending FROM tokenmill.batch_progress WHERE batch_id = $id")" != 0 ]; do sleep 0.1; done
    t1=$(now)
    kill -TERM $w; wait $w 2>/dev/null || true
    read -r p g n < <(q "SELECT sum(prompt_tokens), sum(thinking_tokens + answer_tokens + forced_tokens), count(*)
                          FROM tokenmill.generation_outputs WHERE batch_id = $id" | tr '|' ' ')
    echo "$(echo "$t1 - $t0" | bc -l) $p $g $n"
}

llama_server_run() { # MODEL FILE TAG client args... -> prints "wall prompt generated items"
    local model=$1 file=$2 tag=$3; shift 3
    "$LLAMA/llama-server" -m "$model" -t "$THREADS" -tb "$THREADS" --parallel "$SEQS" -c $((SEQS * 1024)) \
        --host 127.0.0.1 --port "$PORT" >"$OUT_DIR/server-$tag.log" 2>&1 &
    local s=$!
    for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.2; done
    python3 ops/bench/factory_client.py "http://127.0.0.1:$PORT" "$file" --max-tokens "$MAX_TOKENS" --parallel "$SEQS" "$@" \
        > "$OUT_DIR/client-$tag.json"
    kill $s; wait $s 2>/dev/null || true
    # Generated tokens from the server's own per-slot timings: with n > 1 its responses' `usage`
    # counts one choice's tokens, not all of them.
    python3 - "$OUT_DIR/client-$tag.json" "$OUT_DIR/server-$tag.log" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))
decoded = [int(m.group(1)) for m in re.finditer(r"\|\s+eval time =\s+[\d.]+ ms /\s+(\d+) tokens", open(sys.argv[2]).read())]
print(r["wall_s"], r["prompt_tokens"], max(r["generated_tokens"], sum(decoded)), r["requests"])
PY
}

report() { # label wall prompt gen items  (rows of one comparison; the first is TokenMill)
    python3 - "$@" <<'PY'
import sys
a = sys.argv[1:]
rows = [(a[i], float(a[i+1]), int(float(a[i+2])), int(float(a[i+3])), int(float(a[i+4]))) for i in range(0, len(a), 5)]
tm = rows[0]
tm_tps, tm_ips = (tm[2] + tm[3]) / tm[1], tm[4] / tm[1]
print(f"{'run':<28} {'wall s':>8} {'prompt':>7} {'gen':>7} {'items':>6} {'tok/s':>8} {'items/s':>8} {'TM/x tok':>9} {'TM/x items':>11}")
for name, wall, p, g, n in rows:
    tps, ips = (p + g) / wall, n / wall
    print(f"{name:<28} {wall:8.2f} {p:7d} {g:7d} {n:6d} {tps:8.1f} {ips:8.3f} {tm_tps / tps:9.2f} {tm_ips / ips:11.2f}")
PY
}

for model in "${models[@]}"; do
    name=$(basename "$model" .gguf)
    echo "== $name: $ITEMS items, $SEQS sequences, max_tokens $MAX_TOKENS, llama.cpp threads $THREADS, TokenMill --concurrency $TM_CONCURRENCY"
    echo "host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, flags $(grep -o 'avx[^ ]*\|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')"
    echo "before TokenMill: $(load)"
    read -r tw tp tg tn < <(tokenmill_batch "$model" "$OUT_DIR/items.jsonl" "$name")
    grep -h "profile" "$OUT_DIR/worker-$name.err" | tail -n 2 || true
    echo "before llama-server: $(load)"
    read -r sw sp sg sn < <(llama_server_run "$model" "$OUT_DIR/items.jsonl" "$name")
    # llama-batched-bench at the TokenMill batch's mean lengths.
    npp=$(( (tp + tn / 2) / tn )); ntg=$(( (tg + tn / 2) / tn ))
    echo "before llama-batched-bench (pp $npp, tg $ntg, $SEQS sequences): $(load)"
    "$LLAMA/llama-batched-bench" -m "$model" -c $((SEQS * (npp + ntg) + 64)) -b 2048 -ub 512 -npp "$npp" -ntg "$ntg" \
        -npl "$SEQS" -t "$THREADS" -tb "$THREADS" --output-format jsonl > "$OUT_DIR/batched-$name.jsonl" 2>"$OUT_DIR/batched-$name.err"
    read -r bw < <(python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][-1]; print(r["t"])' "$OUT_DIR/batched-$name.jsonl")
    echo "after: $(load)"
    report "TokenMill generate batch" "$tw" "$tp" "$tg" "$tn" \
           "llama-server --parallel $SEQS" "$sw" "$sp" "$sg" "$sn" \
           "llama-batched-bench x$SEQS" "$bw" "$((npp * SEQS))" "$((ntg * SEQS))" "$SEQS"
    if [ "$DISTILL" = 1 ]; then
        mkset "$DISTILL_PROMPTS" "$OUT_DIR/distill-tm.jsonl" "$DISTILL_SAMPLES"
        mkset "$DISTILL_PROMPTS" "$OUT_DIR/distill-prompts.jsonl"
        echo "-- distill-style: $DISTILL_PROMPTS prompts x $DISTILL_SAMPLES samples, temperature 0.8; $(load)"
        read -r dw dp dg dn < <(tokenmill_batch "$model" "$OUT_DIR/distill-tm.jsonl" "$name-distill" --temp 0.8)
        grep -h "profile" "$OUT_DIR/worker-$name-distill.err" | tail -n 2 || true
        read -r lw lp lg ln < <(llama_server_run "$model" "$OUT_DIR/distill-prompts.jsonl" "$name-distill" \
            --samples "$DISTILL_SAMPLES" --temperature 0.8 --n --parallel $(( SEQS / DISTILL_SAMPLES > 0 ? SEQS / DISTILL_SAMPLES : 1 )))
        report "TokenMill samples batch" "$dw" "$dp" "$dg" "$dn" "llama-server n=$DISTILL_SAMPLES" "$lw" "$lp" "$lg" "$ln"
    fi
done
echo "raw outputs: $OUT_DIR"
