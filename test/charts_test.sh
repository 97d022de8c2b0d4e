#!/usr/bin/env bash
# bench/charts.sh against saved bench output (test/charts/*.log, from real runs of
# bench/baselines.sh and bench/run.sh claim retention): it draws the three PNGs at their sizes,
# from the numbers in the logs (other numbers, another picture), refuses a log without the
# lifecycle rows and leaves the charts of a log given as "-" as they are. Prints "ok - ..." or
# "not ok - ..." per check and "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
fixtures=test/charts
out=$(mktemp -d /tmp/jobkeeper-charts.XXXXXX)
trap 'rm -rf "$out"' EXIT
passed=0
failed=0
check() {  # $1 description; the rest: a command that passes or fails
  local what=$1
  shift
  if "$@"; then
    echo "ok - $what"; passed=$((passed + 1))
  else
    echo "not ok - $what"; failed=$((failed + 1))
  fi
}
# "W H" of a PNG from its IHDR chunk (bytes 16-23), or nothing when it is not a PNG.
png_size() {
  [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || return 0
  od -An -tu1 -j16 -N8 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4,
                                          $5 * 16777216 + $6 * 65536 + $7 * 256 + $8 }'
}
differ() { ! cmp -s "$1" "$2"; }
draw() { CHARTS_DIR="$out/$1" CHARTS_STAMP="2026-01-01, 2 cores" bash bench/charts.sh "$2" "$3" >"$out/$1.log" 2>&1; }

draw first "$fixtures/baselines.log" "$fixtures/run.log"
check "charts.sh draws from a baselines and a run log" [ $? -eq 0 ]
check "it says it drew the three charts" [ "$(grep -c '^drew ' "$out/first.log")" -eq 3 ]
check "lifecycle.png is a 1000x500 PNG" [ "$(png_size "$out/first/lifecycle.png")" = "1000 500" ]
check "claim.png is an 800x450 PNG" [ "$(png_size "$out/first/claim.png")" = "800 450" ]
check "retention.png is an 800x450 PNG" [ "$(png_size "$out/first/retention.png")" = "800 450" ]

# The same logs with every raw figure doubled and the 1,000,000-pending claim rate halved.
awk '/^(lifecycle|enqueue),/ { $0 = double_raw($0) } { print }
     function double_raw(line,   f, n) {
       n = split(line, f, /  +/); f[2] = f[2] * 2
       return sprintf("%-34s %9s %9s %9s", f[1], f[2], f[3], f[4]) }' \
  "$fixtures/baselines.log" >"$out/baselines2.log"
awk '/^1000000 +pending: / { $3 = int($3 / 2) } { print }' "$fixtures/run.log" >"$out/run2.log"
draw second "$out/baselines2.log" "$out/run2.log"
check "charts.sh draws from the changed logs" [ $? -eq 0 ]
check "the changed logs' lifecycle.png is a 1000x500 PNG" \
  [ "$(png_size "$out/second/lifecycle.png")" = "1000 500" ]
check "other numbers draw another lifecycle chart" \
  differ "$out/first/lifecycle.png" "$out/second/lifecycle.png"
check "other numbers draw another claim chart" differ "$out/first/claim.png" "$out/second/claim.png"
check "the same retention numbers draw the same retention chart" \
  cmp -s "$out/first/retention.png" "$out/second/retention.png"

# A log without lifecycle rows is refused, by name, and the charts already drawn stay.
cp -r "$out/first" "$out/third"
grep -v -E '^(lifecycle|enqueue),' "$fixtures/baselines.log" >"$out/empty.log"
draw third "$out/empty.log" -
check "a baselines log without lifecycle rows is refused" [ $? -ne 0 ]
check "the refusal names the log" grep -q "no lifecycle rows in $out/empty.log" "$out/third.log"
check "the refused run leaves lifecycle.png as it was" cmp -s "$out/first/lifecycle.png" "$out/third/lifecycle.png"

# "-" for the baselines log: only the run log's charts are drawn again.
cp -r "$out/second" "$out/fourth"
draw fourth - "$fixtures/run.log"
check "with - for the baselines log, lifecycle.png is kept" \
  cmp -s "$out/second/lifecycle.png" "$out/fourth/lifecycle.png"
check "and the run log's two charts are drawn" [ "$(grep -c '^drew ' "$out/fourth.log")" -eq 2 ]

[ "$failed" -gt 0 ] && for f in "$out"/*.log; do echo "== $f"; tail -5 "$f"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
