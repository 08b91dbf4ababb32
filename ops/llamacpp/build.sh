#!/usr/bin/env bash
# Build the llama.cpp peer engine (reference for logits, tokenizer and speed) from the
# llama-cpp-python 0.3.36 source distribution on PyPI. Idempotent: every step is skipped
# when its result is already there. Nothing is written inside the repository.
#
#   TOKENMILL_PEER_DIR   cache dir (default ~/.cache/tokenmill/peer)
#   JOBS                 parallel build jobs (default 2)
#
# Prints the bin directory on the last line of stdout.
set -euo pipefail

VERSION=0.3.36
PEER_DIR="${TOKENMILL_PEER_DIR:-$HOME/.cache/tokenmill/peer}"
JOBS="${JOBS:-2}"
SRC="$PEER_DIR/llama_cpp_python-$VERSION"
LLAMA="$SRC/vendor/llama.cpp"
BUILD="$LLAMA/build"

log() { echo "[llamacpp/build] $*" >&2; }

mkdir -p "$PEER_DIR"

# 1. Source distribution.
if [ ! -f "$LLAMA/CMakeLists.txt" ]; then
    tarball="$PEER_DIR/llama_cpp_python-$VERSION.tar.gz"
    if [ ! -f "$tarball" ]; then
        log "downloading llama-cpp-python==$VERSION sdist into $PEER_DIR"
        python3 -m pip download --no-deps --no-binary llama-cpp-python \
            "llama-cpp-python==$VERSION" -d "$PEER_DIR" >&2
    fi
    log "extracting $tarball"
    tar -xzf "$tarball" -C "$PEER_DIR"
fi

# 2. Build tools.
PATH="$HOME/.local/bin:$PATH"
if ! command -v cmake >/dev/null 2>&1 || ! command -v ninja >/dev/null 2>&1; then
    log "installing cmake and ninja with pip"
    python3 -m pip install --quiet cmake ninja >&2
    hash -r
    # pyenv shims may need a rehash before the new entry points are visible.
    command -v pyenv >/dev/null 2>&1 && pyenv rehash >/dev/null 2>&1 || true
fi
command -v cmake >/dev/null || { log "cmake not found after pip install; add pip's bin dir to PATH"; exit 1; }
command -v ninja >/dev/null || { log "ninja not found after pip install; add pip's bin dir to PATH"; exit 1; }

# 3. Configure (once). For the host's own CPU (GGML_NATIVE), except on AMX hosts: there this
#    llama.cpp's AMX matrix path dies with SIGILL at its first tile instruction (`tilezero`, seen
#    on a 2-vCPU Xeon with amx_tile/amx_int8, 2026-12-05: the 1.5B at 1 and 2 threads, SmolLM2 at 2), so the
#    peer is built for the host's other extensions, named one by one, with AMX off.
isa=(-DGGML_NATIVE=ON)
if grep -qw amx_tile /proc/cpuinfo 2>/dev/null; then
    has() { grep -qw "$1" /proc/cpuinfo && echo ON || echo OFF; }
    isa=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
         -DGGML_AVX512="$(has avx512f)" -DGGML_AVX512_VBMI="$(has avx512vbmi)" -DGGML_AVX512_VNNI="$(has avx512_vnni)"
         -DGGML_AVX512_BF16="$(has avx512_bf16)" -DGGML_AVX_VNNI="$(has avx_vnni)"
         -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF)
    log "AMX host: building without llama.cpp's AMX path (${isa[*]})"
fi
if [ ! -f "$BUILD/build.ninja" ]; then
    log "configuring in $BUILD"
    (cd "$LLAMA" && cmake -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF \
        "${isa[@]}" -DLLAMA_BUILD_TESTS=OFF >&2)
fi

# 4. Build only the targets the project uses. llama-completion is new; older trees
#    have llama-cli / llama-simple instead.
targets=(llama-bench llama-batched-bench llama-quantize llama-perplexity llama-tokenize llama-imatrix llama-server)
available=$(ninja -C "$BUILD" -t targets all 2>/dev/null | sed -n 's/^\(llama-[a-z-]*\): phony$/\1/p' | sort -u)
if grep -qx llama-completion <<<"$available"; then
    targets+=(llama-completion)
else
    for t in llama-cli llama-simple; do grep -qx "$t" <<<"$available" && targets+=("$t"); done
fi
log "building: ${targets[*]} (-j$JOBS)"
cmake --build "$BUILD" --target "${targets[@]}" -j "$JOBS" >&2

for t in "${targets[@]}"; do
    [ -x "$BUILD/bin/$t" ] || { log "missing $BUILD/bin/$t after build"; exit 1; }
done
log "ok: binaries in $BUILD/bin"
echo "$BUILD/bin"
