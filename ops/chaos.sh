#!/usr/bin/env bash
# Fault injection against a throwaway local PostgreSQL, under the least-privilege roles.
#
# A generate batch (tiny random-weight model from `tokenmill dev-tiny-model`, or CHAOS_MODEL=<gguf>)
# and a quantize job (tiny F32 model from `tokenmill dev-quant-model`) are submitted as
# tokenmill_submitter and run by workers logged in as tokenmill_worker, while the script:
#   1. sigkill      SIGKILLs workers (one of them while it is quantizing) and starts new ones;
#   2. pg-restart   stops PostgreSQL for CHAOS_DOWN seconds (default 30 = three 10 s leases), starts it;
#   3. full-disk    points a quantize job at a tmpfs of CHAOS_TMPFS_KB (default 3072) KiB that fills up
#                   (when mounting is not permitted, or CHAOS_NO_MOUNT=1: a worker under `ulimit -f`,
#                   EFBIG instead of ENOSPC);
#   4. bad-inputs   enqueues a file with invalid UTF-8 and \u0000 lines (--skip-bad-lines) and inserts
#                   bad payloads with plain SQL (negative, 1e12 budgets, unknown difficulty, 10 MB prompt).
# Per fault it prints: jobs lost, jobs completed twice, work redone (jobs run again and the tokens
# they generated more than once; results discarded), files left behind. Goal: 0 0 0 0. Then it
# greps every log for the three passwords used in the URLs (three forms, and $PGPASSWORD).
#
# Local only (127.0.0.1, a Unix socket under the work dir); bounded: every wait has a timeout and
# the whole run stops after CHAOS_MAX_SECONDS (default 1200).
#   bash ops/chaos.sh                        # needs a built tokenmill (swift build [-c release])
#   TOKENMILL_BIN=.build/release/tokenmill CHAOS_ITEMS=400 bash ops/chaos.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${TOKENMILL_BIN:-}"
if [ -z "$BIN" ]; then
    for b in "$ROOT/.build/release/tokenmill" "$ROOT/.build/debug/tokenmill"; do [ -x "$b" ] && { BIN="$b"; break; }; done
fi
[ -x "${BIN:-}" ] || { echo "ops/chaos.sh: no tokenmill binary: run swift build (or set TOKENMILL_BIN)" >&2; exit 2; }
LEASE="${CHAOS_LEASE:-10}"
DOWN="${CHAOS_DOWN:-30}"
ITEMS="${CHAOS_ITEMS:-200}"
MAX_SECONDS="${CHAOS_MAX_SECONDS:-1200}"
TMPFS_KB="${CHAOS_TMPFS_KB:-3072}"
PGBIN="${TOKENMILL_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}"
[ -x "$PGBIN/pg_ctl" ] || { echo "ops/chaos.sh: PostgreSQL binaries not found (source ops/pg.sh installs them)" >&2; exit 2; }

WORK="$(mktemp -d /tmp/tm-chaos.XXXXXX)"
chmod 755 "$WORK"
PORT=$(( 21000 + RANDOM % 8000 ))   # below the ephemeral port range, so a restart finds it free
PW_W="WorkerPw4chaos"; PW_S="SubmitPw4chaos"; PW_R="ReaderPw4chaos"; PW_ENV="EnvPw4chaos"
ADMIN="postgresql://tokenmill@127.0.0.1:$PORT/chaos"
WURL="postgresql://mill_worker@127.0.0.1:$PORT/chaos?password=$PW_W"           # ?password= form
SURL="postgresql://mill_submitter:$PW_S@127.0.0.1:$PORT/chaos"                 # user-info form
RURL="host=127.0.0.1 port=$PORT dbname=chaos user=mill_reader password=$PW_R"  # key=value form
export PGPASSWORD="$PW_ENV"                                                    # environment form
T0=$SECONDS
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_start() { as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w -t 60 start >/dev/null; }
pg_stop() { as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast -w stop >/dev/null 2>&1 || true; }
psql_admin() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -tA "$ADMIN" "$@"; }
q() { psql_admin -c "$1"; }
left() { echo $(( MAX_SECONDS - (SECONDS - T0) )); }

