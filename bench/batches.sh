#!/usr/bin/env bash
# Batches (SPEC section 10's budget), in one run on one cluster, jobkeeper as installed (events
# on): 20,000 prefilled jobs drained by the lifecycle (claim in one transaction, complete in the
# next) at 8 clients, synchronous_commit on and off, median of ROUNDS (default 3), for
#   1.0      a database at jobkeeper 1.0 (no batches in its schema), jobs outside batches
#   outside  a database at 1.1, the same jobs outside any batch
#   batch    the same database, the 20,000 jobs in one batch
# Targets: outside >= 0.98x 1.0 (jobs outside batches pay at most 2%), batch >= 0.9x outside.
# Then the roll-up of a batch of 100,000 jobs that 8 workers have half done: median of 20
# reads of batch_stats, ms.
# Usage: bash bench/batches.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
rounds=${ROUNDS:-3}
n=20000

jk_install_deps
jk_use_pg_path
jk_build_install >/dev/null
work=$(mktemp -d /tmp/jobkeeper-batches.XXXXXX)
chmod 755 "$work"
trap 'jk_cluster_destroy "$work/cluster"; rm -rf "$work"' EXIT
port=$((56000 + RANDOM % 1000))
jk_cluster_start "$work/cluster" "$port" "shared_buffers = '1GB'" "max_wal_size = '8GB'" \
  "checkpoint_timeout = '30min'" "max_connections = 50"
export PGHOST="$work/cluster/sock" PGPORT="$port" PGUSER=postgres
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
createdb v10
createdb v11
q -d v10 -c "CREATE EXTENSION jobkeeper VERSION '1.0'"
q -d v11 -c "CREATE EXTENSION jobkeeper"

cat >"$work/lifecycle.pgb" <<'EOF'
SELECT id AS job_id FROM jobkeeper.claim_jobs('bench-' || :client_id) \gset
SELECT jobkeeper.complete_job(:job_id);
EOF

# Fresh jobs in database $1; $2 = batch puts them all in one new batch.
prepare() {
  local db=$1 where=$2 ids=NULL
  q -d "$db" -c "TRUNCATE jobkeeper.jobs CASCADE"
  if [ "$where" = batch ]; then
    q -d "$db" -c "TRUNCATE jobkeeper.batches, jobkeeper.batch_jobs, jobkeeper.batch_counts"
    ids="ARRAY[jobkeeper.create_batch('bench')]"
  fi
  q -d "$db" -c "SET jobkeeper.notify = off" -c "
    INSERT INTO jobkeeper.jobs (file_name, file_path, file_hash, created_at $([ "$where" = batch ] && echo ', batch_ids'))
    SELECT 'pre_' || g || '.mp4', '/media/pre/' || g || '.mp4', jobkeeper.sha256_hex('pre/' || g),
           now() - interval '1 day' + g * interval '1 microsecond' $([ "$where" = batch ] && echo ", b.ids")
      FROM generate_series(1, $n) g $([ "$where" = batch ] && echo ", (SELECT $ids AS ids) b")" >/dev/null
  psql -X -q -d "$db" -c "VACUUM ANALYZE" -c "CHECKPOINT"
}
run() {  # $1 database, $2 synchronous_commit -> jobs/s
  local out tps
  out=$(PGOPTIONS="-c synchronous_commit=$2" pgbench -n -M prepared -c 8 -j 2 -t $((n / 8)) \
          -f "$work/lifecycle.pgb" "$1" 2>&1) || true
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -1)
  if [ -z "$tps" ] || grep -q 'aborted' <<<"$out"; then
    echo "pgbench failed on $1: $(grep -m2 -i error <<<"$out")" >&2
    echo 0
    return
  fi
  awk -v t="$tps" 'BEGIN { printf "%.0f", t }'  # a run of the script is one job's life
}
median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo "jobkeeper batches bench: $n jobs per run, 8 clients, median of $rounds, $(nproc) cores"
printf '%-6s %10s %10s %10s %12s %12s\n' sync 1.0 outside batch "outside/1.0" "batch/outside"
for sync in on off; do
  r10=""; rout=""; rbat=""
  for r in $(seq "$rounds"); do
    jk_step "synchronous_commit $sync: round $r of $rounds"
    prepare v10 outside; r10+="$(run v10 "$sync") "
    prepare v11 outside; rout+="$(run v11 "$sync") "
    prepare v11 batch;   rbat+="$(run v11 "$sync") "
  done
  m10=$(median <<<"$r10"); mout=$(median <<<"$rout"); mbat=$(median <<<"$rbat")
  printf '%-6s %10s %10s %10s %12s %12s\n' "$sync" "$m10" "$mout" "$mbat" \
    "$(ratio "$mout" "$m10")" "$(ratio "$mbat" "$mout")"
  echo "  rounds: 1.0 [$r10] outside [$rout] batch [$rbat]"
done
echo "(targets: outside/1.0 >= 0.98, batch/outside >= 0.90)"

echo
echo "== roll-up of a batch of 100,000 jobs, half of them done by 8 workers"
q -d v11 -c "TRUNCATE jobkeeper.jobs CASCADE"
q -d v11 -c "TRUNCATE jobkeeper.batches, jobkeeper.batch_jobs, jobkeeper.batch_counts"
big=$(q -d v11 -c "SELECT jobkeeper.create_batch('big')")
start=$(date +%s.%N)
q -d v11 -c "SET jobkeeper.notify = off" -c "INSERT INTO jobkeeper.jobs (file_name, file_path, batch_ids)
  SELECT 'big_' || g, '/big', ARRAY['$big'::uuid] FROM generate_series(1, 100000) g"
echo "inserting the 100,000 jobs into the batch: $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"
pgbench -n -M prepared -c 8 -j 2 -t 6250 -f "$work/lifecycle.pgb" v11 >/dev/null 2>&1
q -d v11 -c "VACUUM ANALYZE"
cat >"$work/rollup.sql" <<EOF
\\timing on
$(for _ in $(seq 20); do echo "SELECT total, pending, completed, progress FROM jobkeeper.batch_stats WHERE id = '$big';"; done)
EOF
times=$(psql -X -q -d v11 -f "$work/rollup.sql" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tr '\n' ' ')
echo "roll-up: $(q -d v11 -c "SELECT total || ' jobs, ' || pending || ' pending, ' || completed || ' completed, progress ' || progress FROM jobkeeper.batch_stats WHERE id = '$big'")"
echo "counter rows read: $(q -d v11 -c "SELECT count(*) FROM jobkeeper.batch_counts WHERE batch_id = '$big'")"
echo "batch_stats for it: median $(median <<<"$times") ms of 20 reads"
