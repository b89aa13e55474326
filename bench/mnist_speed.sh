#!/bin/sh
# Regenerates bench/results/mnist-epoch.txt, the measurements behind
# bench/results/mnist-epoch.md (issue 15), all in one session, one thread:
# descend at -O2 and at -O3 -march=native (BM_epoch, BM_phases, then 10
# epochs with the test accuracy), then PyTorch from the same initial weights
# in the same batch order, with the reference BLAS and with OpenBLAS.
# The two build directories are configured as:
#   cmake -S . -B build/mnistbench-o2 -DCMAKE_BUILD_TYPE=Release \
#     -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DDESCEND_BUILD_BENCHMARKS=ON \
#     -DDESCEND_OPENMP=OFF -DDESCEND_BUILD_TESTS=OFF -DDESCEND_BUILD_EXAMPLES=OFF
#   (build/mnistbench-native: the same with "-O3 -march=native -DNDEBUG")
#   cmake --build build/mnistbench-o2 --target mnist_epoch -j1   (and native)
# PyTorch: Debian's python3-torch and, for OpenBLAS, libopenblas0-pthread.
# The OpenBLAS run prints the kernels it picked ("Core: ..."). OpenBLAS
# 0.3.21 takes a CPU it does not know, such as Intel's family 6 model 207,
# for a Prescott (SSE3); OPENBLAS_CORE=NAME (e.g. Cooperlake, its AVX-512
# kernels) adds a run with OPENBLAS_CORETYPE=NAME.
set -eu
O2=${O2:-build/mnistbench-o2}
NATIVE=${NATIVE:-build/mnistbench-native}
EXPORT=${EXPORT:-/tmp/descend-mnist}
OUT=${OUT:-bench/results/mnist-epoch.txt}
LIB=/usr/lib/x86_64-linux-gnu
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$EXPORT"
{
  echo "## machine"; lscpu | grep -E 'Model name|^CPU\(s\)'; uptime
  echo "## descend -O2"; "$O2/bench/mnist_epoch"
  echo "## descend -O3 -march=native"; "$NATIVE/bench/mnist_epoch"; uptime
  echo "## descend -O3 -march=native, 10 epochs"
  "$NATIVE/bench/mnist_epoch" --train 10 --export "$EXPORT"
  echo "## descend -O2, 10 epochs"; "$O2/bench/mnist_epoch" --train 10; uptime
  echo "## torch, reference BLAS"
  LD_LIBRARY_PATH=$LIB/blas /usr/bin/python3 bench/mnist_torch.py --from "$EXPORT"; uptime
  echo "## torch, OpenBLAS"
  OPENBLAS_VERBOSE=2 LD_LIBRARY_PATH=$LIB/openblas-pthread \
    /usr/bin/python3 bench/mnist_torch.py --from "$EXPORT"
  uptime
  if [ -n "${OPENBLAS_CORE:-}" ]; then
    echo "## torch, OpenBLAS, OPENBLAS_CORETYPE=$OPENBLAS_CORE"
    OPENBLAS_CORETYPE=$OPENBLAS_CORE OPENBLAS_VERBOSE=2 LD_LIBRARY_PATH=$LIB/openblas-pthread \
      /usr/bin/python3 bench/mnist_torch.py --from "$EXPORT"
    uptime
  fi
} 2>&1 | tee "$OUT"
