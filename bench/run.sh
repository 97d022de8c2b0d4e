#!/usr/bin/env bash
# jobkeeper benchmarks (SPEC section 8), all in one run on one throwaway cluster so that the
# ratios compare like with like on this noisy shared machine:
#   lifecycle  submit + claim + complete, 1/4/8 clients, synchronous_commit on and off, for
#              jobkeeper's functions, the same statements on jobkeeper's tables (C++ trigger
#              only), bare SQL on trigger-less copies, and the same rules as a PL/pgSQL trigger
#   trigger    bulk UPDATE of 200,000 rows of jobkeeper.jobs: its C++ trigger vs none vs the no-op floor vs PL/pgSQL
#   claim      claim rate with 10,000 and 1,000,000 pending jobs
#   batch      claim_jobs(100) + complete_jobs() drain rate
#   retention  deleting 1,000,000 expired jobs (2 exports each): the worker's batches vs one
#              plain DELETE, alone; then beside 4 claimers at each RETENTION_DELAYS pause
#              between batches (default "0 10 50 200" ms), against a CPU-bound loop: the
#              rate-for-latency curve; rows/s and the claimers' p99 latency
#   views      queue_stats and export_stats with VIEWS_FINISHED (default 10,000,000) finished
#              rows and 100,000 pending in each table: median of 5 reads, ms (target < 50)
#   hashes     sha256_hex / sha256_agg / lo_sha256 MB/s on 64 MB against a C program using
#              OpenSSL EVP, PostgreSQL's sha256() and pgcrypto; values/s on 100,000 x 1 KB
#   ttl        a TTL rule deleting TTL_ROWS (default 1,000,000) expired rows of a narrow table:
#              the worker and run_ttl() vs one plain DELETE, median of ROUNDS (target >= 0.5)
# Usage: bash bench/run.sh [lifecycle] [trigger] [claim] [batch] [retention] [views] [hashes] [ttl]
# (default: all). RETENTION_JOBS (default 1000000) sets the size of the retention test.
# BENCH_SECONDS (default 5) sets the length of each pgbench run; ROUNDS (default 3) how many
# interleaved rounds the lifecycle medians come from.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
T=${BENCH_SECONDS:-5}
parts=${*:-lifecycle trigger claim batch retention views hashes ttl}

jk_install_deps
jk_use_pg_path
jk_build_install
work=$(mktemp -d /tmp/jobkeeper-bench.XXXXXX)
chmod 755 "$work"
trap 'jk_cluster_destroy "$work/cluster"; rm -rf "$work"' EXIT
port=$((56000 + RANDOM % 1000))
jk_cluster_start "$work/cluster" "$port" "shared_buffers = '2GB'" "max_wal_size = '8GB'" \
  "checkpoint_timeout = '30min'" "max_connections = 50" "wal_level = 'replica'"
export PGHOST="$work/cluster/sock" PGPORT="$port" PGUSER=postgres PGDATABASE=bench
createdb bench
psql -X -q -v ON_ERROR_STOP=1 -f bench/sql/setup.sql >/dev/null
for s in jobkeeper bare plpg; do
  sed "s/bare\\./$s./g" bench/sql/lifecycle_bare.pgb > "$work/stmts_$s.pgb"
done
q() { psql -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }
# VACUUM cannot share a transaction with other statements: one psql -c each.
settle() { psql -X -q -c "VACUUM ANALYZE $1" -c "CHECKPOINT"; }
# The median of the numbers given as arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
reset_tables() {
  q "TRUNCATE jobkeeper.jobs CASCADE; TRUNCATE bare.jobs; TRUNCATE plpg.jobs;"
  q "CHECKPOINT"
}
# Runs pgbench and prints its tps. $1 script, $2 clients, $3 synchronous_commit, $4 notify.
tps() {
  local out rate
  out=$(PGOPTIONS="-c synchronous_commit=$3 -c jobkeeper.notify=$4" \
          pgbench -n -M prepared -T "$T" -c "$2" -j "$2" -f "$1" 2>&1) || true
  rate=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -1)
  if [ -z "$rate" ] || grep -q 'aborted' <<<"$out"; then
    echo "pgbench failed: $(grep -m3 error <<<"$out")" >&2
    rate=0
  fi
  echo "$rate"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo "jobkeeper bench: $(nproc) cores, ${T}s per pgbench run, PostgreSQL $(pg_config --version | awk '{print $2}')"

