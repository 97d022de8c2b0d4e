#!/usr/bin/env python3
"""A jobkeeper worker with psycopg 3.

LISTEN jobkeeper_jobs wakes it when work becomes pending; polling every --poll seconds is the
fallback (a notification can be missed, and through PgBouncer in transaction mode there is
none: run it with --no-listen there). It claims jobs, extends each lease on a timer from a
connection of its own, reports progress, and completes the job or fails it with the error
(jobkeeper retries it with backoff until max_attempts). Every call is one statement that
leaves no session state, so the main connection may go through a pooler.
"""
import argparse
import select
import sys
import threading
import time

import psycopg

CLAIM = """SELECT id, file_name, file_path, attempts, max_attempts
             FROM jobkeeper.claim_jobs(%s, %s, %s, make_interval(secs => %s))"""


def process(job, report_progress):
    """The application's work on one file; here: read it, "transcribe" it."""
    with open(job["file_path"], "rb") as f:
        data = f.read()
    if b"BROKEN" in data:
        raise ValueError(f"cannot decode {job['file_name']}: not an audio file")
    if b"LONG" in data:  # a long recording: longer than the lease, which the heartbeat extends
        time.sleep(4)
    for percent in (25, 50, 75):
        report_progress(percent)
    return len(data)


class Heartbeat(threading.Thread):
    """Every lease/3 seconds extends the leases of the jobs the worker holds, on a connection
    of its own (the main one is busy with the work)."""

    def __init__(self, conninfo, worker, lease, prepare_threshold):
        super().__init__(daemon=True)
        self.conninfo, self.worker, self.lease = conninfo, worker, lease
        self.prepare_threshold = prepare_threshold
        self.held = set()
        self.lock = threading.Lock()
        self.stopped = threading.Event()

    def run(self):
        with psycopg.connect(self.conninfo, autocommit=True,
                             prepare_threshold=self.prepare_threshold) as conn:
            while not self.stopped.wait(self.lease / 3):
                with self.lock:
                    jobs = list(self.held)
                for job_id in jobs:
                    held = conn.execute(
                        "SELECT jobkeeper.heartbeat(%s, %s, make_interval(secs => %s))",
                        (job_id, self.worker, self.lease)).fetchone()[0]
                    if not held:  # the lease expired and someone else has the job
                        with self.lock:
                            self.held.discard(job_id)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--worker", required=True, help="this worker's name (holds the leases)")
    ap.add_argument("--queue", action="append", help="queues to serve (default: all)")
    ap.add_argument("--batch", type=int, default=1, help="jobs per claim")
    ap.add_argument("--lease", type=float, default=30, help="lease in seconds")
    ap.add_argument("--poll", type=float, default=2, help="seconds between polls when idle")
    ap.add_argument("--idle-exit", type=float, default=0,
                    help="exit after this many seconds without work (0: never)")
    ap.add_argument("--no-listen", action="store_true", help="poll only (for PgBouncer)")
    ap.add_argument("--pooler", action="store_true",
                    help="behind PgBouncer in transaction mode: no server-side prepared statements")
    args = ap.parse_args()

    # psycopg prepares a statement on the server after 5 executions; a transaction pooler
    # hands each transaction to any server connection, where it does not exist.
    prepare_threshold = None if args.pooler else 5
    conn = psycopg.connect(args.dsn, autocommit=True, prepare_threshold=prepare_threshold)
    woken = threading.Event()
    listener = None
    if not args.no_listen:
        listener = psycopg.connect(args.dsn, autocommit=True)
        listener.add_notify_handler(lambda n: woken.set())
        listener.execute("LISTEN jobkeeper_jobs")

    heartbeat = Heartbeat(args.dsn, args.worker, args.lease, prepare_threshold)
    heartbeat.start()
    idle_since = time.monotonic()
    while True:
        jobs = conn.execute(CLAIM, (args.worker, args.batch, args.queue, args.lease)).fetchall()
        if not jobs:
            if args.idle_exit and time.monotonic() - idle_since > args.idle_exit:
                break
            if listener is None:
                time.sleep(args.poll)
            else:
                # Wait for a notification, or poll: data on the socket is read by a query.
                woken.clear()
                if select.select([listener.fileno()], [], [], args.poll)[0]:
                    listener.execute("SELECT 1")
            continue
        with heartbeat.lock:
            heartbeat.held.update(row[0] for row in jobs)
        for row in jobs:
            job = dict(zip(("id", "file_name", "file_path", "attempts", "max_attempts"), row))
            try:
                process(job, lambda p: conn.execute(
                    "SELECT jobkeeper.set_job_progress(%s, %s)", (job["id"], p)))
                conn.execute("SELECT jobkeeper.complete_job(%s, %s)", (job["id"], args.worker))
                print(f"done {job['id']}", flush=True)
            except Exception as e:  # the job's error, recorded; jobkeeper decides on a retry
                conn.execute("SELECT jobkeeper.fail_job(%s, %s, %s)",
                             (job["id"], str(e), args.worker))
                print(f"failed {job['id']} {job['attempts']}", flush=True)
            finally:
                with heartbeat.lock:
                    heartbeat.held.discard(job["id"])
        idle_since = time.monotonic()
    heartbeat.stopped.set()
    heartbeat.join()
    conn.close()
    if listener is not None:
        listener.close()


if __name__ == "__main__":
    sys.exit(main())
