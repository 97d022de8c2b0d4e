#!/usr/bin/env bash
# `make sqlsmith`: random queries from Debian's sqlsmith against a database with jobkeeper
# (library preloaded, worker running, rows in every state), run as a role holding the README's
# application, worker and janitor grants. Bounded: SQLSMITH_QUERIES (default 20000) queries,
# each under a 1 s statement_timeout. Passes when the server never crashed: no backend killed by
# a signal, no PANIC, and it still answers. Prints the error classes sqlsmith met.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
queries=${SQLSMITH_QUERIES:-20000}

JK_PACKAGES+=(sqlsmith)
jk_install_deps || exit 1
jk_use_pg_path
jk_build_install >/dev/null || exit 1
work=$(mktemp -d /tmp/jobkeeper-sqlsmith.XXXXXX)
chmod 755 "$work"
trap 'jk_cluster_destroy "$work/cluster"; rm -rf "$work"' EXIT
port=$((58000 + RANDOM % 1000))
jk_cluster_start "$work/cluster" "$port" "fsync = off" "jobkeeper.cleanup_interval = '5s'" \
  "jobkeeper.lease_check_interval = '1s'" || exit 1
export PGHOST="$work/cluster/sock" PGPORT="$port" PGUSER=postgres
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE smith" || exit 1
psql -X -q -v ON_ERROR_STOP=1 -d smith >/dev/null <<'SQL' || exit 1
CREATE EXTENSION jobkeeper;
SET jobkeeper.notify = off;
-- Rows in every state, with exports and deleted paths.
SELECT jobkeeper.submit_job('f' || i || '.mp3', '/up/' || i, jobkeeper.sha256_hex(i::text),
                            CASE WHEN i % 3 = 0 THEN 'video' ELSE 'default' END)
  FROM generate_series(1, 200) i;
SELECT count(*) FROM jobkeeper.claim_jobs('w', 120, lease => '1 hour');
SELECT jobkeeper.complete_jobs(ARRAY(SELECT id FROM jobkeeper.jobs WHERE status = 'processing' LIMIT 60));
SELECT jobkeeper.fail_job(id, 'broken', retry => false)
  FROM jobkeeper.jobs WHERE status = 'processing' LIMIT 20;
SELECT jobkeeper.cancel_job(id) FROM jobkeeper.jobs WHERE status = 'pending' LIMIT 20;
SELECT jobkeeper.request_export(id, t) FROM jobkeeper.jobs, unnest(ARRAY['pdf', 'srt']) t
 WHERE status = 'completed';
INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
SELECT 'old' || i, '/old/' || i, 'completed', now() - interval '2 days' FROM generate_series(1, 50) i;
CREATE ROLE smith LOGIN;
GRANT USAGE ON SCHEMA jobkeeper TO smith;
GRANT SELECT ON ALL TABLES IN SCHEMA jobkeeper TO smith;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA jobkeeper TO smith;
REVOKE EXECUTE ON FUNCTION jobkeeper._lock_in_status(text, uuid, text[], text),
  jobkeeper._refuse(text, uuid, text, text), jobkeeper._wake_launcher(),
  jobkeeper.run_cleanup(), jobkeeper.expire_leases(integer) FROM smith;
ALTER ROLE smith SET statement_timeout = '1s';
SQL

jk_log "sqlsmith: $queries queries as role smith"
sqlsmith --target="host=$PGHOST port=$PGPORT dbname=smith user=smith" --max-queries="$queries" \
  --seed=42 --verbose >"$work/sqlsmith.log" 2>&1
rc=$?
tail -c 3000 "$work/sqlsmith.log" | tr '\r' '\n' | grep -v '^\s*$' | tail -25
crashes=$(grep -cE 'terminated by signal|was terminated by|PANIC' "$work/cluster/server.log")
up=0
psql -X -q -At -d smith -c 'SELECT 1' >/dev/null 2>&1 && up=1
worker=$(psql -X -q -At -d smith -c 'SELECT count(*) FROM jobkeeper.worker_status WHERE running')
echo "sqlsmith exit $rc; server crashes: $crashes; server up: $up; worker running: $worker"
grep -E 'terminated by signal|PANIC' "$work/cluster/server.log" | head -5
[ "$crashes" -eq 0 ] && [ "$up" -eq 1 ]