if [[ $parts == *lifecycle* ]]; then
  echo
  echo "== lifecycle: submit + claim + complete per transaction group, jobs/s"
  printf '%-6s %-8s %10s %10s %10s %10s %10s %9s %9s\n' sync clients functions fn+notify \
    jk-trigger plpgsql bare "fn/bare" "trig/plpg"
  # Variants run interleaved, ROUNDS times each, and the median counts: neighbouring runs on
  # this shared machine differ by up to a quarter.
  for sync in on off; do
    for c in 1 4 8; do
      fn=(); fnn=(); trig=(); plpg=(); bare=()
      for _ in $(seq "${ROUNDS:-3}"); do
        reset_tables; fn+=("$(tps bench/sql/lifecycle_jobkeeper.pgb "$c" "$sync" off)")
        reset_tables; fnn+=("$(tps bench/sql/lifecycle_jobkeeper.pgb "$c" "$sync" on)")
        reset_tables; trig+=("$(tps "$work/stmts_jobkeeper.pgb" "$c" "$sync" off)")
        reset_tables; plpg+=("$(tps "$work/stmts_plpg.pgb" "$c" "$sync" off)")
        reset_tables; bare+=("$(tps "$work/stmts_bare.pgb" "$c" "$sync" off)")
      done
      m_fn=$(median "${fn[@]}"); m_fnn=$(median "${fnn[@]}"); m_trig=$(median "${trig[@]}")
      m_plpg=$(median "${plpg[@]}"); m_bare=$(median "${bare[@]}")
      printf '%-6s %-8s %10.0f %10.0f %10.0f %10.0f %10.0f %9s %9s\n' "$sync" "$c" "$m_fn" "$m_fnn" \
        "$m_trig" "$m_plpg" "$m_bare" "$(ratio "$m_fn" "$m_bare")" "$(ratio "$m_trig" "$m_plpg")"
    done
  done
  echo "(functions: jobkeeper.submit_job/claim_jobs/complete_job with jobkeeper.notify = off;"
  echo " fn+notify: the same with NOTIFY on; jk-trigger: bare statements on jobkeeper's tables, so"
  echo " only the C++ trigger differs from bare; target: functions >= 0.9x bare at 8 clients)"
fi

