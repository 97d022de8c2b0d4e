#!/usr/bin/env python3
"""Submits files to jobkeeper with asyncpg: each file hashed with Python's own SHA-256 and
submitted with its hash, so a known file is not processed twice (deduplicated = true)."""
import argparse
import asyncio
import hashlib
import os
import sys

import asyncpg


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


async def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--queue", default="default")
    ap.add_argument("--max-attempts", type=int, default=3)
    ap.add_argument("--pooler", action="store_true", help="behind PgBouncer in transaction mode")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    conn = await asyncpg.connect(args.dsn, statement_cache_size=0 if args.pooler else 100)
    try:
        for path in args.files:
            row = await conn.fetchrow(
                "SELECT id, status, deduplicated FROM jobkeeper.submit_job("
                " file_name => $1, file_path => $2, file_hash => $3, queue => $4,"
                " max_attempts => $5)",
                os.path.basename(path), os.path.abspath(path), sha256_of(path), args.queue,
                args.max_attempts)
            print(f"submitted {row['id']} {row['status']} {'dedup' if row['deduplicated'] else 'new'}",
                  flush=True)
    finally:
        await conn.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
