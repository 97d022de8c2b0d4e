#!/usr/bin/env bash
# Draws the benchmarks' PNG charts (gnuplot, Debian's gnuplot-nox) from the saved output of a
# bench run, into bench/charts/ (or $CHARTS_DIR):
#   lifecycle.png  jobs/s of raw, plpgsql and jobkeeper per cell   (from bench/baselines.sh)
#   claim.png      claim rate against the pending backlog           (from bench/run.sh claim)
#   retention.png  the worker's rate-for-latency curve beside 4 claimers, per
#                  cleanup_batch_delay, with the CPU-bound loop's p99 (from bench/run.sh retention)
# Usage: bash bench/baselines.sh | tee baselines.log; bash bench/run.sh claim retention | tee run.log
#        bash bench/charts.sh baselines.log run.log
# Either log may be left out ("-"): its charts are kept as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
baselines=${1:--}
run=${2:--}
out=${CHARTS_DIR:-bench/charts}

if ! command -v gnuplot >/dev/null; then
  JK_PACKAGES=(gnuplot-nox)
  jk_install_deps
fi
mkdir -p "$out"
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
stamp=${CHARTS_STAMP:-"$(date -u +%Y-%m-%d), $(nproc) cores"}  # in each chart's title

if [ "$baselines" != - ]; then
  # "lifecycle, 8 clients, sync on   872   823   778   0.89   0.95" -> label raw plpgsql jobkeeper
  awk '/^(lifecycle|enqueue),/ {
         n = split($0, f, /  +/); label = f[1]; sub(/^lifecycle, /, "", label)
         printf "\"%s\" %s %s %s\n", label, f[2], f[3], f[4] }' "$baselines" > "$data/lifecycle"
  [ -s "$data/lifecycle" ] || { echo "no lifecycle rows in $baselines" >&2; exit 1; }
  gnuplot <<EOF
set terminal pngcairo size 1000,500 noenhanced
set output '$out/lifecycle.png'
set title 'Job lifecycle and enqueue against the baselines (jobs/s, higher is better; $stamp)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set ylabel 'jobs/s'
set xtics rotate by -15 scale 0
set key top left
set grid ytics
plot '$data/lifecycle' using 2:xtic(1) title 'raw (hand-written table)', \
     '' using 3 title 'plpgsql (with triggers)', \
     '' using 4 title 'jobkeeper (as installed)'
EOF
  echo "drew $out/lifecycle.png"
fi

if [ "$run" != - ]; then
  # "10000      pending:     1234 jobs/s"
  awk '/^[0-9]+ +pending: / { print $1, $3 }' "$run" > "$data/claim"
  if [ -s "$data/claim" ]; then
    gnuplot <<EOF
set terminal pngcairo size 800,450 noenhanced
set output '$out/claim.png'
set title 'Claim rate against the pending backlog (4 clients, sync off; $stamp)'
set logscale x
set format x '%.0f'
set offsets graph 0.05, graph 0.05, 0, 0
set xlabel 'pending jobs'
set ylabel 'jobs/s'
set yrange [0:*]
set grid
set key off
plot '$data/claim' using 1:2 with linespoints lw 2 pt 7 ps 1.5
EOF
    echo "drew $out/claim.png"
  fi
  # "worker, cleanup_batch_delay 10 ms   31.2   9615   12.3   10.1   1.20" and the loop's line
  awk '/^worker, cleanup_batch_delay/ { print $3, $6, $7 }' "$run" > "$data/retention"
  cpu=$(awk '/^CPU-bound loop/ { print $(NF - 2) }' "$run")
  if [ -s "$data/retention" ]; then
    gnuplot <<EOF
set terminal pngcairo size 800,450 noenhanced
set output '$out/retention.png'
set title 'Retention beside 4 claimers, by pause between batches ($stamp)'
set xlabel 'jobs deleted per second'
set ylabel "claimers' p99 latency, ms"
set grid
set key top right
set offsets graph 0.05, graph 0.05, graph 0.15, graph 0.1
plot '$data/retention' using 2:3 with linespoints lw 2 pt 7 ps 1.5 title 'worker', \
     '' using 2:3:(sprintf('%s ms', stringcolumn(1))) with labels offset 0,1.2 notitle, \
     ${cpu:-NaN} with lines dt 2 lw 2 title "a CPU-bound loop of the same length"
EOF
    echo "drew $out/retention.png"
  fi
fi
