#!/usr/bin/env bash
# Runs every test: installs and starts a local PostgreSQL (ops/pg.sh), prepares the official openai
# client for the OpenAI Batch file checks (ops/openai/venv.sh), builds, checks the systemd unit
# (ops/service/verify.sh), then `swift test`.
#
# With no arguments the tests run as two processes side by side: the compute suites (kernels, forward
# pass, GGUF, tokenizers, the llama.cpp parity checks) and everything else (the queue against
# PostgreSQL, jobs, verification). Swift Testing runs a process's tests on Swift's cooperative pool, one
# thread per core, and a synchronous kernel test holds its thread for seconds: on a 2-core machine two
# of them starved the queue tests' timers and database round trips in the same process (beside the
# kernel suites a 3 s shutdown test took 55 s, and once ran past its grace). Separate processes are
# scheduled by the kernel instead. Any arguments go to one plain `swift test "$@"`.
set -euo pipefail
cd "$(dirname "$0")/.."
source ops/pg.sh start
echo "ops/test.sh: PostgreSQL up at $DATABASE_URL" >&2
if py=$(bash ops/openai/venv.sh); then
    export TOKENMILL_OPENAI_PYTHON="$py"
else
    echo "ops/test.sh: WARNING: could not install the openai client; batch output files are checked by structure only" >&2
fi
build_log=$(mktemp)
set +e
swift build --build-tests 2>&1 | tee "$build_log" | grep -E "error|warning: unre|Compiling|Build" | grep -v "^\["
build_rc=${PIPESTATUS[0]}
set -e
if [ "$build_rc" -ne 0 ]; then
    tail -n 40 "$build_log" >&2
    echo "ops/test.sh: swift build --build-tests failed (rc $build_rc)" >&2
    exit "$build_rc"
fi
rm -f "$build_log"
bash ops/service/verify.sh
if [ $# -gt 0 ]; then
    exec swift test "$@"
fi
# The synchronous compute suites (kernels, forward passes, the llama.cpp parity suites, the quantizer's
# round trips) in one process, everything with timers and database round trips in the other: Swift
# Testing runs a process's tests on one cooperative thread per core, which a synchronous test holds.
compute='TensorKernelsTests|InferenceTests|GGUFTests|TokenizersTests|ParityTests|QuantizeJobsTests\.QuantizeTests'
# SwiftPM locks .build for each invocation; with --skip-build both only read it.
swift test --skip-build --ignore-lock --filter "$compute" 2>&1 | sed -u 's/^/[compute] /' &
compute_pid=$!
rest=0
swift test --skip-build --ignore-lock --skip "$compute" 2>&1 | sed -u 's/^/[queue+jobs] /' || rest=$?
compute_rc=0
wait "$compute_pid" || compute_rc=$?
echo "ops/test.sh: compute suites rc $compute_rc, queue and job suites rc $rest" >&2
[ "$compute_rc" -eq 0 ] && [ "$rest" -eq 0 ]
