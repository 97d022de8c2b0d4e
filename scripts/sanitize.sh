#!/usr/bin/env bash
# `make sanitize` (also run by make test, last): the library built with AddressSanitizer and
# UndefinedBehaviorSanitizer, installed, preloaded into a throwaway cluster whose server runs
# with the sanitizer runtimes, and the pg_regress and isolation suites run against it, the
# worker serving the test databases meanwhile. Passes when every test passes and the runtimes
# wrote no report. A canary module then proves that a report would be seen. The normal library
# is built and installed again however the script ends. Ends with "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

passed=0
failed=0
count() { passed=$((passed + $1)); failed=$((failed + $2)); }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]; exit; }

jk_install_deps || { count 0 1; finish; }
jk_use_pg_path
runtimes=
for lib in asan.so ubsan.so; do
  runtimes+=${runtimes:+:}$(gcc -print-file-name="lib$lib")
done

work=$(mktemp -d /tmp/jobkeeper-sanitize.XXXXXX)
chmod 755 "$work"
cleanup() {
  jk_cluster_destroy "$work/cluster"
  rm -rf "$work"
  jk_log "installing the normal library again"
  jk_build_install >/dev/null || echo "the normal library could not be installed again"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A copy of the tree, so the sanitized objects never mix with the normal build's.
tree="$work/tree"
mkdir -p "$tree"
cp -r Makefile jobkeeper.control src sql expected test "$tree"/
jk_log "building the library with -fsanitize=address,undefined"
if ! make -s -C "$tree" -j"$(nproc)" JK_WERROR=1 JK_SANITIZE=1 PG_CONFIG="$JK_PG_BIN/pg_config" ||
   ! make -s -C "$tree" install PG_CONFIG="$JK_PG_BIN/pg_config" >/dev/null; then
  echo "sanitized build failed"; count 0 1; finish
fi
gcc -shared -fPIC -O2 -o "$work/no_text_domains.so" test/sanitize/no_text_domains.c
gcc -shared -fPIC -g -fsanitize=address,undefined -isystem "$("$JK_PG_BIN/pg_config" --includedir-server)" \
  -o "$work/canary.so" test/sanitize/canary.c
chown -R postgres: "$work/tree"

# The runtimes go to the server only (pg_ctl passes its environment to postgres); their reports
# go to its stderr, the server log. Leak checks are off: a backend frees its memory by exiting,
# which LeakSanitizer would report.
port=$((57000 + RANDOM % 1000))
JK_SERVER_ENV=(
  "LD_PRELOAD=$work/no_text_domains.so:$runtimes"
  "ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0"
  "UBSAN_OPTIONS=print_stacktrace=1"
)
jk_log "starting the sanitized cluster on port $port"
# The worker serves one database of its own (below), not the suites': a pass landing between two
# statements of a test would change what the test sees.
jk_cluster_start "$work/cluster" "$port" "fsync = off" "jobkeeper.databases = 'sanitize_worker'" ||
  { count 0 1; finish; }
server_pid=$(head -1 "$work/cluster/data/postmaster.pid")
if ! grep -q libasan "/proc/$server_pid/maps"; then
  echo "the server runs without the AddressSanitizer runtime"; count 0 1; finish
fi

export PGHOST="$work/cluster/sock" PGPORT="$port" PGUSER=postgres
for target in regresscheck isolationcheck; do
  jk_log "$target (sanitized)"
  jk_as_postgres env PATH="$PATH" PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" \
    make -s -C "$tree" "$target" PG_CONFIG="$JK_PG_BIN/pg_config" >"$work/$target.log" 2>&1
  rc=$?
  ok=$(grep -cE '\.\.\. ok( |$)' "$work/$target.log")
  bad=$(grep -cE '\.\.\. (FAILED|failed)' "$work/$target.log")
  if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
  [ "$bad" -gt 0 ] && { cat "$work/$target.log"; find "$tree" -name regression.diffs -exec head -100 {} \;; }
  echo "$target: $ok passed, $bad failed"
  count "$ok" "$bad"
done

# The worker under the sanitizers: in a database of its own, its first pass deletes three jobs
# finished 13 hours ago and re-queues an expired lease, and it sends a submitted job's event to a
# listener.
jk_log "the worker's pass and events (sanitized)"
psql -X -q -d postgres -c "CREATE DATABASE sanitize_worker" &&
  psql -X -q -d sanitize_worker -c "CREATE EXTENSION jobkeeper;
    INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
    SELECT 'old', '/old/' || i, 'completed', now() - interval '13 hours' FROM generate_series(1, 3) i;
    INSERT INTO jobkeeper.jobs (file_name, file_path, status, attempts, locked_by, lease_expires_at)
    VALUES ('lost', '/lost', 'processing', 1, 'gone', now() - interval '1 minute');"
worker_pass=
for _ in $(seq 60); do
  worker_pass=$(psql -X -qAt -d sanitize_worker -c "SELECT jobs_deleted || ' ' || leases_requeued
    FROM jobkeeper.cleanup_runs WHERE source = 'worker' ORDER BY id LIMIT 1" 2>/dev/null)
  [ -n "$worker_pass" ] && break
  sleep 1
done
worker_pid=$(psql -X -qAt -d sanitize_worker -c "SELECT pid FROM jobkeeper.worker_status
  WHERE datname = 'sanitize_worker'")
heard=$(psql -X -q -d sanitize_worker 2>&1 <<'SQL'
LISTEN jobkeeper_jobs;
\! psql -X -q -d sanitize_worker -c "SELECT FROM jobkeeper.submit_job('new.mp3', '/new')"
SELECT pg_sleep(2);
SQL
)
if [ "$worker_pass" = "3 1" ] && grep -q "notification \"jobkeeper_jobs\".* PID ${worker_pid:-none}\." <<<"$heard"; then
  echo "worker: pass and events as expected"
  count 1 0
else
  echo "worker: first pass deleted and re-queued '${worker_pass:-nothing}' (expected '3 1'); the listener, expecting the worker's PID ${worker_pid:-none}, saw:"
  echo "$heard"
  count 0 1
fi

log="$work/cluster/server.log"
report='runtime error:|ERROR: AddressSanitizer|^SUMMARY: [A-Za-z]*Sanitizer'
if grep -qE "$report" "$log"; then
  echo "sanitizer reports:"
  grep -E -A 30 "$report" "$log" | head -200
  count 0 1
else
  echo "no sanitizer report from the suites and the worker"
  count 1 0
fi

# The canary: one backend loads a module with a signed overflow and a heap overflow.
chown postgres: "$work/canary.so"
psql -X -q -d postgres -c "LOAD '$work/canary.so'" >/dev/null 2>&1
sleep 1
if grep -q 'runtime error: signed integer overflow' "$log" &&
   grep -q 'ERROR: AddressSanitizer: heap-buffer-overflow' "$log"; then
  echo "canary: both reports seen"
  count 1 0
else
  echo "canary: a report is missing, so the run above could not have seen one either"
  tail -40 "$log"
  count 0 1
fi
finish
