#!/usr/bin/env bash
# Tokens per CPU-second, llama.cpp vs TokenMill, one thread: a comparison that a machine shared with
# other work distorts far less than wall-clock t/s (no thread waits on a descheduled partner).
#
# usage: ops/bench/cpu_ab.sh [MODEL.gguf ...]   (default: the three models of inference.sh)
#
# Per model and test (pp128: -p 128 -n 0; tg64: -p 0 -n 64), `perf stat -e task-clock` of
#   llama-bench -m M ARGS -t 1 -r {1,4}      and      tokenmill bench --model M ARGS --threads 1 -r {1,4}
# tokens per CPU-second = 3 × tokens / (CPU(r=4) − CPU(r=1)): the difference cancels model load and
# warm-up. Prints one line per model and test with the load average when it ran.
# Env: TOKENMILL_PEER_DIR, TOKENMILL_MODELS_DIR, TOKENMILL_BIN (default .build/release/tokenmill).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PEER_DIR="${TOKENMILL_PEER_DIR:-$HOME/.cache/tokenmill/peer}"
MODELS_DIR="${TOKENMILL_MODELS_DIR:-$HOME/.cache/tokenmill/models}"
B="$PEER_DIR/llama_cpp_python-0.3.36/vendor/llama.cpp/build/bin"
TM="${TOKENMILL_BIN:-$ROOT/.build/release/tokenmill}"
command -v perf >/dev/null || { echo "perf not found (apt-get install linux-perf)" >&2; exit 1; }
[ -x "$B/llama-bench" ] || { echo "llama.cpp not built in $B; run ops/llamacpp/build.sh" >&2; exit 1; }
[ -x "$TM" ] || { echo "no TokenMill binary at $TM; swift build -c release --product tokenmill" >&2; exit 1; }
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
    for n in smollm2-135m-instruct-q4_1 qwen2.5-coder-0.5b-instruct-q4_k_m qwen2.5-coder-1.5b-instruct-q4_k_m; do
        [ -f "$MODELS_DIR/$n.gguf" ] && models+=("$MODELS_DIR/$n.gguf")
    done
fi
# CPU milliseconds of a command.
cpu() { perf stat -x, -e task-clock "$@" 2>&1 >/dev/null | grep task-clock | cut -d, -f1; }
echo "tokenmill: $("$TM" inspect "${models[0]}" 2>/dev/null | grep '^kernels:' || true)"
for m in "${models[@]}"; do
    stem="$(basename "$m" .gguf)"
    for t in pp128 tg64; do
        if [ "$t" = pp128 ]; then A=(-p 128 -n 0); N=128; else A=(-p 0 -n 64); N=64; fi
        l1=$(cpu "$B/llama-bench" -m "$m" "${A[@]}" -t 1 -r 1); l4=$(cpu "$B/llama-bench" -m "$m" "${A[@]}" -t 1 -r 4)
        t1=$(cpu "$TM" bench --model "$m" "${A[@]}" --threads 1 -r 1); t4=$(cpu "$TM" bench --model "$m" "${A[@]}" --threads 1 -r 4)
        python3 -c "
l = ($l4 - $l1) / 1000 / (3 * $N); t = ($t4 - $t1) / 1000 / (3 * $N)
print(f'$stem $t: llama.cpp {1 / l:7.1f} tok/CPU-s, TokenMill {1 / t:7.1f} tok/CPU-s, ratio {l / t:5.2f} (load $(cut -d' ' -f1 /proc/loadavg))')"
    done
done
