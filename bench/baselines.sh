#!/usr/bin/env bash
# jobkeeper beside the baselines of ../shared/baselines (used as they are), in one run on one
# cluster, measured the way their README says: 20,000 prefilled jobs drained by the lifecycle
# (claim in one transaction, complete in the next), pgbench -n -M prepared -c C -j min(C,2)
# -t N/C, after a fresh schema, prefill, VACUUM ANALYZE and CHECKPOINT; median of ROUNDS
# (default 3). jobkeeper runs as installed: defaults, events on. Cells: 1 and 8 clients,
# synchronous_commit on and off; and enqueue (one job with a hash per transaction) at 8
# clients. Prints jobs/s and the ratio to raw. Then jobkeeper's 8-client lifecycle (sync on)
# with a listener connected, events on against off (SPEC section 8's events target).
# Usage: bash bench/baselines.sh; CELLS=enqueue (a pattern of cell labels, or "events") runs only
# the matching cells.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
base=${JK_BASELINES:-../shared/baselines}
rounds=${ROUNDS:-3}
n=20000

jk_install_deps
jk_use_pg_path
jk_build_install >/dev/null
work=$(mktemp -d /tmp/jobkeeper-baselines.XXXXXX)
chmod 755 "$work"
trap 'jk_cluster_destroy "$work/cluster"; rm -rf "$work"' EXIT
port=$((56000 + RANDOM % 1000))
jk_cluster_start "$work/cluster" "$port" "shared_buffers = '1GB'" "max_wal_size = '8GB'" \
  "checkpoint_timeout = '30min'" "max_connections = 50"
export PGHOST="$work/cluster/sock" PGPORT="$port" PGUSER=postgres
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
for s in raw plpgsql jobkeeper; do createdb "$s"; done
q -d jobkeeper -c "CREATE EXTENSION jobkeeper"

# jobkeeper's lifecycle and enqueue, the same work as the baselines' scripts.
cat >"$work/jk_lifecycle.pgb" <<'EOF'
SELECT id AS job_id FROM jobkeeper.claim_jobs('bench-' || :client_id) \gset
SELECT jobkeeper.complete_job(:job_id);
EOF
cat >"$work/jk_enqueue.pgb" <<'EOF'
\set n :n + 1
SELECT id FROM jobkeeper.submit_job('clip_' || :client_id::text || '_' || :n::text || '.mp4',
  '/media/incoming/' || :client_id::text || '/clip_' || :n::text || '.mp4',
  jobkeeper.sha256_hex(:tag::text || '/' || :client_id::text || '/' || :n::text));
EOF

