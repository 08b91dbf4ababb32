#!/usr/bin/env bash
# Queue benchmark (figures, not a timed test). On the local server (ops/pg.sh), in a scratch database:
#  1. TokenMill: N noop jobs (default 100,000) enqueued with COPY, worked off by two `tokenmill worker`
#     processes: jobs/s; then insert-to-start latency p50/p99 for single-row INSERTs at a steady rate.
#  2. The limit: a bare FOR UPDATE SKIP LOCKED claim-and-complete loop under pgbench.
#  3. A Python queue from PyPI (pgqueuer, in a venv under .tokenmill/) with no-op tasks.
#  4. How fast a SIGKILLed worker's job runs again, in lease periods.
#   bash ops/bench/queue.sh            # N=20000 bash ops/bench/queue.sh for a quick run
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
N=${N:-100000}
CONC=${CONC:-64}
RATE=${RATE:-500}
if [ -z "${DATABASE_URL:-}" ]; then source ops/pg.sh start; fi
PGBIN=${TOKENMILL_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)}
ADMIN_URL="${DATABASE_URL%/*}/postgres"
URL="${DATABASE_URL%/*}/tm_bench"
PSQL() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$URL" "$@"; }
q() { "$PGBIN/psql" -X -qAt "$URL" -c "$1"; }
"$PGBIN/psql" -X -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS tm_bench WITH (FORCE)" -c "CREATE DATABASE tm_bench"

swift build -c release --product tokenmill 2>&1 | tail -n1
BIN=$ROOT/.build/release/tokenmill
export DATABASE_URL=$URL
$BIN migrate >/dev/null
mkdir -p .tokenmill/bench
W=.tokenmill/bench

wait_done() { # $1 = SQL count, $2 = target
    while [ "$(q "$1")" -lt "$2" ]; do sleep 0.2; done
}

echo "== 1. TokenMill: $N noop jobs, 2 workers x concurrency $CONC"
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) print "{}" }' > $W/noop.jsonl
t0=$(date +%s.%N)
$BIN enqueue --kind noop --file $W/noop.jsonl --batch-name bench >/dev/null
t1=$(date +%s.%N)
enq_rate=$(awk "BEGIN { print $N / ($t1 - $t0) }")
$BIN worker --concurrency $CONC --log-level warning & w1=$!
$BIN worker --concurrency $CONC --log-level warning & w2=$!
trap 'kill -TERM $w1 $w2 2>/dev/null || true' EXIT
wait_done "SELECT count(*) FROM tokenmill.jobs WHERE state = 'succeeded'" "$N"
tm_rate=$(q "SELECT round(count(*) / extract(epoch FROM max(finished_at) - min(started_at)))::int FROM tokenmill.jobs")
echo "   enqueue (validate + COPY): $(printf %.0f "$enq_rate") jobs/s; run: $tm_rate jobs/s"

echo "== 1b. insert-to-start latency: single-row INSERTs at $RATE/s for 10 s, workers idle and LISTENing"
maxid=$(q "SELECT max(id) FROM tokenmill.jobs")
echo "INSERT INTO tokenmill.jobs (kind, payload) VALUES ('noop', '{}');" > $W/insert.sql
"$PGBIN/pgbench" -n -f $W/insert.sql -R "$RATE" -T 10 -c 2 -j 1 "$URL" >/dev/null 2>&1
inserted=$(q "SELECT count(*) FROM tokenmill.jobs WHERE id > $maxid")
wait_done "SELECT count(*) FROM tokenmill.jobs WHERE id > $maxid AND state = 'succeeded'" "$inserted"
read -r tm_p50 tm_p99 < <(q "SELECT round(1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at))::numeric, 2),
                                  round(1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at))::numeric, 2)
                             FROM tokenmill.jobs WHERE id > $maxid" | tr '|' ' ')
echo "   $inserted jobs: p50 ${tm_p50} ms, p99 ${tm_p99} ms"
kill -TERM $w1 $w2; wait $w1 $w2 || true
trap - EXIT

echo "== 2. limit: bare SKIP LOCKED claim + complete loop under pgbench (4 clients, 10 s each)"
PSQL <<'SQL'
CREATE TABLE bench_q (id bigserial PRIMARY KEY, state text NOT NULL DEFAULT 'available', payload jsonb NOT NULL DEFAULT '{}',
                      locked_by int, created_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz);