WORKERS=()
MOUNTED=""
cleanup() {
    for p in "${WORKERS[@]:-}"; do [ -n "$p" ] && kill -KILL "$p" 2>/dev/null || true; done
    [ -n "$MOUNTED" ] && umount "$MOUNTED" 2>/dev/null || true
    pg_stop
    if [ -z "${CHAOS_KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}
trap cleanup EXIT
# Watchdog: the whole run is bounded.
( sleep "$MAX_SECONDS"; echo "ops/chaos.sh: over $MAX_SECONDS s, stopping" >&2; kill -TERM $$ 2>/dev/null ) &
WATCHDOG=$!
trap 'kill $WATCHDOG 2>/dev/null || true; cleanup' EXIT
trap 'exit 143' TERM INT

log() { printf '[%4ds] %s\n' $(( SECONDS - T0 )) "$*" >&2; }

# --- server, schema, roles -------------------------------------------------------------------
if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$WORK"; fi
as_pg "$PGBIN/initdb" -D "$WORK/pg" -U tokenmill --auth=trust -E UTF8 >/dev/null
cat >> "$WORK/pg/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$WORK'
fsync = off
CONF
pg_start
"$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U tokenmill chaos
"$BIN" migrate --database-url "$ADMIN" >/dev/null
q "CREATE ROLE mill_worker LOGIN PASSWORD '$PW_W' IN ROLE tokenmill_worker;
   CREATE ROLE mill_submitter LOGIN PASSWORD '$PW_S' IN ROLE tokenmill_submitter;
   CREATE ROLE mill_reader LOGIN PASSWORD '$PW_R' IN ROLE tokenmill_reader;"
log "PostgreSQL on 127.0.0.1:$PORT, work dir $WORK, binary $BIN, lease ${LEASE}s"

# --- models and inputs -----------------------------------------------------------------------
mkdir -p "$WORK/models" "$WORK/out"
chmod 777 "$WORK/out"
MODEL="${CHAOS_MODEL:-$WORK/models/gen.gguf}"
[ -n "${CHAOS_MODEL:-}" ] || "$BIN" dev-tiny-model --arch qwen2 --out "$MODEL" --seed 7 2>/dev/null
QSRC="$WORK/models/quant-f32.gguf"
"$BIN" dev-quant-model --out "$QSRC"
python3 - "$WORK" <<'PY'
import sys, random
w = sys.argv[1]
words = "the mill turns grain into flour while water runs under a stone wheel and the miller counts sacks".split()
random.seed(5)
open(f"{w}/eval.txt", "w").write(" ".join(random.choice(words) for _ in range(1500)))
PY
prompts() { # $1 file, $2 count, $3 tag
    python3 - "$1" "$2" "$3" <<'PY'
import json, sys
path, n, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    for i in range(n):
        f.write(json.dumps({"id": f"{tag}-{i}", "prompt": f"Question {i}: what is {i} plus {i}? <think>",
                            "difficulty": ["easy", "medium", "hard"][i % 3], "reference": str(2 * i)}) + "\n")
PY
}
QTYPES='["Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0", "Q3_K_M", "Q2_K"]'
submit_generate() { # $1 tag -> batch id on stdout
    prompts "$WORK/$1.jsonl" "$ITEMS" "$1"
    "$BIN" generate --database-url "$SURL" --model "$MODEL" --prompts "$WORK/$1.jsonl" --no-chat --policy per_difficulty \
        --table easy=32:16,medium=96:24,hard=160:32 --batch-name "chaos $1" --max-attempts 5 2>>"$WORK/submit.log"
}
submit_quantize() { # $1 tag, $2 output dir, $3 max attempts -> batch id
    printf '{"source": "%s", "types": %s, "output_dir": "%s", "name": "%s", "threads": 1, "eval": {"text": "%s", "context": 32, "chunks": 2}}\n' \
        "$QSRC" "$QTYPES" "$2" "$1" "$WORK/eval.txt" > "$WORK/$1-q.jsonl"
    "$BIN" enqueue --database-url "$SURL" --kind quantize --file "$WORK/$1-q.jsonl" --batch-name "chaos $1 quantize" \
        --max-attempts "$3" --priority 1 2>>"$WORK/submit.log" | sed -E 's/^batch ([0-9]+):.*/\1/'
}

# --- workers -----------------------------------------------------------------------------------
NEXT=0
PREFIX=()
start_worker() { # [extra args...] -> pid in $LAST_PID; runs under "${PREFIX[@]}" when set
    NEXT=$((NEXT + 1))
    "${PREFIX[@]}" "$BIN" worker --database-url "$WURL" --concurrency 2 --lease-seconds "$LEASE" --poll-seconds 1 \
        --max-connections 3 --backoff-base 1 --backoff-max 5 "$@" >>"$WORK/worker-$NEXT.log" 2>&1 &
    LAST_PID=$!
    WORKERS+=("$LAST_PID")
}
stop_workers() {
    for p in "${WORKERS[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
    for p in "${WORKERS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
    WORKERS=()
}
wait_for() { # $1 seconds, $2 SQL returning t/f
    local end=$(( SECONDS + $1 ))
    while [ $SECONDS -lt $end ] && [ "$(left)" -gt 5 ]; do
        [ "$(q "$2" 2>/dev/null || echo f)" = "t" ] && return 0
        sleep 0.5
    done
    return 1
}
batches_done() { echo "SELECT coalesce(bool_and(status <> 'in_progress'), true) FROM tokenmill.batches WHERE id IN ($1)"; }
discarded() { cat "$WORK"/worker-*.log 2>/dev/null | grep -c "result discarded" || true; }

# --- measuring ---------------------------------------------------------------------------------
RESULTS=()
measure() { # $1 fault name, $2 batch ids (comma list), $3 output dir, $4 discarded-before, $5 expected failed jobs
    local ids="$2"
    local lost twice rerun tokens files disc failed
    lost=$(q "SELECT (SELECT count(*) FROM tokenmill.jobs WHERE batch_id IN ($ids) AND state NOT IN ('succeeded', 'failed', 'cancelled'))
                   + (SELECT count(*) FROM tokenmill.jobs j WHERE batch_id IN ($ids) AND kind = 'generate' AND state = 'succeeded'
                        AND NOT EXISTS (SELECT 1 FROM tokenmill.generation_outputs o WHERE o.job_id = j.id))
                   + (SELECT count(*) FROM tokenmill.jobs j WHERE batch_id IN ($ids) AND kind = 'quantize' AND state = 'succeeded'
                        AND (SELECT count(*) FROM tokenmill.quantization_results r WHERE r.job_id = j.id) <> jsonb_array_length(j.payload->'types'))
                   + (SELECT count(*) FROM tokenmill.jobs WHERE batch_id IN ($ids) AND state = 'failed'
                        AND coalesce(last_error, '') NOT LIKE '%payload rejected%' AND coalesce(last_error, '') NOT LIKE '%space%'
                        AND coalesce(last_error, '') NOT LIKE '%too large%')")
    # One output row per job is the table's key; an item (id) with two rows would have been generated twice.
    twice=$(q "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM tokenmill.generation_outputs WHERE batch_id IN ($ids)
                 GROUP BY coalesce(item_id, 'job ' || job_id)) x")
    rerun=$(q "SELECT coalesce(sum(attempt - 1), 0) FROM tokenmill.jobs WHERE batch_id IN ($ids) AND attempt > 1")
    tokens=$(q "SELECT coalesce(sum((j.attempt - 1) * (o.thinking_tokens + o.answer_tokens + o.forced_tokens)), 0)
                  FROM tokenmill.jobs j JOIN tokenmill.generation_outputs o ON o.job_id = j.id WHERE j.batch_id IN ($ids)")
    failed=$(q "SELECT count(*) FROM tokenmill.jobs WHERE batch_id IN ($ids) AND state = 'failed'")
    disc=$(( $(discarded) - $4 ))
    files=$(find "$3" -name '*.tmp-*' 2>/dev/null | wc -l)
    RESULTS+=("$(printf '%-12s %5s %6s   %3s jobs, %6s tokens, %2s discarded %11s   %5s jobs failed (expected %s)' \
        "$1" "$lost" "$twice" "$rerun" "$tokens" "$disc" "$files" "$failed" "$5")")
    log "$1: lost $lost, twice $twice, re-run $rerun jobs ($tokens tokens), discarded $disc, files left $files, failed $failed"
}

# === 1. SIGKILL ===================================================================================
log "fault 1: SIGKILL workers (one while quantizing)"
D0=$(discarded)
G1=$(submit_generate kill)
Q1=$(submit_quantize kill "$WORK/out" 5)
start_worker; start_worker
wait_for 120 "SELECT count(*) >= $((ITEMS / 5)) FROM tokenmill.generation_outputs WHERE batch_id = $G1" || true
# The worker holding the quantize job, once it is writing outputs.
wait_for 120 "SELECT EXISTS (SELECT 1 FROM tokenmill.jobs WHERE batch_id = $Q1 AND state = 'running' AND progress->>'message' LIKE '%tensor%')" || true
QPID=$(q "SELECT split_part(locked_by, ':', 2) FROM tokenmill.jobs WHERE batch_id = $Q1 AND state = 'running'")
if [ -n "$QPID" ]; then kill -KILL "$QPID" 2>/dev/null && log "SIGKILLed worker $QPID while it was quantizing"; fi
start_worker
wait_for 120 "SELECT count(*) >= $((ITEMS / 2)) FROM tokenmill.generation_outputs WHERE batch_id = $G1" || true
VICTIM=$(q "SELECT split_part(locked_by, ':', 2) FROM tokenmill.jobs WHERE batch_id = $G1 AND state = 'running' LIMIT 1")
if [ -n "$VICTIM" ]; then kill -KILL "$VICTIM" 2>/dev/null && log "SIGKILLed worker $VICTIM while it was generating"; fi
start_worker
wait_for 300 "$(batches_done "$G1,$Q1")" || log "fault 1: batches not finished in time"
measure sigkill "$G1,$Q1" "$WORK/out" "$D0" 0
stop_workers

# === 2. PostgreSQL down for $DOWN s ===============================================================
log "fault 2: PostgreSQL stopped for ${DOWN}s (lease ${LEASE}s)"
D0=$(discarded)
G2=$(submit_generate restart)
Q2=$(submit_quantize restart "$WORK/out" 5)
start_worker; start_worker
wait_for 120 "SELECT count(*) >= $((ITEMS / 4)) FROM tokenmill.generation_outputs WHERE batch_id = $G2" || true
RUNNING=$(q "SELECT count(*) FROM tokenmill.jobs WHERE batch_id IN ($G2, $Q2) AND state = 'running'")
CONN=$("$BIN" status --database-url "$RURL" 2>&1 | grep '^WORKERS' || true)
pg_stop
log "PostgreSQL stopped with $RUNNING jobs running"
sleep "$DOWN"
pg_start
log "PostgreSQL started again"
wait_for 300 "$(batches_done "$G2,$Q2")" || log "fault 2: batches not finished in time"
measure pg-restart "$G2,$Q2" "$WORK/out" "$D0" 0
stop_workers

# === 3. Output directory fills up =================================================================
log "fault 3: quantize outputs into a full ${TMPFS_KB} KiB directory"
D0=$(discarded)
FULL="$WORK/full"
mkdir -p "$FULL"
if [ -z "${CHAOS_NO_MOUNT:-}" ] && mount -t tmpfs -o "size=${TMPFS_KB}k,mode=0777" tmpfs "$FULL" 2>/dev/null; then
    MOUNTED="$FULL"
    log "tmpfs of ${TMPFS_KB} KiB mounted on $FULL"
    Q3=$(submit_quantize full "$FULL" 2)
    start_worker --kinds quantize
else
    chmod 777 "$FULL"
    log "mount not permitted: the worker runs under ulimit -f ${TMPFS_KB} (EFBIG instead of ENOSPC)"
    Q3=$(submit_quantize full "$FULL" 2)
    PREFIX=(bash -c 'trap "" XFSZ; ulimit -f "$0"; exec "$@"' "$TMPFS_KB")  # EFBIG, not a SIGXFSZ kill
    start_worker --kinds quantize
    PREFIX=()
fi
wait_for 300 "$(batches_done "$Q3")" || log "fault 3: batch not finished in time"
ERR3=$(q "SELECT coalesce(last_error, state::text) FROM tokenmill.jobs WHERE batch_id = $Q3")
log "fault 3: the quantize job ended with: ${ERR3:0:200}"
measure full-disk "$Q3" "$FULL" "$D0" 1
stop_workers
[ -n "$MOUNTED" ] && { umount "$MOUNTED"; MOUNTED=""; }

# === 4. Bad inputs ===============================================================================
log "fault 4: bad inputs (enqueue bytes, SQL inserts)"
D0=$(discarded)
python3 - "$WORK/bad.jsonl" "$MODEL" <<'PY'
import sys
path, model = sys.argv[1], sys.argv[2]
good = lambda i: ('{"model": "%s", "prompt": "good %d <think>", "chat": false, "budget": {"policy": "fixed", "thinking": 16, "answer": 8}}' % (model, i)).encode()
with open(path, "wb") as f:
    f.write(good(1) + b"\n")
    f.write(b'{"model": "m", "prompt": "bad \xff\xfe bytes"}\n')
    f.write(b'{"model": "m", "prompt": "nul \\u0000 here"}\n')
    f.write(good(2) + b"\n")
PY
ENQ=$("$BIN" enqueue --database-url "$SURL" --kind generate --file "$WORK/bad.jsonl" --skip-bad-lines 2>"$WORK/bad-enqueue.err" || true)
G4=$(echo "$ENQ" | sed -E 's/^batch ([0-9]+):.*/\1/')
log "enqueue: $ENQ; $(tr '\n' ' ' < "$WORK/bad-enqueue.err" | cut -c1-240)"
BIG=$(python3 -c "print('x' * (10 << 20))")
psql_admin -c "INSERT INTO tokenmill.batches (id, name, kind) OVERRIDING SYSTEM VALUE VALUES (9999, 'chaos bad sql', 'generate')" >/dev/null
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$SURL" >/dev/null <<SQL
INSERT INTO tokenmill.jobs (batch_id, kind, payload) VALUES
 (9999, 'generate', '{"model": "$MODEL", "prompt": "x", "budget": {"policy": "fixed", "thinking": -50, "answer": -1}}'),
 (9999, 'generate', '{"model": "$MODEL", "prompt": "x", "difficulty": "extreme"}'),
 (9999, 'generate', '{"model": "$MODEL", "prompt": "x", "budget": {"policy": "fixed", "thinking": 1e12, "answer": 1e12}}'),
 (9999, 'generate', '{"model": "$MODEL", "prompt": "x", "sampling": {"temperature": -1, "top_p": 7}}');
INSERT INTO tokenmill.jobs (batch_id, kind, payload) VALUES (9999, 'generate', jsonb_build_object('model', '$MODEL', 'prompt', '$BIG'));
SQL
start_worker --kinds generate
wait_for 120 "$(batches_done "${G4:-0},9999")" || log "fault 4: batches not finished in time"
q "SELECT ' job ' || id || ' (attempt ' || attempt || ', ' || round(extract(epoch FROM finished_at - created_at)::numeric, 1) || ' s): '
          || left(coalesce(last_error, state::text), 150) FROM tokenmill.jobs WHERE batch_id = 9999 ORDER BY id" >&2
SLOW=$(q "SELECT count(*) FROM tokenmill.jobs WHERE batch_id = 9999 AND (attempt <> 1 OR finished_at - created_at > interval '30 seconds')")
log "bad SQL payloads held a slot past 30 s or ran twice: $SLOW"
measure bad-inputs "${G4:-0},9999" "$WORK/out" "$D0" 5
stop_workers

# === secrets =====================================================================================
LEAKS=$(cat "$WORK"/worker-*.log "$WORK"/submit.log "$WORK"/bad-enqueue.err 2>/dev/null | grep -c -e "$PW_W" -e "$PW_S" -e "$PW_R" -e "$PW_ENV" || true)
# A worker that cannot connect logs the URL it tried; none of the forms may show the password.
for url in "$WURL" "postgresql://u:$PW_S@127.0.0.1:1/x" "host=127.0.0.1 port=1 user=u password=$PW_R"; do
    timeout 3 "$BIN" worker --database-url "$url" --kinds noop >>"$WORK/unreachable.log" 2>&1 || true
    "$BIN" status --database-url "$url" >>"$WORK/unreachable.log" 2>&1 || true
done
LEAKS=$(( LEAKS + $(grep -c -e "$PW_W" -e "$PW_S" -e "$PW_R" -e "$PW_ENV" "$WORK/unreachable.log" || true) ))

echo
echo "ops/chaos.sh: $ITEMS generate items per batch, model $(basename "$MODEL"), lease ${LEASE}s, PostgreSQL down ${DOWN}s, $(basename "$(dirname "$(dirname "$BIN")")")/$(basename "$(dirname "$BIN")") build"
printf '%-12s %5s %6s   %-40s %11s   %s\n' fault lost twice "work redone" "files-left" "failed jobs"
for r in "${RESULTS[@]}"; do echo "$r"; done
echo "passwords in logs and messages: $LEAKS"
echo "status as tokenmill_reader during fault 2: ${CONN:-unavailable}"
echo "run time: $(( SECONDS - T0 )) s"