# Fresh tables (and prefill) for system $1 before each measurement.
prepare() {
  local s=$1 fill=$2
  if [ "$s" = jobkeeper ]; then
    q -d "$s" -c "TRUNCATE jobkeeper.jobs CASCADE" 2>/dev/null
    [ "$fill" -gt 0 ] && q -d "$s" -c "SET jobkeeper.notify = off" -c "
      INSERT INTO jobkeeper.jobs (file_name, file_path, file_hash, created_at)
      SELECT 'pre_' || g || '.mp4', '/media/pre/' || g || '.mp4',
             jobkeeper.sha256_hex('pre/' || g), now() - interval '1 day' + g * interval '1 microsecond'
        FROM generate_series(1, $fill) g"
  else
    q -d "$s" -f "$base/$s/schema.sql" >/dev/null 2>&1
    [ "$fill" -gt 0 ] && q -d "$s" -v n="$fill" -f "$base/$s/prefill.sql" >/dev/null
  fi
  psql -X -q -d "$s" -c "VACUUM ANALYZE" -c "CHECKPOINT"
  return 0
}
# Runs pgbench; prints jobs/s. pgbench counts a run of the whole script as one transaction, and
# each script is one job: its claim and its completion, or its enqueue.
run() {
  local s=$1 script=$2 clients=$3 sync=$4 out tps
  out=$(PGOPTIONS="-c synchronous_commit=$sync ${extra_options:-}" pgbench -n -M prepared -c "$clients" \
          -j $((clients < 2 ? clients : 2)) -t $((n / clients)) -D n=0 -D tag="$RANDOM$RANDOM" \
          -f "$script" "$s" 2>&1) || true
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -1)
  if [ -z "$tps" ] || grep -q 'aborted' <<<"$out"; then
    echo "pgbench failed for $s: $(grep -m2 -i error <<<"$out")" >&2
    echo 0
    return
  fi
  awk -v t="$tps" 'BEGIN { printf "%.0f", t }'
}
median() { tr ' ' '\n' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
script_for() {  # $1 system, $2 lifecycle|enqueue
  if [ "$1" = jobkeeper ]; then echo "$work/jk_$2.pgb"; else echo "$base/$1/$2.pgb"; fi
}

echo "jobkeeper vs ../shared/baselines: $n jobs per run, median of $rounds, $(nproc) cores"
printf '%-34s %9s %9s %9s %10s %10s\n' "jobs/s" raw plpgsql jobkeeper "jk/raw" "jk/plpgsql"
wanted() { [ -z "${CELLS:-}" ] || grep -Eq -- "$CELLS" <<<"$1"; }
cell() {  # $1 label, $2 kind, $3 clients, $4 sync, $5 prefill
  wanted "$1" || return 0
  declare -A res
  for s in raw plpgsql jobkeeper; do res[$s]=""; done
  for ((r = 1; r <= rounds; r++)); do
    jk_step "$1: round $r of $rounds"
    for s in raw plpgsql jobkeeper; do  # interleaved: drift hits every system alike
      prepare "$s" "$5"
      res[$s]+="$(run "$s" "$(script_for "$s" "$2")" "$3" "$4") "
    done
  done
  local a b c
  a=$(median <<<"${res[raw]}"); b=$(median <<<"${res[plpgsql]}"); c=$(median <<<"${res[jobkeeper]}")
  printf '%-34s %9s %9s %9s %10s %10s\n' "$1" "$a" "$b" "$c" \
    "$(awk -v x="$c" -v y="$a" 'BEGIN { printf "%.2f", x / y }')" \
    "$(awk -v x="$c" -v y="$b" 'BEGIN { printf "%.2f", x / y }')"
}
cell "lifecycle, 1 client, sync on" lifecycle 1 on "$n"
cell "lifecycle, 8 clients, sync on" lifecycle 8 on "$n"
cell "lifecycle, 1 client, sync off" lifecycle 1 off "$n"
cell "lifecycle, 8 clients, sync off" lifecycle 8 off "$n"
cell "enqueue, 8 clients, sync on" enqueue 8 on 0

# Events: jobkeeper's 8-client lifecycle (sync on) with a listener connected that reads what it
# is sent, events on (the default) against events off.
wanted "events, 8 clients, sync on" || exit 0
listener() {
  while sleep 0.05; do echo "SELECT 1;"; done | psql -X -q -d jobkeeper -c "LISTEN jobkeeper_jobs" -f - >/dev/null 2>&1
}
listener &
listener_pid=$!
declare -A ev=([on]="" [off]="")
for ((r = 1; r <= rounds; r++)); do
  jk_step "events on and off: round $r of $rounds"
  for mode in on off; do
    prepare jobkeeper "$n"
    ev[$mode]+="$(extra_options="-c jobkeeper.notify=$mode" run jobkeeper "$work/jk_lifecycle.pgb" 8 on) "
  done
done
pkill -P "$listener_pid" 2>/dev/null; kill "$listener_pid" 2>/dev/null
on=$(median <<<"${ev[on]}"); off=$(median <<<"${ev[off]}")
printf '%-34s %9s %9s %10s\n' "events, 8 clients, sync on" "on=$on" "off=$off" \
  "$(awk -v x="$on" -v y="$off" 'BEGIN { printf "%.2f", x / y }')"
