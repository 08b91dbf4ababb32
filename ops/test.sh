#!/usr/bin/env bash
# Runs every test: installs and starts a local PostgreSQL (ops/pg.sh), then `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
source ops/pg.sh start
echo "ops/test.sh: PostgreSQL up at $DATABASE_URL" >&2
swift build --build-tests 2>&1 | grep -E "error|warning: unre|Compiling|Build" | grep -v "^\[" || true
swift test "$@"
