"""pgqueuer side of ops/bench/queue.sh: N no-op jobs through 2 worker processes, then latency at a steady
insert rate. Prints "<jobs/s> <p50 ms> <p99 ms>". Uses its own tables (public.pgqueuer*) in the bench DB."""
import asyncio
import multiprocessing
import os
import sys
import time

import asyncpg
from pgqueuer.db import AsyncpgDriver
from pgqueuer.qm import QueueManager
from pgqueuer.queries import Queries

URL, N, RATE = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
STOP = os.environ.get("PGQ_BENCH_STOP") or f"/tmp/pgq-bench-stop-{os.getpid()}"
os.environ["PGQ_BENCH_STOP"] = STOP  # spawned workers see the same stop file


def worker() -> None:
    async def main() -> None:
        conn = await asyncpg.connect(URL)
        qm = QueueManager(Queries(AsyncpgDriver(conn)))

        @qm.entrypoint("noop")
        async def noop(job) -> None:
            pass

        async def watch() -> None:
            while not os.path.exists(STOP):
                await asyncio.sleep(0.2)
            qm.shutdown.set()

        asyncio.get_running_loop().create_task(watch())
        await qm.run(batch_size=50)

    asyncio.run(main())


async def main() -> None:
    conn = await asyncpg.connect(URL)
    q = Queries(AsyncpgDriver(conn))
    try:
        await q.install()
    except Exception:
        pass
    await conn.execute("TRUNCATE pgqueuer, pgqueuer_log")
    for i in range(0, N, 10000):
        k = min(10000, N - i)
        await q.enqueue(["noop"] * k, [None] * k, [0] * k)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=worker) for _ in range(2)]
    for p in procs:
        p.start()
    while await conn.fetchval("SELECT count(*) FROM pgqueuer") > 0:
        await asyncio.sleep(0.2)
    rate = await conn.fetchval("""
        SELECT count(*) FILTER (WHERE status = 'successful') / extract(epoch FROM max(created) - min(created))
          FROM pgqueuer_log WHERE status IN ('picked', 'successful')""")
    # Latency: single inserts at RATE/s for 10 s while the workers idle.
    first = await conn.fetchval("SELECT coalesce(max(job_id), 0) FROM pgqueuer_log")
    t0 = time.monotonic()
    sent = 0
    while time.monotonic() - t0 < 10:
        await q.enqueue("noop", None)
        sent += 1
        ahead = sent / RATE - (time.monotonic() - t0)
        if ahead > 0:
            await asyncio.sleep(ahead)
    while await conn.fetchval("SELECT count(*) FROM pgqueuer") > 0:
        await asyncio.sleep(0.2)
    p50, p99 = await conn.fetchrow("""
        WITH l AS (SELECT job_id, min(created) FILTER (WHERE status = 'queued') AS q,
                              min(created) FILTER (WHERE status = 'picked') AS p
                     FROM pgqueuer_log WHERE job_id > $1 GROUP BY job_id)
        SELECT 1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM p - q)),
               1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM p - q))
          FROM l WHERE p IS NOT NULL AND q IS NOT NULL""", first)
    open(STOP, "w").close()
    for p in procs:
        p.join(timeout=30)
        if p.is_alive():
            p.terminate()
    os.unlink(STOP)
    print(f"{float(rate):.0f} {float(p50 or 0):.2f} {float(p99 or 0):.2f}")


if __name__ == "__main__":
    asyncio.run(main())
