#!/usr/bin/env python3
"""Submits files to jobkeeper with psycopg 3: each file is hashed with Python's own SHA-256
and submitted with its hash, so a file already known is not processed twice (submit_job
returns the existing job, deduplicated = true)."""
import argparse
import hashlib
import os
import sys

import psycopg


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--queue", default="default")
    ap.add_argument("--max-attempts", type=int, default=3)
    ap.add_argument("--pooler", action="store_true", help="behind PgBouncer in transaction mode")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    with psycopg.connect(args.dsn, autocommit=True,
                         prepare_threshold=None if args.pooler else 5) as conn:
        for path in args.files:
            job_id, status, deduplicated = conn.execute(
                "SELECT id, status, deduplicated FROM jobkeeper.submit_job("
                " file_name => %s, file_path => %s, file_hash => %s, queue => %s,"
                " max_attempts => %s)",
                (os.path.basename(path), os.path.abspath(path), sha256_of(path), args.queue,
                 args.max_attempts)).fetchone()
            print(f"submitted {job_id} {status} {'dedup' if deduplicated else 'new'}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
