#!/usr/bin/env bash
# Logits agreement between llama.cpp (reference) and TokenMill (candidate) on a real model.
#
# usage: ops/eval/compare_engines.sh MODEL.gguf [TEXTFILE=ops/eval/text.txt]
#
# 1. tokenizes TEXTFILE with llama-tokenize --no-parse-special --no-escape (BOS added iff
#    the model's tokenizer.ggml.add_bos_token says so); when the TokenMill binary is there,
#    also with `tokenmill tokenize -m MODEL --file TEXTFILE --ids --no-parse-special` and
#    reports whether the two id lists agree (the logits step always uses llama.cpp's ids),
# 2. keeps the first MAX_TOKENS (default 512) ids,
# 3. llama.cpp logits:  dump_logits -m MODEL -f IDS -o ref.f32 (KV f32, flash-attn off)
# 4. TokenMill logits:  tokenmill logits --model MODEL --tokens-file IDS --out cand.f32
# 5. prints ops/eval/kld.py's figures (mean/p99/max KLD, top-1 agreement, max |diff|),
# 6. unless FLOOR=0, the noise floor: each engine against itself run one token per forward
#    pass (dump_logits --ubatch 1, tokenmill logits --ubatch 1). Both engines round
#    activations to 8 bits; a float summation-order difference that moves one activation
#    across a rounding boundary changes the logits after it, so an engine disagrees with
#    itself between batch sizes by about as much as two engines that share its arithmetic.
#    Then TokenMill four tokens a pass against one (the same product kernels: the floor as
#    llama.cpp's own measures it where llama.cpp has no batched kernel for the format, e.g.
#    Q4_1), TokenMill at its kernel level against the next level down (two float orders of the
#    same rounding), and for each floor the rows that agree bit for bit: llama.cpp's batch and
#    one-token passes are identical over a prefix on some models (SmolLM2: 31 positions), which
#    lowers its mean without saying anything about its noise there.
#
# Env: TOKENMILL_PEER_DIR, TOKENMILL_BIN (default: .build/release/tokenmill, then
#      .build/debug/tokenmill, then `tokenmill` on PATH), THREADS (2), MAX_TOKENS (512),
#      KV (f32|f16, reference KV cache type), WORK_DIR (temp dir; kept when set),
#      MAX_KLD (fail when the mean KLD exceeds it), FLOOR (1: also measure the floor).
set -euo pipefail