if [[ $parts == *trigger* ]]; then
  echo
  echo "== trigger: bulk UPDATE of 200,000 processing rows of jobkeeper.jobs, median of ${ROUNDS:-3} rounds, ms"
  n=200000
  # Every variant runs on jobkeeper.jobs itself, with its indexes and the foreign key of
  # export_jobs (PostgreSQL's own AFTER trigger checks every UPDATE of a referenced table), and
  # differs only in the BEFORE trigger: jobkeeper's, none, the no-op floor, the PL/pgSQL rules.
  # The bench's triggers sort after jobkeeper's (as an application's would, SPEC section 3):
  # one ahead of it, even disabled, makes it compare old and new values instead of trusting
  # the UPDATE's target list.
  q "CREATE TRIGGER zz_bench_noop BEFORE UPDATE ON jobkeeper.jobs
       FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
     CREATE TRIGGER zz_bench_plpg BEFORE UPDATE ON jobkeeper.jobs
       FOR EACH ROW EXECUTE FUNCTION plpg.status_rules();"
  use_trigger() {  # $1: jk, none, noop or plpg
    local sql="ALTER TABLE jobkeeper.jobs"
    local t
    for t in jobkeeper_00_status:jk zz_bench_noop:noop zz_bench_plpg:plpg; do
      [ "${t#*:}" = "$1" ] && sql+=" ENABLE" || sql+=" DISABLE"
      sql+=" TRIGGER ${t%:*},"
    done
    q "${sql%,}"
  }
  bulk() {  # $1 variant, $2 SET clause -> time in ms
    use_trigger jk
    q "SET client_min_messages = warning; TRUNCATE jobkeeper.jobs CASCADE"
    q "SET jobkeeper.notify = off; INSERT INTO jobkeeper.jobs (file_name, file_path, status, locked_by, progress)
       SELECT 'f', '/f', 'processing', 'w', 10 FROM generate_series(1, $n)"
    settle jobkeeper.jobs
    use_trigger "$1"
    # "elapsed trigger" in ms: EXPLAIN ANALYZE times the statement and, apart, its BEFORE trigger.
    psql -X -q -At -c "SET jobkeeper.notify = off" \
      -c "EXPLAIN (ANALYZE, COSTS OFF) UPDATE jobkeeper.jobs SET $2" |
      awk '/^Trigger (jobkeeper_00_status|zz_bench_)/ { sub(/.*time=/, ""); t = $1 }
           /^Execution Time/ { e = $3 } END { print e, t + 0 }'
  }
  printf '%-24s %8s %8s %8s %8s %9s %9s %9s %9s %9s\n' update "C++" none noop plpgsql \
    "C++/none" "noop/none" "C++/noop" "plpg/C++" "own cost"
  for set in "progress = progress + 1" "status = 'completed'"; do
    extra=", updated_at = now()"
    [[ $set == *completed* ]] && extra=", progress = 100, finished_at = now(), updated_at = now(), locked_by = NULL, lease_expires_at = NULL"
    : >"$work/t_jk" >"$work/t_none" >"$work/t_noop" >"$work/t_plpg"
    for _ in $(seq "${ROUNDS:-3}"); do  # interleaved, so that drift hits every variant alike
      bulk jk "$set" >>"$work/t_jk"
      bulk none "$set$extra" >>"$work/t_none"
      bulk noop "$set$extra" >>"$work/t_noop"
      bulk plpg "$set" >>"$work/t_plpg"
    done
    col() { median $(cut -d' ' -f"$1" "$work/t_$2"); }
    jk=$(col 1 jk); none=$(col 1 none); noop=$(col 1 noop); pl=$(col 1 plpg)
    # The triggers' own time is measured apart from the statement's, whose run-to-run swing
    # (about 15% here) is larger than the trigger: the precise figures are these.
    tjk=$(col 2 jk); tnoop=$(col 2 noop); tpl=$(col 2 plpg)
    own=$(awk -v c="$tjk" -v p="$tpl" -v f="$tnoop" 'BEGIN { if (c > f) printf "%.2f", (p - f) / (c - f); else print "n/a" }')
    printf '%-24s %8.0f %8.0f %8.0f %8.0f %9s %9s %9s %9s %9s\n' "$set" "$jk" "$none" "$noop" "$pl" \
      "$(ratio "$jk" "$none")" "$(ratio "$noop" "$none")" "$(ratio "$jk" "$noop")" "$(ratio "$pl" "$jk")" "$own"
    printf '%-24s trigger time: C++ %.0f ms, noop %.0f ms, PL/pgSQL %.0f ms; C++ over the floor: %s of the noop UPDATE\n' \
      "" "$tjk" "$tnoop" "$tpl" "$(awk -v c="$tjk" -v f="$tnoop" -v n="$noop" 'BEGIN { printf "%.1f%%", 100 * (c - f) / n }')"
  done
  use_trigger jk
  q "DROP TRIGGER zz_bench_noop ON jobkeeper.jobs; DROP TRIGGER zz_bench_plpg ON jobkeeper.jobs"
  echo "(none: no BEFORE trigger, the UPDATE sets updated_at, and for the status change finished_at,"
  echo " progress and the lease, itself; noop: that UPDATE through PostgreSQL's built-in"
  echo " suppress_redundant_updates_trigger, the floor for any BEFORE ROW trigger, since the executor"
  echo " locks each row before calling one; own cost: what the PL/pgSQL trigger adds to that floor,"
  echo " over what the C++ trigger adds, from the triggers' own times; targets: C++/noop <= 1.05,"
  echo " own cost >= 2)"
