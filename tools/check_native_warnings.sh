#!/bin/sh
# Compiles every element-wise optimizer, float and double (src/precompiled.cpp:
# the header-only code, explicitly instantiated), and the training toolkit's
# gradient transforms, a schedule and L-BFGS (native_warnings/toolkit.cpp), as
# a user building for this machine with warnings as errors would:
#   -O2 -march=native -Wall -Wextra -Wpedantic -Werror
# and, on x86-64, once more for AVX-512 (-march=x86-64-v4) whatever this CPU
# has, so that the AVX-512 code paths are checked on any runner; with g++
# and with clang++ (each that is installed; CXX_LIST overrides).
# On an AVX-512 CPU this is the build whose GCC 12 reported ~160 false
# "may be used uninitialized" warnings per file through descend's kernels
# (GCC bug 105593); see include/descend/optim/detail/sqrt.hpp.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
eigen=${EIGEN_INCLUDE:-/usr/include/eigen3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
archs=native
[ "$(uname -m)" = x86_64 ] && archs="native x86-64-v4"
for cxx in ${CXX_LIST:-g++ clang++}; do
  command -v "$cxx" > /dev/null || { echo "check_native_warnings: $cxx not installed, skipped"; continue; }
  for arch in $archs; do
    start=$(date +%s)
    for tu in "$root/src/precompiled.cpp" "$root/tools/native_warnings/toolkit.cpp"; do
      if ! "$cxx" -std=c++17 -O2 -march="$arch" -Wall -Wextra -Wpedantic -Werror \
          -I"$root/include" -isystem "$eigen" -c "$tu" -o "$out/tu.o"; then
        echo "check_native_warnings: $cxx -march=$arch ${tu#"$root"/}: FAILED" >&2
        status=1
      fi
    done
    echo "check_native_warnings: $cxx -march=$arch: done ($(( $(date +%s) - start )) s)"
  done
done
exit $status