[ $# -ge 1 ] || { sed -n '2,29p' "$0"; exit 2; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
MODEL="$1"
TEXT="${2:-$HERE/text.txt}"
THREADS="${THREADS:-2}"
MAX_TOKENS="${MAX_TOKENS:-512}"
KV="${KV:-f32}"
PEER_DIR="${TOKENMILL_PEER_DIR:-$HOME/.cache/tokenmill/peer}"
BIN="$PEER_DIR/llama_cpp_python-0.3.36/vendor/llama.cpp/build/bin"

[ -f "$MODEL" ] || { echo "model not found: $MODEL (see ops/models/fetch.sh)" >&2; exit 1; }
[ -x "$BIN/llama-tokenize" ] || { echo "llama.cpp not built in $BIN; run ops/llamacpp/build.sh" >&2; exit 1; }
DUMP="$("$ROOT/ops/fixtures/build_dump.sh")"

if [ -n "${WORK_DIR:-}" ]; then mkdir -p "$WORK_DIR"; W="$WORK_DIR"; else
    W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
fi

"$BIN/llama-tokenize" -m "$MODEL" -f "$TEXT" --ids --log-disable --no-escape --no-parse-special >"$W/all_ids.json"
python3 - "$W/all_ids.json" "$W/ids.txt" "$MAX_TOKENS" <<'PY'
import json, sys
ids = json.load(open(sys.argv[1]))[: int(sys.argv[3])]
open(sys.argv[2], "w").write(" ".join(map(str, ids)) + "\n")
print(f"tokens: {len(ids)} (first: {ids[:8]})", file=sys.stderr)
PY
N=$(wc -w <"$W/ids.txt")

echo "== llama.cpp reference ($THREADS threads, KV $KV)" >&2
t0=$(date +%s.%N)
"$DUMP" -m "$MODEL" -f "$W/ids.txt" -o "$W/ref.f32" -t "$THREADS" --kv "$KV" --flash-attn off
t1=$(date +%s.%N)

TM="${TOKENMILL_BIN:-}"
if [ -z "$TM" ]; then
    for c in "$ROOT/.build/release/tokenmill" "$ROOT/.build/debug/tokenmill" "$(command -v tokenmill || true)"; do
        [ -n "$c" ] && [ -x "$c" ] && { TM="$c"; break; }
    done
fi
if [ -z "$TM" ] || [ ! -x "$TM" ]; then
    echo "TokenMill binary not found (build it: swift build -c release --product tokenmill, or set TOKENMILL_BIN)." >&2
    echo "Reference logits only: $W/ref.f32 ($N x vocab); set WORK_DIR to keep them." >&2
    exit 3
fi
echo "== TokenMill candidate: $TM" >&2
if "$TM" tokenize -m "$MODEL" --file "$TEXT" --ids --no-parse-special >"$W/tm_ids.json" 2>"$W/tm_tokenize.log"; then
    python3 - "$W/all_ids.json" "$W/tm_ids.json" <<'PY'
import re, sys
a = [int(t) for t in re.findall(r"-?\d+", open(sys.argv[1]).read())]
b = [int(t) for t in re.findall(r"-?\d+", open(sys.argv[2]).read())]
if a == b:
    print(f"tokenizer: identical ({len(a)} ids)")
else:
    i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
    print(f"tokenizer: DIFFERENT (llama.cpp {len(a)} ids, TokenMill {len(b)}; first difference at index {i}: "
          f"{a[i:i + 5]} vs {b[i:i + 5]})")
PY
else
    echo "tokenizer: tokenmill tokenize failed, skipped (see $W/tm_tokenize.log)" >&2
fi
if ! "$TM" logits --model "$MODEL" --tokens-file "$W/ids.txt" --out "$W/cand.f32"; then
    echo "tokenmill logits failed (is the hidden 'logits' command in this build?)" >&2
    exit 4
fi
t2=$(date +%s.%N)
printf 'model %s, %d tokens; llama.cpp %.2fs, TokenMill %.2fs (wall, incl. load)\n' \
    "$(basename "$MODEL")" "$N" "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)"
args=("$W/ref.f32" "$W/cand.f32" --rows "$N" --tokens "$W/ids.txt")
[ -n "${MAX_KLD:-}" ] && args+=(--max-kld "$MAX_KLD")
python3 "$HERE/kld.py" "${args[@]}"

if [ "${FLOOR:-1}" = 1 ]; then
    echo
    echo "== noise floor: llama.cpp batch vs llama.cpp one token per pass" >&2
    "$DUMP" -m "$MODEL" -f "$W/ids.txt" -o "$W/ref_u1.f32" -t "$THREADS" --kv "$KV" --flash-attn off --ubatch 1
    echo "llama.cpp batch vs llama.cpp --ubatch 1:"
    python3 "$HERE/kld.py" "$W/ref.f32" "$W/ref_u1.f32" --rows "$N"
    echo "== noise floor: TokenMill batch vs TokenMill one token per pass" >&2
    "$TM" logits --model "$MODEL" --tokens-file "$W/ids.txt" --out "$W/cand_u1.f32" --ubatch 1
    echo "TokenMill batch vs TokenMill --ubatch 1:"
    python3 "$HERE/kld.py" "$W/cand.f32" "$W/cand_u1.f32" --rows "$N"
    echo "llama.cpp --ubatch 1 vs TokenMill --ubatch 1 (both as a decode loop runs):"
    python3 "$HERE/kld.py" "$W/ref_u1.f32" "$W/cand_u1.f32" --rows "$N"
    # TokenMill four tokens a pass against one: its kernels of one to four sequences sum each sequence
    # in the same order, so only attention and the passes' split differ, as in llama.cpp's own floor on
    # formats it has no batched kernel for (its batch then runs the one-token dot products: Q4_1, Q5_1).
    # There llama.cpp's floor leaves out the matrix products' float order, which two engines always
    # differ in; this row shows the same floor measured the same way on TokenMill.
    echo "== noise floor: TokenMill four tokens per pass vs one (the same product kernels)" >&2
    "$TM" logits --model "$MODEL" --tokens-file "$W/ids.txt" --out "$W/cand_u4.f32" --ubatch 4
    echo "TokenMill --ubatch 4 vs TokenMill --ubatch 1 (same product kernels):"
    python3 "$HERE/kld.py" "$W/cand_u4.f32" "$W/cand_u1.f32" --rows "$N"
    # Two float orders of the same arithmetic: TokenMill at its kernel level against the next level
    # down (amx or avx512gfni -> avx512 -> avx2 -> portable). Every level rounds activations as ggml does and sums in its
    # own order, so this is how far two correct implementations drift apart on this model.
    level="$("$TM" inspect "$MODEL" 2>/dev/null | sed -n 's/^kernels: \([a-z0-9]*\).*/\1/p' | head -1)"
    case "$level" in amx|avx512gfni) other=avx512 ;; avx512) other=avx2 ;; avx2) other=portable ;; *) other="" ;; esac
    if [ -n "$other" ]; then
        echo "== noise floor: TokenMill $level vs TokenMill $other (batch)" >&2
        TOKENMILL_KERNELS="$other" "$TM" logits --model "$MODEL" --tokens-file "$W/ids.txt" --out "$W/cand_$other.f32"
        echo "TokenMill $level vs TokenMill $other kernels:"
        python3 "$HERE/kld.py" "$W/cand.f32" "$W/cand_$other.f32" --rows "$N"
    fi
fi
