#!/usr/bin/env python3
"""A jobkeeper worker with asyncpg.

The same loop as psycopg_worker.py in asyncio: LISTEN jobkeeper_jobs as a wake-up with
polling as the fallback (--no-listen behind PgBouncer), claim, a heartbeat task on its own
connection, progress, complete, or fail with the error. Behind PgBouncer in transaction mode
asyncpg must not cache prepared statements: statement_cache_size=0 (--pooler).
"""
import argparse
import asyncio
import sys
import time

import asyncpg

CLAIM = """SELECT id, file_name, file_path, attempts, max_attempts
             FROM jobkeeper.claim_jobs($1, $2, $3, make_interval(secs => $4))"""


def process(job):
    """The application's work on one file (blocking); here: read it, "transcribe" it."""
    with open(job["file_path"], "rb") as f:
        data = f.read()
    if b"BROKEN" in data:
        raise ValueError(f"cannot decode {job['file_name']}: not an audio file")
    if b"LONG" in data:  # a long recording: longer than the lease, which the heartbeat extends
        time.sleep(4)
    return len(data)


async def heartbeat(dsn, worker, lease, cache, held, stop):
    """Every lease/3 seconds extends the leases of the jobs in held, on a connection of its
    own, until stop is set."""
    conn = await asyncpg.connect(dsn, statement_cache_size=cache)
    try:
        while True:
            try:
                await asyncio.wait_for(stop.wait(), lease / 3)
                return
            except asyncio.TimeoutError:
                pass
            for job_id in list(held):
                if not await conn.fetchval(
                        "SELECT jobkeeper.heartbeat($1, $2, make_interval(secs => $3))",
                        job_id, worker, lease):
                    held.discard(job_id)  # the lease expired and someone else has the job
    finally:
        await conn.close()


async def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--worker", required=True)
    ap.add_argument("--queue", action="append")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--lease", type=float, default=30)
    ap.add_argument("--poll", type=float, default=2)
    ap.add_argument("--idle-exit", type=float, default=0)
    ap.add_argument("--no-listen", action="store_true")
    ap.add_argument("--pooler", action="store_true")
    args = ap.parse_args()
    cache = 0 if args.pooler else 100
    conn = await asyncpg.connect(args.dsn, statement_cache_size=cache)
    woken = asyncio.Event()
    listener = None
    if not args.no_listen:
        listener = await asyncpg.connect(args.dsn)
        await listener.add_listener("jobkeeper_jobs", lambda *_: woken.set())

    held = set()
    stop = asyncio.Event()
    beat = asyncio.create_task(heartbeat(args.dsn, args.worker, args.lease, cache, held, stop))
    try:
        loop = asyncio.get_running_loop()
        idle_since = loop.time()
        while True:
            jobs = await conn.fetch(CLAIM, args.worker, args.batch, args.queue, args.lease)
            if not jobs:
                if args.idle_exit and loop.time() - idle_since > args.idle_exit:
                    break
                woken.clear()
                try:
                    await asyncio.wait_for(woken.wait(), args.poll)
                except asyncio.TimeoutError:
                    pass  # the poll
                continue
            held.update(job["id"] for job in jobs)
            for job in jobs:
                try:
                    # The work runs in a thread: the event loop stays free for the heartbeat.
                    await loop.run_in_executor(None, process, job)
                    for percent in (25, 50, 75):
                        await conn.execute("SELECT jobkeeper.set_job_progress($1, $2)",
                                           job["id"], percent)
                    await conn.execute("SELECT jobkeeper.complete_job($1, $2)",
                                       job["id"], args.worker)
                    print(f"done {job['id']}", flush=True)
                except Exception as e:
                    await conn.execute("SELECT jobkeeper.fail_job($1, $2, $3)", job["id"], str(e),
                                       args.worker)
                    print(f"failed {job['id']} {job['attempts']}", flush=True)
                finally:
                    held.discard(job["id"])
            idle_since = loop.time()
    finally:
        # Ends the heartbeat by its event, not by cancelling it: a task cancelled in the middle
        # of a query (asyncio.run cancels what is left when main() raises) can wait forever
        # for its connection to close.
        stop.set()
        beat_error = (await asyncio.gather(beat, return_exceptions=True))[0]
        await conn.close()
        if listener is not None:
            await listener.close()
    if isinstance(beat_error, Exception):  # the heartbeat's own failure, when main() had none
        raise beat_error


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
