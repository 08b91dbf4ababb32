#!/usr/bin/env bash
# Quantization side by side: TokenMill and llama-quantize each make every type from the SAME
# full-precision source; every output is scored by TokenMill's evaluator (`tokenmill perplexity
# --kl-base`) and, as a cross-check, by llama-perplexity --kl-divergence, over the same text.
#
#   ops/bench/quantize.sh [MODEL] [TYPES...]
#   env: TOKENMILL (default .build/release/tokenmill), LLAMA_BIN (llama.cpp build/bin),
#        TEXT (evaluation text; default: ops/eval/text.txt + jobs/README.md + ops/eval/README.md),
#        CTX (window, default 128), CHUNKS (default all), THREADS (default 2), WORK (scratch dir)
#
# CAVEAT: no full-precision model is reachable here. The source is an F16 copy DEQUANTIZED from the
# shipped Q4_1 SmolLM2-135M; both tools start from that same F16 file, so the comparison is fair,
# but absolute KLDs are those of re-quantizing Q4_1-grid weights, not of quantizing original weights.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
MODEL="${1:-/work/models/smollm2-135m-instruct-q4_1.gguf}"; shift || true
TYPES=("$@"); [ ${#TYPES[@]} -eq 0 ] && TYPES=(Q8_0 Q6_K Q5_K_M Q4_K_M Q4_0 Q3_K_M Q2_K)
TM="${TOKENMILL:-$ROOT/.build/release/tokenmill}"
LB="${LLAMA_BIN:-/work/peer/llama_cpp_python-0.3.36/vendor/llama.cpp/build/bin}"
CTX="${CTX:-128}"; THREADS="${THREADS:-2}"; CHUNKS="${CHUNKS:-}"
WORK="${WORK:-/tmp/tokenmill-qbench}"; mkdir -p "$WORK"
[ -x "$TM" ] || { echo "build first: swift build -c release --product tokenmill" >&2; exit 2; }
[ -x "$LB/llama-quantize" ] || { echo "llama.cpp tools not found in $LB" >&2; exit 2; }
TEXT="${TEXT:-$WORK/eval.txt}"
if [ ! -s "$TEXT" ]; then cat "$ROOT/ops/eval/text.txt" "$ROOT/jobs/README.md" "$ROOT/ops/eval/README.md" > "$TEXT"; fi
chunk_tm=(); chunk_lc=(); [ -n "$CHUNKS" ] && chunk_tm=(--chunks "$CHUNKS") && chunk_lc=(--chunks "$CHUNKS")
now() { date +%s.%N; }

SRC="$WORK/src-F16.gguf"
if [ ! -s "$SRC" ]; then
    echo "# dequantizing $MODEL to F16 (the shared source; see CAVEAT)" >&2
    "$TM" quantize "$MODEL" "$SRC" F16 --allow-requantize --threads "$THREADS" >&2
fi
echo "# reference distributions: TokenMill (cached next to the source) and llama.cpp" >&2
"$TM" perplexity --model "$SRC" --file "$TEXT" --context "$CTX" "${chunk_tm[@]}" --threads "$THREADS" --json > "$WORK/src.tm.json"
"$LB/llama-perplexity" -m "$SRC" -f "$TEXT" -c "$CTX" "${chunk_lc[@]}" -t "$THREADS" --kl-divergence-base "$WORK/src.lc.kld" > "$WORK/src.lc.log" 2>&1

tm_eval() { "$TM" perplexity --model "$1" --kl-base "$SRC" --file "$TEXT" --context "$CTX" "${chunk_tm[@]}" --threads "$THREADS" --json 2>/dev/null; }
lc_eval() {
    "$LB/llama-perplexity" -m "$1" --kl-divergence-base "$WORK/src.lc.kld" --kl-divergence -t "$THREADS" > "$2" 2>&1 || true
    local kld ppl
    kld=$(grep -E "^Mean +KLD:" "$2" | awk '{print $3}')
    ppl=$(grep -E "^Mean +PPL\(Q\)" "$2" | awk '{print $4}')
    echo "${kld:-nan} ${ppl:-nan}"
}
field() { python3 -c "import json,sys; print(json.load(open('$1'))['$2'])"; }

printf "%-7s | %9s %9s %6s | %7s %7s %6s | %9s %9s %6s | %9s %9s | %8s %8s | %s\n" \
  type "MiB(TM)" "MiB(LC)" ratio "s(TM)" "s(LC)" ratio "KLD TM" "KLD LC" ratio "lcKLD TM" "lcKLD LC" "PPL TM" "PPL LC" "identical tensors"
for T in "${TYPES[@]}"; do
    a=$(now); "$TM" quantize "$SRC" "$WORK/tm-$T.gguf" "$T" --threads "$THREADS" > /dev/null 2>&1; b=$(now)
    "$LB/llama-quantize" "$SRC" "$WORK/lc-$T.gguf" "$T" "$THREADS" > "$WORK/lc-$T.quant.log" 2>&1; c=$(now)
    ttm=$(echo "$b - $a" | bc -l); tlc=$(echo "$c - $b" | bc -l)
    stm=$(stat -c %s "$WORK/tm-$T.gguf"); slc=$(stat -c %s "$WORK/lc-$T.gguf")
    tm_eval "$WORK/tm-$T.gguf" > "$WORK/tm-$T.eval.json"; tm_eval "$WORK/lc-$T.gguf" > "$WORK/lc-$T.eval.json"
    read -r lk_tm lp_tm < <(lc_eval "$WORK/tm-$T.gguf" "$WORK/tm-$T.lc.log")
    read -r lk_lc lp_lc < <(lc_eval "$WORK/lc-$T.gguf" "$WORK/lc-$T.lc.log")
    k_tm=$(field "$WORK/tm-$T.eval.json" meanKLD); k_lc=$(field "$WORK/lc-$T.eval.json" meanKLD)
    p_tm=$(field "$WORK/tm-$T.eval.json" perplexity); p_lc=$(field "$WORK/lc-$T.eval.json" perplexity)
    ident=$(python3 - "$WORK/tm-$T.gguf" "$WORK/lc-$T.gguf" <<'PY' 2>/dev/null || echo "n/a"
import sys
sys.path.insert(0, "/work/peer/llama_cpp_python-0.3.36/vendor/llama.cpp/gguf-py")
from gguf import GGUFReader
a, b = GGUFReader(sys.argv[1]), GGUFReader(sys.argv[2])
tb = {t.name: t for t in b.tensors}
same = sum(1 for t in a.tensors if t.name in tb and t.tensor_type == tb[t.name].tensor_type and t.data.tobytes() == tb[t.name].data.tobytes())
types = sum(1 for t in a.tensors if t.name in tb and t.tensor_type == tb[t.name].tensor_type)
print(f"{same}/{len(a.tensors)} bytes, {types}/{len(a.tensors)} types")
PY
)
    printf "%-7s | %9.2f %9.2f %6.3f | %7.2f %7.2f %6.2f | %9.5f %9.5f %6.3f | %9s %9s | %8.3f %8.3f | %s\n" \
      "$T" "$(echo "$stm/1048576" | bc -l)" "$(echo "$slc/1048576" | bc -l)" "$(echo "$stm/$slc" | bc -l)" \
      "$ttm" "$tlc" "$(echo "$ttm/$tlc" | bc -l)" "$k_tm" "$k_lc" "$(echo "$k_tm/$k_lc" | bc -l)" \
      "$lk_tm" "$lk_lc" "$p_tm" "$p_lc" "$ident"
done
echo "# source PPL (TokenMill evaluator): $(field "$WORK/src.tm.json" basePerplexity); text: $TEXT; window $CTX; threads $THREADS"
echo "# KLD TM / KLD LC: TokenMill's evaluator on TokenMill's / llama-quantize's file; lcKLD: llama-perplexity --kl-divergence on the same files"
