#!/usr/bin/env bash
# The README's test command (`make test`): installs what it needs, builds, runs every suite
# (GoogleTest, pg_regress, isolation, TAP, then pg_regress and isolation against a sanitizer
# build, the Debian package, the bench charts), printing each test's result as it ends, and
# ends with one line "N passed, M failed".
# Exits non-zero when anything fails. The throwaway cluster is removed however it ends.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

passed=0
failed=0
suite_problems=()
count() { passed=$((passed + $1)); failed=$((failed + $2)); }

jk_install_deps || { echo "dependency installation failed"; echo "0 passed, 1 failed"; exit 1; }
jk_use_pg_path

work=$(mktemp -d /tmp/jobkeeper-test.XXXXXX)
chmod 755 "$work"
cleanup() {
  [ -n "${suite_pid:-}" ] && kill "$suite_pid" 2>/dev/null && wait "$suite_pid" 2>/dev/null
  jk_cluster_destroy "$work/cluster"; rm -rf "$work"
}
# Runs a suite ("$@") with its output in log $1, passing that through filter $2 as it comes;
# returns the suite's status. The suite writes to a file, never to a pipe: stopped in the
# middle, this script stops the suite (cleanup), and the suite's own cleanup of its clusters
# runs, where a broken pipe would have killed it first.
follow() {
  local log=$1 filter=$2
  shift 2
  : >"$log"
  "$@" >"$log" 2>&1 &
  suite_pid=$!
  tail -n +1 -f --pid="$suite_pid" "$log" | "$filter" &
  local shown=$!
  wait "$suite_pid"  # a wait, not a foreground pipeline: a signal's trap runs at once
  local rc=$?
  wait "$shown"
  suite_pid=
  return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! jk_build_install; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

# 1. GoogleTest over the pure core, through ctest.
jk_log "unit tests (ctest)"
if cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$work/cmake.log" 2>&1 &&
   cmake --build build -j"$(nproc)" >>"$work/cmake.log" 2>&1; then
  (cd build && ctest --output-on-failure) >"$work/ctest.log" 2>&1
  summary=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$work/ctest.log" | tail -1)
  if [ -n "$summary" ]; then
    total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$summary")
    nfail=$(sed -E 's/.*passed, ([0-9]+) tests failed.*/\1/' <<<"$summary")
    count $((total - nfail)) "$nfail"
    [ "$nfail" -gt 0 ] && { grep -E 'Failed|\*\*\*' "$work/ctest.log"; suite_problems+=("ctest"); }
  else
    cat "$work/ctest.log"; count 0 1; suite_problems+=("ctest printed no summary")
  fi
  tail -3 "$work/ctest.log"
else
  cat "$work/cmake.log"; count 0 1; suite_problems+=("unit test build")
fi

# 2 and 3. pg_regress and isolation against a throwaway cluster with the library preloaded.
# The worker serves no database of these suites: they check what each call returns, and a
# worker pass landing between two of a test's statements would change it. TAP tests the worker.
port=${JK_TEST_PORT:-$((54000 + RANDOM % 1000))}
jk_log "starting throwaway cluster on port $port"
if jk_cluster_start "$work/cluster" "$port" "fsync = off" "jobkeeper.databases = 'postgres'"; then
  export PGHOST="$work/cluster/sock" PGPORT="$port" PGUSER=postgres
  # pg_regress and pg_isolation_regress print one line per test: "... ok" or "... FAILED".
  test_lines() { grep --line-buffered -E '\.\.\. (ok|FAILED|failed)'; }  # as each test ends
  run_pg_suite() {
    local name=$1 target=$2 log="$work/$1.log" ok bad
    jk_log "$name"
    follow "$log" test_lines make -s "$target" PG_CONFIG="$JK_PG_BIN/pg_config"
    local rc=$?
    ok=$(grep -cE '\.\.\. ok( |$)' "$log")
    bad=$(grep -cE '\.\.\. (FAILED|failed)' "$log")
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; cat "$log"; fi
    count "$ok" "$bad"
    if [ "$bad" -gt 0 ]; then
      suite_problems+=("$name")
      local diffs
      for diffs in regression.diffs output_iso/regression.diffs; do
        [ -f "$diffs" ] && head -200 "$diffs"
      done
    fi
  }
  run_pg_suite "pg_regress" regresscheck
  run_pg_suite "isolation" isolationcheck
else
  count 0 1; suite_problems+=("cluster start")
fi

# 4. TAP: PostgreSQL::Test::Cluster runs initdb, which refuses root, so the suite runs as
# postgres in a copy of the tree that user owns.
jk_log "TAP tests (prove)"
tap_tree="$work/tap"
mkdir -p "$tap_tree"
cp -r Makefile jobkeeper.control META.json README.md src test sql expected examples debian "$tap_tree"/
chown -R postgres: "$tap_tree"
# A line per test file as it ends, with its tests passed and failed and prove's timing, and a
# failing test's line: the crash, standby and client files take a minute or more. (A file's
# output reaches prove when it ends; JKAutoflush makes prove pass it on at once.)
tap_progress() {
  local line file="" ok=0 bad=0
  : >"$work/tap_died"
  while IFS= read -r line; do
    case $line in
      "["*"] "*".pl .."*" skipped: "*) echo "${line#*] }" ;;  # "... skipped: no pgbouncer"
      "["*"] t/"*.pl*|"["*"] test/"*.pl*) file=${line#*] }; file=${file%% *}; ok=0; bad=0 ;;
      "ok "[0-9]*) ok=$((ok + 1)) ;;
      "not ok "[0-9]*) bad=$((bad + 1)); echo "  $line" ;;
      "ok  "*|"Failed "*|"Dubious"*)  # the file's result: "ok     2483 ms ( ... CPU)"
        [ -n "$file" ] || continue
        # A file that died (a BAIL_OUT, a safe_psql that failed, a wrong plan) may have
        # printed no "not ok": it counts as one failure of its own.
        [ "${line:0:3}" != "ok " ] && [ "$bad" -eq 0 ] && echo "$file" >>"$work/tap_died"
        printf '%-32s %3d ok, %d not ok, %s\n' "$file" "$ok" "$bad" \
          "$(sed -E 's/^(ok|Failed [0-9/]+ subtests|Dubious[^ ]*) *([0-9]+) ms.*/\2 ms/' <<<"$line")"
        file="" ;;
      Files=*|Result:*) echo "$line" ;;
    esac
  done
}
follow "$work/tap.log" tap_progress \
  jk_as_postgres env PATH="$PATH" PERL5OPT="-I$tap_tree/test/perl -MJKAutoflush" \
  make -s -C "$tap_tree" tapcheck PG_CONFIG="$JK_PG_BIN/pg_config" PROVE_FLAGS="-v --timer"
