#!/bin/sh
# Issue 14's three builds side by side, one thread, one after another in one
# session: the portable header-only build (descend_bench: -O2, no -march,
# SSE2), and descend::precompiled's run-time dispatch at AVX2 and at AVX-512
# (descend_bench_avx2 and descend_bench_avx512, each run with DESCEND_ISA set
# to its level; their fused and stream loops are compiled for that level).
# Every binary runs the same benchmarks: the updates at N = 1e3 (in cache)
# and 1e7, the fixed costs and the 1000 x 64 cases (an Arena among them);
# then the spiral epoch, portable. Writes
# bench/results/bench-o2-{portable,avx2,avx512,spiral}.json and prints the table of
# bench/report.py --levels (OUT=DIR writes them there instead). A level the
# CPU lacks is skipped. Build first:
#   cmake --preset bench && cmake --build --preset bench
set -eu
BUILD=${BUILD:-build/bench/bench}
OUT=${OUT:-bench/results}
FILTER='^(update/.*/(1000|10000000)|fixed_cost/.*|many_small/.*)$'
export OMP_NUM_THREADS=1
echo "load before: $(cat /proc/loadavg)"
unset DESCEND_ISA
"$BUILD/descend_bench" --benchmark_filter="$FILTER" \
  --benchmark_out="$OUT/bench-o2-portable.json" --benchmark_out_format=json > /dev/null
files="$OUT/bench-o2-portable.json"
for level in avx2 avx512; do
  # A level this CPU lacks is skipped: descend refuses it (by name) when
  # the binary starts, before any benchmark.
  if ! why=$(DESCEND_ISA=$level "$BUILD/descend_bench_$level" --benchmark_list_tests 2>&1 >/dev/null); then
    echo "$level: skipped: $why"
    continue
  fi
  DESCEND_ISA=$level "$BUILD/descend_bench_$level" --benchmark_filter="$FILTER" \
    --benchmark_out="$OUT/bench-o2-$level.json" --benchmark_out_format=json > /dev/null
  files="$files $OUT/bench-o2-$level.json"
done
# The spiral example's epoch (the layer set is header-only: the portable build).
"$BUILD/descend_bench" --benchmark_filter='^spiral_epoch$' \
  --benchmark_out="$OUT/bench-o2-spiral.json" --benchmark_out_format=json > /dev/null
echo "load after: $(cat /proc/loadavg)"
# shellcheck disable=SC2086  # (the file names have no spaces)
python3 bench/report.py --levels $files