CREATE INDEX bench_q_avail ON bench_q (id) WHERE state = 'available';
CREATE INDEX bench_q_running ON bench_q (locked_by) WHERE state = 'running';
INSERT INTO bench_q (payload) SELECT '{}' FROM generate_series(1, 1000000);
VACUUM ANALYZE bench_q;
SQL
# One job per claim (the textbook loop) and 32 per claim (what TokenMill's workers do).
for B in 1 32; do
cat > $W/claim$B.sql <<SQL
WITH c AS (SELECT id FROM bench_q WHERE state = 'available' ORDER BY id LIMIT $B FOR UPDATE SKIP LOCKED)
UPDATE bench_q q SET state = 'running', locked_by = :client_id FROM c WHERE q.id = c.id;
UPDATE bench_q SET state = 'done', finished_at = now() WHERE state = 'running' AND locked_by = :client_id;
SQL
done
tps1=$("$PGBIN/pgbench" -n -f $W/claim1.sql -c 4 -j 2 -T 10 "$URL" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n1)
tps32=$("$PGBIN/pgbench" -n -f $W/claim32.sql -c 4 -j 2 -T 10 "$URL" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n1)
pg1=$(awk "BEGIN { printf \"%.0f\", $tps1 }")
pg_rate=$(awk "BEGIN { printf \"%.0f\", $tps32 * 32 }")
echo "   1 job per claim: $pg1 jobs/s; 32 jobs per claim: $pg_rate jobs/s (the limit used below)"

echo "== 3. pgqueuer (PyPI), 2 worker processes, no-op tasks, $N jobs"
VENV=.tokenmill/pyq
if [ ! -x $VENV/bin/python ] || ! $VENV/bin/python -c "import pgqueuer, asyncpg" 2>/dev/null; then
    python3 -m venv $VENV && $VENV/bin/pip install -q pgqueuer asyncpg
fi
py_out=$($VENV/bin/python ops/bench/pgqueuer_bench.py "$URL" "$N" "$RATE" 2>$W/pgqueuer.err) || { cat $W/pgqueuer.err; py_out="0 0 0"; }
read -r py_rate py_p50 py_p99 <<< "$py_out"
echo "   run: $py_rate jobs/s; latency at $RATE/s: p50 ${py_p50} ms, p99 ${py_p99} ms"

echo "== 4. SIGKILLed worker: time until its job runs again (lease 2 s)"
q "INSERT INTO tokenmill.jobs (kind, payload) VALUES ('noop', '{\"sleep_ms\": 600000}')"
$BIN worker --concurrency 1 --lease-seconds 2 --log-level error & wa=$!
wait_done "SELECT count(*) FROM tokenmill.jobs WHERE state = 'running'" 1
kill -KILL $wa; wait $wa 2>/dev/null || true
killed=$(q "SELECT extract(epoch FROM clock_timestamp())")
$BIN worker --concurrency 1 --lease-seconds 2 --log-level error & wb=$!
wait_done "SELECT count(*) FROM tokenmill.jobs WHERE state = 'running' AND attempt = 2" 1
rerun=$(q "SELECT round((extract(epoch FROM started_at) - $killed)::numeric, 2) FROM tokenmill.jobs WHERE attempt = 2")
$BIN cancel --job "$(q "SELECT id FROM tokenmill.jobs WHERE attempt = 2")" >/dev/null
kill -TERM $wb; wait $wb || true
echo "   ran again ${rerun} s after SIGKILL = $(awk "BEGIN { printf \"%.2f\", $rerun / 2 }") lease periods (goal: <= 2)"

echo
echo "== summary ($(nproc) cores)"
printf "   TokenMill          %8s jobs/s   p50 %7s ms  p99 %7s ms\n" "$tm_rate" "$tm_p50" "$tm_p99"
printf "   pgbench SKIP LOCKED %7s jobs/s   (limit: 32 per claim; 1 per claim: %s jobs/s)\n" "$pg_rate" "$pg1"
printf "   pgqueuer           %8s jobs/s   p50 %7s ms  p99 %7s ms\n" "$py_rate" "$py_p50" "$py_p99"
printf "   TokenMill / pgbench  = %.2f   (goal >= 0.5)\n" "$(awk "BEGIN { print $tm_rate / $pg_rate }")"
[ "${py_rate%.*}" -gt 0 ] 2>/dev/null && printf "   TokenMill / pgqueuer = %.2f\n" "$(awk "BEGIN { print $tm_rate / $py_rate }")"
printf "   goal >= 5000 jobs/s: %s\n" "$([ "$tm_rate" -ge 5000 ] && echo met || echo NOT met)"
