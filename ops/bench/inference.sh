#!/usr/bin/env bash
# Inference speed: llama.cpp vs TokenMill on the same GGUF files, same thread count,
# plus the memory-bandwidth ceiling for decoding.
#
# usage: ops/bench/inference.sh [--llama-only | --tokenmill-only] [MODEL.gguf ...]
#   default models: the three from ops/models/fetch.sh --all (missing ones are skipped);
#   a MODEL is a path, or a file name in $TOKENMILL_MODELS_DIR (".gguf" may be left off)
#
# Per model:
#   llama-bench -m M -p 128 -n 64 -t $THREADS -r $REPS -o json
#   llama-batched-bench -m M -c 4096 -b 2048 -ub 512 -npp 128 -ntg 64 -npl 8,16
#                       -t $THREADS -tb $THREADS --output-format jsonl
#   tokenmill bench --model M -p 128 -n 64 --sequences 1,8,16 --threads $THREADS --json
#     (contract: JSON array of {n_prompt, n_gen, n_threads, avg_ts, stddev_ts, n_sequences};
#      prompt tests have n_gen 0, generation tests n_prompt 0, as in llama-bench)
#   tokenmill bench --model M -p 128 -n 64 --sequences 1 -r 1 (a process of its own: memory)
#   llama-bench -m M -p 0 -n 64 -d $DEPTH and tokenmill bench -p 0 -n 64 -d $DEPTH: one sequence's
#     decode with DEPTH positions already in its KV cache (a reasoning output's length), where
#     attention reads as much as the small models' weights (row "tg64 @ d1024")
#   membw (ops/bench/membw.c): 1 GiB read/copy, 1 and $THREADS threads
# llama-bench and the one-sequence tokenmill bench run under ops/bench/peak_rss.py, which
# records each process's peak resident set (the same test, pp128 + tg64 of one sequence).
# Then ops/bench/summarize.py prints: model, test, llama.cpp t/s, TokenMill t/s, ratio,
# decode GB/s (weight bytes per decode step x steps/s; batched steps serve n sequences),
# and the two engines' peak resident memory side by side.
#
# Env: TOKENMILL_PEER_DIR, TOKENMILL_MODELS_DIR, TOKENMILL_BIN, THREADS (2), REPS (3),
#      ROUNDS (1: each model's llama.cpp and TokenMill runs are repeated ROUNDS times, alternating
#      which engine goes first; the table then gives the median ratio of the rounds and each
#      round's, since a single pair taken a minute apart can move with the host's neighbours),
#      OUT_DIR (default /tmp/tokenmill-bench-<UTC time>; results and summary.json go there),
#      DEPTH (1024: the positions in the KV cache for the "tg64 @ dDEPTH" row; 0 skips that row),
#      WAIT_IDLE (seconds to wait before each model for the 1-minute load average to drop
#      below QUIET_LOAD (default 1.0); default 0 = do not wait). The machine is shared:
#      the load average before/after each model is recorded in machine.txt, and figures
#      taken under load (other builds) are not comparable. SKIP_IF_BUSY=1 skips a model
#      (and membw) instead of measuring it when the machine is still busy after the wait.
# Re-running with --tokenmill-only into an OUT_DIR of an earlier --llama-only run joins the
# two (machine.txt is appended to); prefer one run, so both engines see the same load.
# llama.cpp runs with its defaults otherwise (KV f16, flash attention auto, repack on).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PEER_DIR="${TOKENMILL_PEER_DIR:-$HOME/.cache/tokenmill/peer}"
MODELS_DIR="${TOKENMILL_MODELS_DIR:-$HOME/.cache/tokenmill/models}"
BIN="$PEER_DIR/llama_cpp_python-0.3.36/vendor/llama.cpp/build/bin"
THREADS="${THREADS:-2}"
REPS="${REPS:-3}"
DEPTH="${DEPTH:-1024}"
ROUNDS="${ROUNDS:-1}"
OUT="${OUT_DIR:-/tmp/tokenmill-bench-$(date -u +%Y%m%dT%H%M%SZ)}"
RUN_LLAMA=1; RUN_TM=1
models=()
for a in "$@"; do
    case "$a" in
        --llama-only) RUN_TM=0 ;;
        --tokenmill-only) RUN_LLAMA=0 ;;
        -h|--help) sed -n '2,40p' "$0"; exit 0 ;;
        *)  # a path, or a file name (with or without .gguf) in $MODELS_DIR
            if [ -f "$a" ]; then models+=("$a")
            elif [ -f "$MODELS_DIR/$a" ]; then models+=("$MODELS_DIR/$a")
            elif [ -f "$MODELS_DIR/$a.gguf" ]; then models+=("$MODELS_DIR/$a.gguf")
            else echo "[bench] no model file $a (neither a path nor in $MODELS_DIR)" >&2; exit 1; fi ;;
    esac
