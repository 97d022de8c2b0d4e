#!/usr/bin/env bash
# Soak (SPEC section 5, not a timed test): 8 clients claiming in batches of 10 drain
# SOAK_JOBS (default 1,000,000) jobs while the background worker runs its lease checks and
# cleanup every second. Every claim is logged in a side table in the claim's own transaction,
# so the check at the end sees exactly what each client was handed: 0 jobs claimed twice, 0
# lost, every one completed. Prints its progress as it goes and the drain rate at the end.
# Usage: bash bench/soak.sh   (SOAK_JOBS=... to change the size)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
jobs=${SOAK_JOBS:-1000000}
clients=8

jk_install_deps
jk_use_pg_path
jk_build_install >/dev/null
work=$(mktemp -d /tmp/jobkeeper-soak.XXXXXX)
chmod 755 "$work"
trap 'jk_cluster_destroy "$work/cluster"; rm -rf "$work"' EXIT
port=$((57000 + RANDOM % 1000))
jk_cluster_start "$work/cluster" "$port" "shared_buffers = '1GB'" "max_wal_size = '8GB'" \
  "jobkeeper.cleanup_interval = '1s'" "jobkeeper.lease_check_interval = '1s'" \
  "jobkeeper.job_retention = '10s'"
export PGHOST="$work/cluster/sock" PGPORT="$port" PGUSER=postgres PGDATABASE=soak
createdb soak
q() { psql -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }
q "CREATE EXTENSION jobkeeper"
# The log of claims: who got which job, in the claiming transaction.
q "CREATE UNLOGGED TABLE claims (id uuid NOT NULL, client int NOT NULL, done boolean NOT NULL DEFAULT false)"
q "CREATE INDEX ON claims (client) WHERE NOT done"
jk_log "prefilling $jobs jobs"
q "SET jobkeeper.notify = off; INSERT INTO jobkeeper.jobs (file_name, file_path)
   SELECT 'soak' || i, '/soak/' || i FROM generate_series(1, $jobs) i"
q "VACUUM ANALYZE jobkeeper.jobs"

# One iteration: claim up to 10 (logged with the claim), then complete what this client holds.
cat >"$work/soak.pgb" <<'EOF'
WITH c AS (SELECT id FROM jobkeeper.claim_jobs('soak-' || :client_id, 10, lease => '5 minutes'))
INSERT INTO claims (id, client) SELECT id, :client_id FROM c;
WITH mine AS (UPDATE claims SET done = true WHERE client = :client_id AND NOT done RETURNING id)
SELECT jobkeeper.complete_jobs(array_agg(id), 'soak-' || :client_id) FROM mine;
EOF
per_client=$(( (jobs / 10 + clients - 1) / clients + 50 ))
jk_log "draining with $clients clients, $per_client iterations each (progress every 10 s)"
start=$(date +%s.%N)
PGOPTIONS="-c jobkeeper.notify=off" pgbench -n -M prepared -c "$clients" -j 2 -t "$per_client" \
  -P 10 -f "$work/soak.pgb" 2>&1 | grep -E '^progress|^number of failed|aborted' || true
end=$(date +%s.%N)

claimed=$(q "SELECT count(*) FROM claims")
distinct=$(q "SELECT count(DISTINCT id) FROM claims")
twice=$((claimed - distinct))
# A job is done when it is completed, or already deleted by retention (its path recorded).
done_jobs=$(q "SELECT (SELECT count(*) FROM jobkeeper.jobs WHERE status = 'completed')
                    + (SELECT count(*) FROM jobkeeper.deleted_files)")
left=$(q "SELECT count(*) FROM jobkeeper.jobs WHERE status <> 'completed'")
lost=$((jobs - distinct))
rate=$(awk -v n="$distinct" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", n / (b - a) }')
echo "soak: $jobs jobs, $clients clients claiming 10 at a time"
echo "  claimed $claimed times, $distinct distinct: claimed twice $twice, lost $lost"
echo "  completed or deleted by retention: $done_jobs; left not completed: $left"
echo "  drain rate: $rate jobs/s over $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s"
q "SELECT 'worker runs: ' || count(*) || ', jobs deleted: ' || coalesce(sum(jobs_deleted), 0)
          || ', errors: ' || count(error) FROM jobkeeper.cleanup_runs WHERE source = 'worker'"
[ "$twice" -eq 0 ] && [ "$lost" -eq 0 ] && [ "$done_jobs" -eq "$jobs" ] && [ "$left" -eq 0 ]
