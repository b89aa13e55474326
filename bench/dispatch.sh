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
# bench/report.py --levels. Build first:
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
for level in avx2 avx512; do
  DESCEND_ISA=$level "$BUILD/descend_bench_$level" --benchmark_filter="$FILTER" \
    --benchmark_out="$OUT/bench-o2-$level.json" --benchmark_out_format=json > /dev/null
done
# The spiral example's epoch (the layer set is header-only: the portable build).
"$BUILD/descend_bench" --benchmark_filter='^spiral_epoch$' \
  --benchmark_out="$OUT/bench-o2-spiral.json" --benchmark_out_format=json > /dev/null
echo "load after: $(cat /proc/loadavg)"
python3 bench/report.py --levels "$OUT/bench-o2-portable.json" "$OUT/bench-o2-avx2.json" \
  "$OUT/bench-o2-avx512.json"