done
if [ ${#models[@]} -eq 0 ]; then
    for n in smollm2-135m-instruct-q4_1 qwen2.5-coder-0.5b-instruct-q4_k_m qwen2.5-coder-1.5b-instruct-q4_k_m; do
        if [ -f "$MODELS_DIR/$n.gguf" ]; then models+=("$MODELS_DIR/$n.gguf")
        else echo "[bench] skipping $n: not in $MODELS_DIR (run ops/models/fetch.sh --all)" >&2; fi
    done
fi
[ ${#models[@]} -gt 0 ] || { echo "[bench] no models" >&2; exit 1; }
mkdir -p "$OUT"
echo "[bench] results in $OUT" >&2

if [ "$RUN_LLAMA" = 1 ] && [ ! -x "$BIN/llama-bench" ]; then
    echo "[bench] llama.cpp not built in $BIN; run ops/llamacpp/build.sh (or use --tokenmill-only)" >&2
    exit 1
fi

TM="${TOKENMILL_BIN:-}"
if [ -z "$TM" ]; then
    for c in "$ROOT/.build/release/tokenmill" "$(command -v tokenmill || true)"; do
        [ -n "$c" ] && [ -x "$c" ] && { TM="$c"; break; }
    done
fi
if [ "$RUN_TM" = 1 ] && [ -z "$TM" ]; then
    echo "[bench] TokenMill release binary not found: build it with" >&2
    echo "[bench]   swift build -c release --product tokenmill   (or set TOKENMILL_BIN)" >&2
    echo "[bench] continuing with llama.cpp figures only." >&2
    RUN_TM=0
fi

# Machine description for the record.
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($(nproc) cores visible)"
    echo "threads: $THREADS"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$OUT/machine.txt"
tail -4 "$OUT/machine.txt" >&2

WAIT_IDLE="${WAIT_IDLE:-0}"
QUIET_LOAD="${QUIET_LOAD:-1.0}"
load1() { cut -d' ' -f1 /proc/loadavg; }
wait_quiet() {
    local waited=0
    while [ "$waited" -lt "$WAIT_IDLE" ] && awk -v l="$(load1)" -v q="$QUIET_LOAD" 'BEGIN{exit !(l >= q)}'; do
        sleep 10; waited=$((waited + 10))
    done
    if awk -v l="$(load1)" -v q="$QUIET_LOAD" 'BEGIN{exit !(l >= q)}'; then
        if [ "${SKIP_IF_BUSY:-0}" = 1 ]; then
            echo "[bench] load average $(load1) >= $QUIET_LOAD after ${WAIT_IDLE}s: skipping (SKIP_IF_BUSY=1)" >&2
            return 1
        fi
        echo "[bench] WARNING: load average $(load1) >= $QUIET_LOAD: other work shares the cores, figures will be low" >&2
    fi
    return 0
}

# Memory bandwidth.
MEMBW="$PEER_DIR/bin/membw"
if [ ! -x "$MEMBW" ] || [ "$HERE/membw.c" -nt "$MEMBW" ]; then
    mkdir -p "$PEER_DIR/bin"
    ${CC:-cc} -O3 -march=native -pthread "$HERE/membw.c" -o "$MEMBW"
fi
: >"$OUT/membw.jsonl"
if wait_quiet; then
    for t in $(printf '%s\n' 1 "$THREADS" | sort -un); do "$MEMBW" 1024 "$t" 5 >>"$OUT/membw.jsonl"; done
fi

run_llama() { # STEM MODEL PREFIX
    echo "[bench] $1: llama-bench${3:+ (round $(tr -dc 0-9 <<<"$3"))}" >&2
    python3 "$HERE/peak_rss.py" "$OUT/$1.$3llama-bench.rss.json" \
        "$BIN/llama-bench" -m "$2" -p 128 -n 64 -t "$THREADS" -r "$REPS" -o json >"$OUT/$1.$3llama-bench.json" 2>"$OUT/$1.$3llama-bench.log"
    echo "[bench] $1: llama-batched-bench" >&2
    "$BIN/llama-batched-bench" -m "$2" -c 4096 -b 2048 -ub 512 -npp 128 -ntg 64 -npl 8,16 \
        -t "$THREADS" -tb "$THREADS" --output-format jsonl >"$OUT/$1.$3batched.out" 2>&1
    grep '^{' "$OUT/$1.$3batched.out" >"$OUT/$1.$3batched.jsonl" || {
        echo "[bench] llama-batched-bench gave no results; see $OUT/$1.$3batched.out" >&2; }
    if [ "$DEPTH" -gt 0 ]; then
        echo "[bench] $1: llama-bench at depth $DEPTH" >&2
        "$BIN/llama-bench" -m "$2" -p 0 -n 64 -d "$DEPTH" -t "$THREADS" -r "$REPS" -o json \
            >"$OUT/$1.$3llama-depth.json" 2>"$OUT/$1.$3llama-depth.log" || rm -f "$OUT/$1.$3llama-depth.json"
    fi
}
run_tokenmill() { # STEM MODEL PREFIX
    echo "[bench] $1: tokenmill bench ($TM)${3:+ (round $(tr -dc 0-9 <<<"$3"))}" >&2
    if ! "$TM" bench --model "$2" -p 128 -n 64 --sequences 1,8,16 --threads "$THREADS" --json \
            >"$OUT/$1.$3tokenmill.json" 2>"$OUT/$1.$3tokenmill.log"; then
        echo "[bench] tokenmill bench failed for $1; see $OUT/$1.$3tokenmill.log" >&2
        rm -f "$OUT/$1.$3tokenmill.json"
    fi
    if [ "$DEPTH" -gt 0 ]; then
        "$TM" bench --model "$2" -p 0 -n 64 -d "$DEPTH" --sequences 1 --threads "$THREADS" -r "$REPS" --json \
            >"$OUT/$1.$3tokenmill-depth.json" 2>"$OUT/$1.$3tokenmill-depth.log" || rm -f "$OUT/$1.$3tokenmill-depth.json"
    fi
    # Peak resident memory of llama-bench's test (pp128 and tg64, one sequence) in a process of its own.
    python3 "$HERE/peak_rss.py" "$OUT/$1.$3tokenmill.rss.json" \
        "$TM" bench --model "$2" -p 128 -n 64 --sequences 1 --threads "$THREADS" -r 1 --json >/dev/null 2>&1 || true
}

for m in "${models[@]}"; do
    stem="$(basename "$m" .gguf)"
    wait_quiet || continue
    echo "$m" >"$OUT/$stem.path"
    echo "$stem: load before $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
    # Round 1 writes STEM.*, round r > 1 STEM.r<r>.*; odd rounds run llama.cpp first, even rounds
    # TokenMill first, so a slow drift of the host's speed does not favour one engine.
    for r in $(seq 1 "$ROUNDS"); do
        prefix=""; [ "$r" -gt 1 ] && prefix="r$r."
        for engine in $(if [ $((r % 2)) = 1 ]; then echo llama tokenmill; else echo tokenmill llama; fi); do
            if [ "$engine" = llama ] && [ "$RUN_LLAMA" = 1 ]; then run_llama "$stem" "$m" "$prefix"; fi
            if [ "$engine" = tokenmill ] && [ "$RUN_TM" = 1 ]; then run_tokenmill "$stem" "$m" "$prefix"; fi
        done
    done
    echo "$stem: load after $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
done
if [ "$RUN_LLAMA" = 0 ]; then
    echo "[bench] --tokenmill-only: llama.cpp rows appear only if OUT_DIR already holds them from an earlier run" >&2
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
python3 "$HERE/summarize.py" "$OUT" | tee "$OUT/summary.md"
