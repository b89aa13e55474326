#!/usr/bin/env bash
# Per-translation-unit compile cost of a CMake build: CPU seconds (user + sys),
# wall seconds and peak compiler memory (max RSS) of every compiler call.
#
# As a compiler launcher, it runs the compiler under /usr/bin/time and appends
# one line per call to LOG ("cpu_s wall_s max_rss_kb status source"):
#
#   cmake --preset asan -B /tmp/tu-asan \
#     "-DCMAKE_CXX_COMPILER_LAUNCHER=$PWD/bench/measure_tu.sh;/tmp/tu-asan.log" \
#     "-DCMAKE_CXX_LINKER_LAUNCHER=$PWD/bench/measure_tu.sh;/tmp/tu-asan.log"
#   cmake --build /tmp/tu-asan -j1
#
# (or let `bench/compile_cost.sh --tus PRESET...` do both). Then
#
#   bench/measure_tu.sh --summary LOG [N]
#
# prints the N (default 10) most memory-hungry TUs, the totals and the maxima
# as a Markdown table (links, logged as link:NAME, are summed separately).
set -uo pipefail

if [ "${1:-}" = "--summary" ]; then
  log=${2:?usage: measure_tu.sh --summary LOG [N]}
  top=${3:-10}
  [ -s "$log" ] || { echo "measure_tu.sh: $log is empty or missing" >&2; exit 1; }
  echo "| TU | CPU s | wall s | peak MiB |"
  echo "|---|---:|---:|---:|"
  grep -v ' link:' "$log" | sort -k3,3nr | head -n "$top" |
    awk '{ printf "| %s | %.1f | %.1f | %.0f |\n", $5, $1, $2, $3 / 1024 }'
  awk '$5 ~ /^link:/ { lcpu += $1; if ($3 > lmem) lmem = $3; links++; next }
       { cpu += $1; if ($1 > maxcpu) { maxcpu = $1; cpuat = $5 }
         if ($3 > maxmem) { maxmem = $3; memat = $5 }; if ($4 != 0) failed++; n++ }
       END { printf "\n%d TUs: %.1f CPU s in all; most CPU %.1f s (%s); most memory %.0f MiB (%s)\n",
               n, cpu, maxcpu, cpuat, maxmem / 1024, memat
             if (links) printf "%d links: %.1f CPU s in all; most memory %.0f MiB\n", links, lcpu, lmem / 1024
             if (failed) printf "%d compiler calls FAILED\n", failed }' "$log"
  exit 0
fi

log=${1:?usage: measure_tu.sh LOG COMPILER ARGS... (as CMAKE_CXX_COMPILER_LAUNCHER)}
shift
# The source is the argument after -c (CMake's Makefile and Ninja generators
# both pass `-c SOURCE`), logged as its last two path components
# (tests/test_adam.cpp). A call without -c (a link, when this script is also
# CMAKE_CXX_LINKER_LAUNCHER) is logged as link:OUTPUT.
source=
output=-
prev=
for arg in "$@"; do
  if [ "$prev" = "-c" ]; then source=$arg; fi
  if [ "$prev" = "-o" ]; then output=$arg; fi
  prev=$arg
done
[ -n "$source" ] || source=link:${output##*/}
if [[ $source == */*/* ]]; then
  dir=${source%/*}
  source=${dir##*/}/${source##*/}
fi

times=$(mktemp)
/usr/bin/time -q -f '%U %S %e %M' -o "$times" "$@"
status=$?
# One short append per call, atomic on Linux: parallel builds can share LOG.
awk -v status="$status" -v source="$source" \
  '{ printf "%.2f %.2f %d %d %s\n", $1 + $2, $3, $4, status, source }' "$times" >> "$log"
rm -f "$times"
exit "$status"
