#!/bin/sh
# Peak memory and time of the analyses at a million runs, two builds
# interleaved (docs/performance.md, issue 22's memory). Run from the
# repository's root:
#
#   python3 ../shared/tools/gen_tfl_db.py h1.db --traces 1000000 --seed 1
#   sh bench/peaks.sh BEFORE_BINARY AFTER_BINARY h1.db [ROUNDS]
#
# Prints one line per run (build, command, seconds, peak KB); the medians
# are for the reader. Outputs of the two builds are compared with cmp.
set -e
before=$1
after=$2
store=$3
rounds=${4:-3}
out=$(mktemp -d)
trap 'rm -r "$out"' EXIT
for round in $(seq "$rounds"); do
  for args in "trend --window all" \
              "trend --window all --all-metrics" \
              "trend --window all --all-metrics --segment-by model" \
              "cases --window all"; do
    for build in before after; do
      eval bin=\$$build
      /usr/bin/time -o "$out/time" -f "%e %M" $bin $args --db "$store" > "$out/$build" || true
      echo "$round $build '$args' $(cat "$out/time")"
    done
    cmp -s "$out/before" "$out/after" || echo "  the outputs of '$args' differ"
  done
done