tap_rc=$?
tap_ok=$(grep -cE '^ok [0-9]+' "$work/tap.log")
tap_bad=$(( $(grep -cE '^not ok [0-9]+' "$work/tap.log") + $(wc -l <"$work/tap_died") ))
if [ "$tap_rc" -ne 0 ] && [ "$tap_bad" -eq 0 ]; then tap_bad=1; fi
if [ "$tap_bad" -gt 0 ]; then
  grep -E '^not ok|^#' "$work/tap.log" | head -100
  for f in "$tap_tree"/tmp_check/log/regress_log_*; do [ -f "$f" ] && tail -50 "$f"; done
  suite_problems+=("TAP")
fi
count "$tap_ok" "$tap_bad"

# 5-7. Suites of their own scripts, each ending with its "N passed, M failed" line; the lines
# matching $3 are shown as they come.
run_script_suite() {  # $1 name, $2 script, $3 lines to show, $4 log lines to show on failure
  local log="$work/$1.log" summary ok=0 bad=1 rc
  jk_log "$1 ($2)"
  shown() { grep --line-buffered -E "$pattern"; }
  local pattern=$3
  follow "$log" shown bash "$2"
  rc=$?
  summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
  [ -n "$summary" ] && read -r ok _ bad _ <<<"$summary"
  # A script that failed, or passed nothing, fails its suite whatever its summary says.
  if [ "$bad" -eq 0 ] && { [ "$rc" -ne 0 ] || [ "$ok" -eq 0 ]; }; then bad=1; fi
  if [ "$bad" -gt 0 ]; then tail -"$4" "$log"; suite_problems+=("$1"); fi
  count "$ok" "$bad"
}
# 5. The pg_regress and isolation suites again, against the library built with AddressSanitizer
# and UndefinedBehaviorSanitizer; it replaces the installed library while it runs (and installs
# the normal one again when it ends).
run_script_suite sanitizers scripts/sanitize.sh \
  '^(regresscheck|isolationcheck):|sanitizer report|^canary|^worker:' 100
# 6. The Debian package: built, checked by lintian, installed, used, removed (it puts make
# install's library back).
run_script_suite package scripts/package.sh '^(not )?ok - ' 60
# 7. bench/charts.sh draws its charts from saved bench output.
run_script_suite charts test/charts_test.sh '^(not )?ok - ' 40

[ ${#suite_problems[@]} -gt 0 ] && echo "failing: ${suite_problems[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
