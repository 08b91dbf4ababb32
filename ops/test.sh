#!/usr/bin/env bash
# Runs every test: installs and starts a local PostgreSQL (ops/pg.sh), prepares the official openai
# client for the OpenAI Batch file checks (ops/openai/venv.sh), builds, checks the systemd unit
# (ops/service/verify.sh), then `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
source ops/pg.sh start
echo "ops/test.sh: PostgreSQL up at $DATABASE_URL" >&2
if py=$(bash ops/openai/venv.sh); then
    export TOKENMILL_OPENAI_PYTHON="$py"
else
    echo "ops/test.sh: WARNING: could not install the openai client; batch output files are checked by structure only" >&2
fi
swift build --build-tests 2>&1 | grep -E "error|warning: unre|Compiling|Build" | grep -v "^\[" || true
bash ops/service/verify.sh
swift test "$@"