fi

if [[ $parts == *claim* ]]; then
  echo
  echo "== claim: lifecycle rate with a standing backlog of pending jobs, 4 clients, sync off"
  rates=()
  for backlog in 10000 1000000; do
    reset_tables
    q "SET jobkeeper.notify = off; INSERT INTO jobkeeper.jobs (file_name, file_path, created_at, run_after)
       SELECT 'f', '/f', now() - interval '1 day', now() - interval '1 day' FROM generate_series(1, $backlog)"
    settle jobkeeper.jobs
    r=$(tps bench/sql/lifecycle_jobkeeper.pgb 4 off off)
    rates+=("$r")
    printf '%-10s pending: %8.0f jobs/s\n' "$backlog" "$r"
  done
  echo "ratio 1,000,000 / 10,000: $(ratio "${rates[1]}" "${rates[0]}")  (target >= 0.8)"
fi

if [[ $parts == *batch* ]]; then
  echo
  echo "== batch: claim_jobs(100) + complete_jobs() per transaction pair, jobs completed per second"
  for sync in on off; do
    for c in 1 2 4; do
      reset_tables
      q "SET jobkeeper.notify = off; INSERT INTO jobkeeper.jobs (file_name, file_path)
         SELECT 'f', '/f' FROM generate_series(1, 600000)"
      settle jobkeeper.jobs
      start=$(date +%s.%N)
      tps bench/sql/batch_jobkeeper.pgb "$c" "$sync" off >/dev/null
      end=$(date +%s.%N)
      done_jobs=$(q "SELECT count(*) FROM jobkeeper.jobs WHERE status = 'completed'")
      printf 'sync %-4s clients %d: %8.0f jobs/s\n' "$sync" "$c" \
        "$(awk -v n="$done_jobs" -v s="$start" -v e="$end" 'BEGIN { print n / (e - s) }')"
    done
  done
  echo "(target: >= 25,000 jobs/s at 4 clients)"
fi

