#!/usr/bin/env bash
# A throwaway virtualenv with the official `openai` client, for checking the OpenAI Batch files that
# `tokenmill batch output` writes (ops/openai/check_files.py). Prints the interpreter's path on stdout.
# Idempotent (kept under .tokenmill/venv-openai); installs python3-venv with apt when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.tokenmill/venv-openai
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import openai" 2>/dev/null; then
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" 2>/dev/null; then
        SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        echo "ops/openai/venv.sh: installing python3-venv with apt" >&2
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3 python3-venv >/dev/null
    fi
    rm -rf "$VENV"
    python3 -m venv "$VENV" >&2
    "$VENV/bin/pip" install --quiet --disable-pip-version-check openai >&2
fi
echo "$PWD/$VENV/bin/python"