if [[ $parts == *retention* ]]; then
  echo
  n=${RETENTION_JOBS:-1000000}
  echo "== retention: $n expired jobs with 2 exports each, 4 clients claiming and completing"
  # Runs the claimers for $1 seconds in the background, logging each transaction's latency.
  start_claimers() {
    rm -f "$work"/claim_log*
    PGOPTIONS="-c synchronous_commit=off -c jobkeeper.notify=off" \
      pgbench -n -M prepared -T "$1" -c 4 -j 4 -l --log-prefix="$work/claim_log" \
      -f bench/sql/claim_complete.pgb >"$work/claimers.out" 2>&1 &
    claimers=$!
  }
  # Stops the claimers. SIGINT would only cancel their current queries; SIGTERM ends pgbench
  # (its last buffered log lines may be lost, which only drops samples).
  stop_claimers() { kill -TERM "$claimers" 2>/dev/null; wait "$claimers" 2>/dev/null || true; }
  # p99 in ms of the claimers' transactions that ended between epoch seconds $1 and $2
  # (pgbench -l: latency in microseconds is field 3, the end time fields 5 and 6).
  p99() { cat "$work"/claim_log* | awk -v a="$1" -v b="$2" '{ t = $5 + $6 / 1e6 } t >= a && t <= b { print $3 }' |
          sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%.2f", v[int(NR * 0.99)] / 1000; else print "n/a" }'; }
  load_expired() {
    jk_step "retention: loading $n expired jobs and their exports${1:+ ($1)}"
    reset_tables
    psql -X -q -v ON_ERROR_STOP=1 -v n="$n" -v pool=400000 -f bench/sql/expired.sql
    settle jobkeeper.jobs; settle jobkeeper.export_jobs
  }
  # Waits for the worker's runs that started after $1 (a timestamptz) to delete every expired
  # job, then prints the first such run's start and the last one's end as epoch seconds. The
  # worker records each run in cleanup_runs, a small table: polling it costs nothing, where
  # counting the jobs left would scan the whole table every time.
  wait_worker() {
    local done_sql="SELECT count(*) FROM jobkeeper.cleanup_runs r WHERE r.started_at >= '$1'
      AND r.jobs_deleted = 0 AND r.id > (SELECT min(d.id) FROM jobkeeper.cleanup_runs d
                                          WHERE d.started_at >= '$1' AND d.jobs_deleted > 0)"
    until [ "$(q "$done_sql")" != 0 ]; do sleep 0.5; done
    q "SELECT extract(epoch FROM min(started_at)) || ' ' || extract(epoch FROM max(finished_at))
         FROM jobkeeper.cleanup_runs WHERE started_at >= '$1' AND jobs_deleted > 0"
  }
  # Lets the worker delete every expired job (cleanup_interval 1s from now, the given
  # cleanup_batch_delay); prints "seconds p99" with p99 "-" when no claimers run.
  worker_run() {
    setting jobkeeper.cleanup_batch_delay "'$1ms'"
    local t0 w_start w_end
    t0=$(q "SELECT now()")
    setting jobkeeper.cleanup_interval "'1s'"
    read -r w_start w_end <<<"$(wait_worker "$t0")"
    setting jobkeeper.cleanup_interval "'1h'"
    local left
    left=$(q "SELECT count(*) FROM jobkeeper.jobs WHERE queue = 'old'")
    [ "$left" = 0 ] || echo "warning: $left expired jobs left after the worker's runs" >&2
    echo "$(awk -v s="$w_start" -v e="$w_end" 'BEGIN { printf "%.1f", e - s }') $([ "$2" = claimers ] && p99 "$w_start" "$w_end" || echo -)"
  }
  rate() { awk -v n="$n" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }
  # Sets a server setting for the worker (ALTER SYSTEM and a reload), printing nothing.
  setting() { q "ALTER SYSTEM SET $1 = $2" >/dev/null; q "SELECT pg_reload_conf()" >/dev/null; }
  rise() { awk -v p="$1" -v b="$base" 'BEGIN { printf "%.2f", p - b }'; }
  setting jobkeeper.cleanup_interval "'1h'"

  # Rates alone: the worker, and one plain DELETE of the same rows.
  load_expired "for the worker alone"
  read -r alone_s _ <<<"$(worker_run 0 alone)"
  jk_step "retention: the worker alone took $alone_s s"
  files=$(q "SELECT count(*) FROM jobkeeper.deleted_files")
  load_expired "for one plain DELETE"
  t0=$(date +%s.%N)
  q "DELETE FROM jobkeeper.jobs WHERE queue = 'old' AND finished_at < now() - interval '12 hours'"
  delete_s=$(awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  jk_step "retention: the DELETE took $delete_s s"

  # Beside 4 claimers: the claimers alone, the worker at each pause between batches, and a
  # CPU-bound loop (outside PostgreSQL) running as long as the worker without a pause did.
  load_expired "for the claimers alone"
  start_claimers 20; wait "$claimers"; base=$(p99 0 9999999999)
  declare -A run_s run_p99
  delays=${RETENTION_DELAYS:-0 10 50 200}
  for d in $delays; do
    load_expired "for the worker beside the claimers, cleanup_batch_delay $d ms"
    start_claimers 900
    sleep 3
    read -r run_s[$d] run_p99[$d] <<<"$(worker_run "$d" claimers)"
    stop_claimers
    jk_step "retention: cleanup_batch_delay $d ms took ${run_s[$d]} s, claimers' p99 ${run_p99[$d]} ms"
  done
  jk_step "retention: a CPU-bound loop beside the claimers for ${run_s[${delays%% *}]} s"
  first=${delays%% *}
  start_claimers 900
  sleep 3
  c0=$(date +%s.%N)
  timeout "${run_s[$first]}" sh -c 'while :; do :; done' || true
  c1=$(date +%s.%N)
  stop_claimers
  cpu_p99=$(p99 "$c0" "$c1")
  setting jobkeeper.cleanup_batch_delay 0

  printf '%-30s %9s %14s\n' "alone" seconds "jobs deleted/s"
  printf '%-30s %9s %14s\n' "jobkeeper worker" "$alone_s" "$(rate "$alone_s")"
  printf '%-30s %9s %14s\n' "one plain DELETE" "$delete_s" "$(rate "$delete_s")"
  echo "worker rate / DELETE rate: $(ratio "$delete_s" "$alone_s")  (target >= 0.5)"
  echo "(the worker also recorded $files file paths in deleted_files; the DELETE records none)"
  echo
  printf '%-30s %9s %14s %12s %12s %14s\n' "beside 4 claimers" seconds "jobs deleted/s" "claim p99 ms" "p99 rise ms" "rise / CPU loop"
  printf '%-30s %9s %14s %12s %12s %14s\n' "claimers alone" - - "$base" 0 -
  printf '%-30s %9s %14s %12s %12s %14s\n' "CPU-bound loop, ${run_s[$first]} s" "${run_s[$first]}" - "$cpu_p99" "$(rise "$cpu_p99")" 1.00
  for d in $delays; do
    printf '%-30s %9s %14s %12s %12s %14s\n' "worker, cleanup_batch_delay ${d} ms" "${run_s[$d]}" \
      "$(rate "${run_s[$d]}")" "${run_p99[$d]}" "$(rise "${run_p99[$d]}")" \
      "$(awk -v w="${run_p99[$d]}" -v c="$cpu_p99" -v b="$base" 'BEGIN { if (c - b > 0) printf "%.2f", (w - b) / (c - b); else print "n/a" }')"
  done
  echo "(target: the worker's p99 rise at most 1.1x the CPU-bound loop's; the pause trades rate for it)"
fi

if [[ $parts == *views* ]]; then
  echo
  finished=${VIEWS_FINISHED:-10000000}
  echo "== views: queue_stats and export_stats with $finished finished rows and 100,000 pending in each table"
  q "SET client_min_messages = warning; TRUNCATE jobkeeper.jobs CASCADE"
  # Loaded without triggers (session_replication_role): the reads are measured, not the load.
  psql -X -q -v ON_ERROR_STOP=1 <<SQL
SET session_replication_role = replica;
INSERT INTO jobkeeper.jobs (file_name, file_path, queue, status, progress, finished_at, error_message)
SELECT 'f', '/f', (ARRAY['audio', 'video', 'default'])[1 + i % 3],
       CASE WHEN i % 50 = 0 THEN 'failed' ELSE 'completed' END, 100,
       now() - interval '1 hour', CASE WHEN i % 50 = 0 THEN 'e' END
  FROM generate_series(1, $finished) i;
INSERT INTO jobkeeper.jobs (file_name, file_path, queue)
SELECT 'p', '/p', (ARRAY['audio', 'video', 'default'])[1 + i % 3] FROM generate_series(1, 100000) i;
INSERT INTO jobkeeper.export_jobs (job_id, export_type, status, file_path, finished_at)
SELECT id, 'pdf', 'completed', '/x.pdf', now() - interval '1 hour'
  FROM jobkeeper.jobs WHERE status = 'completed';
INSERT INTO jobkeeper.export_jobs (job_id, export_type)
SELECT id, (ARRAY['pdf', 'srt'])[1 + (row_number() OVER () % 2)::int]
  FROM jobkeeper.jobs WHERE status = 'completed' LIMIT 100000;
SQL
  settle "jobkeeper.jobs"
  settle "jobkeeper.export_jobs"
  for view in queue_stats export_stats; do
    ms=$(median $(for _ in 1 2 3 4 5; do
           psql -X -q -At -c '\timing on' -c "SELECT * FROM jobkeeper.$view" |
             sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
         done))
    printf '%-14s %8.1f ms  (%s rows)\n' "$view" "$ms" "$(q "SELECT count(*) FROM jobkeeper.$view")"
  done
  q "SET client_min_messages = warning; TRUNCATE jobkeeper.jobs CASCADE"
  echo "(pending and processing rows counted through their partial indexes, finished ones estimated"
  echo " from the extended statistics; target: under 50 ms each)"
fi

if [[ $parts == *hashes* ]]; then
  echo
  echo "== hashes: SHA-256 throughput, best of 5"
  cc -O2 -o "$work/sha256_ref" bench/sha256_ref.c -lcrypto
  ref=$("$work/sha256_ref" 64 5)
  psql -X -q -v ON_ERROR_STOP=1 -f bench/sql/hashes.sql 2>&1 | sed -n 's/.*NOTICE:  //p' > "$work/hashes.txt"
  printf '%-26s %8s %10s\n' "64 MB in memory" "MB/s" "x C EVP"
  printf '%-26s %8.0f %10s\n' "C program, OpenSSL EVP" "$ref" "1.00"
  while read -r kind name rate; do
    [ "$kind" = rate ] && printf '%-26s %8.0f %10s\n' "${name//_/ }" "$rate" "$(ratio "$rate" "$ref")"
  done < "$work/hashes.txt"
  agg=$(awk '$1 == "rate" && $2 == "sha256_agg_from_table" { print $3 }' "$work/hashes.txt")
  readr=$(awk '$1 == "rate" && $2 == "reading_the_chunks" { print $3 }' "$work/hashes.txt")
  net=$(awk -v a="$agg" -v r="$readr" 'BEGIN { if (a > 0 && r > 0 && 1 / a > 1 / r) print 1 / (1 / a - 1 / r); else print 0 }')
  printf '%-26s %8.0f %10s\n' "sha256 agg net of reading" "$net" "$(ratio "$net" "$ref")"
  echo "(targets: sha256_hex >= 0.9x, sha256_agg and lo_sha256 >= 0.8x the C program)"
  printf '%-26s %10s %14s\n' "100,000 x 1 KB" "values/s" "x encode(sha256)"
  enc=$(awk '$1 == "kb" && $2 == "encode(sha256)" { print $3 }' "$work/hashes.txt")
  while read -r kind name rate; do
    [ "$kind" = kb ] && printf '%-26s %10.0f %14s\n' "${name//_/ }" "$rate" "$(ratio "$rate" "$enc")"
  done < "$work/hashes.txt"
  echo "(target: sha256_hex faster than encode(sha256(x), 'hex'))"
fi

if [[ $parts == *ttl* ]]; then
  echo
  n=${TTL_ROWS:-1000000}
  echo "== ttl: a rule deleting $n expired rows of a narrow table (id bigint, created_at timestamptz)"
  q "CREATE ROLE bench_owner; CREATE TABLE ttl_codes (id bigint PRIMARY KEY, created_at timestamptz NOT NULL);
     CREATE INDEX ON ttl_codes (created_at); ALTER TABLE ttl_codes OWNER TO bench_owner;
     SELECT jobkeeper.add_ttl_rule('ttl_codes', 'created_at', '5 minutes')" >/dev/null
  q "ALTER SYSTEM SET jobkeeper.ttl_interval = '1h'" >/dev/null; q "SELECT pg_reload_conf()" >/dev/null
  # n expired rows over the hour before the cutoff, stored in the order they were created, as
  # rows stamped with now() are.
  load_codes() {
    q "TRUNCATE ttl_codes" >/dev/null
    q "INSERT INTO ttl_codes SELECT i, now() - interval '70 minutes' + i * (interval '1 hour' / $n)
         FROM generate_series(1, $n) i" >/dev/null
    settle ttl_codes
  }
  elapsed() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }'; }
  worker_s=(); call_s=(); delete_s=()
  for r in $(seq "${ROUNDS:-3}"); do
    jk_step "ttl: round $r of ${ROUNDS:-3} (worker, run_ttl(), DELETE)"
    # The worker: its TTL runs from the moment the interval is shortened, timed from its
    # own records (the first run that deleted to the last).
    load_codes
    t0=$(q "SELECT now()")
    q "ALTER SYSTEM SET jobkeeper.ttl_interval = '1s'" >/dev/null; q "SELECT pg_reload_conf()" >/dev/null
    until [ "$(q "SELECT coalesce(sum(ttl_rows_deleted), 0) >= $n FROM jobkeeper.cleanup_runs
                   WHERE source = 'worker_ttl' AND started_at >= '$t0'")" = t ]; do sleep 0.5; done
    q "ALTER SYSTEM SET jobkeeper.ttl_interval = '1h'" >/dev/null; q "SELECT pg_reload_conf()" >/dev/null
    worker_s+=("$(q "SELECT round(extract(epoch FROM max(finished_at) - min(started_at))::numeric, 2)
                      FROM jobkeeper.cleanup_runs WHERE source = 'worker_ttl' AND started_at >= '$t0'")")
    # run_ttl(): the same batches in one transaction.
    load_codes
    t0=$(date +%s.%N); q "SELECT sum(rows_deleted) FROM jobkeeper.run_ttl()" >/dev/null
    call_s+=("$(elapsed "$t0")")
    # One plain DELETE of the same rows.
    load_codes
    t0=$(date +%s.%N); q "DELETE FROM ttl_codes WHERE created_at <= now() - interval '5 minutes'" >/dev/null
    delete_s+=("$(elapsed "$t0")")
  done
  w=$(median "${worker_s[@]}"); c=$(median "${call_s[@]}"); d=$(median "${delete_s[@]}")
  printf '%-22s %9s %12s   (rounds: %s)\n' "" seconds "rows/s" "${ROUNDS:-3}"
  printf '%-22s %9s %12s   %s\n' "jobkeeper worker" "$w" "$(awk -v n="$n" -v s="$w" 'BEGIN { printf "%.0f", n / s }')" "${worker_s[*]}"
  printf '%-22s %9s %12s   %s\n' "run_ttl()" "$c" "$(awk -v n="$n" -v s="$c" 'BEGIN { printf "%.0f", n / s }')" "${call_s[*]}"
  printf '%-22s %9s %12s   %s\n' "one plain DELETE" "$d" "$(awk -v n="$n" -v s="$d" 'BEGIN { printf "%.0f", n / s }')" "${delete_s[*]}"
  echo "worker rate / DELETE rate: $(ratio "$d" "$w"), run_ttl(): $(ratio "$d" "$c")  (target >= 0.5)"
  # Few expired (a fiftieth): the rule takes them by index instead of sweeping the table.
  sparse_load() {
    q "TRUNCATE ttl_codes" >/dev/null
    q "INSERT INTO ttl_codes SELECT i, now() - interval '70 minutes' + i * (interval '50 hours' / $n)
         FROM generate_series(1, $n) i" >/dev/null
    settle ttl_codes
  }
  call_s=(); delete_s=()
  for r in $(seq "${ROUNDS:-3}"); do
    jk_step "ttl: sparse expiry, round $r of ${ROUNDS:-3}"
    sparse_load
    t0=$(date +%s.%N); q "SELECT sum(rows_deleted) FROM jobkeeper.run_ttl()" >/dev/null
    call_s+=("$(elapsed "$t0")")
    sparse_load
    t0=$(date +%s.%N); q "DELETE FROM ttl_codes WHERE created_at <= now() - interval '5 minutes'" >/dev/null
    delete_s+=("$(elapsed "$t0")")
  done
  c=$(median "${call_s[@]}"); d=$(median "${delete_s[@]}")
  echo "a fiftieth of $n rows expired, taken by index: run_ttl() $c s, one plain DELETE $d s: $(ratio "$d" "$c")"
fi
