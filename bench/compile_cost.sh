#!/usr/bin/env bash
# What including descend costs a user: CPU seconds (user + sys), peak compiler
# memory and code size (.text*, from size -A) of small translation units,
# compiled one at a time as `CXX -O2 -std=c++17 -c`. Prints a Markdown table.
#
#   bench/compile_cost.sh                      g++, each TU once
#   bench/compile_cost.sh --cxx clang++ --cxx g++ --repeat 3
#   bench/compile_cost.sh --flags "-O2 -DNDEBUG"
#   bench/compile_cost.sh --only user Adam_float  these rows only (user,
#                                              user_construct, plain_eigen, eigen_core,
#                                              precompiled_library, isa_avx2,
#                                              isa_avx512, Opt_scalar)
#   bench/compile_cost.sh --tus default asan [--jobs N]  per-TU cost (CPU,
#                                              memory) of the whole build of
#                                              these presets (measure_tu.sh)
#
# The TUs: "user" (the issue's file: Adam<float>::update and Sgd<double> with
# momentum through add()/step()), "user_construct" (its two optimizers
# constructed, nothing called), "plain Eigen" (the same arithmetic written
# directly in Eigen, the baseline), each optimizer alone through update() and
# add()/step() for float and double, and <Eigen/Core> alone. With --repeat N
# each figure is the smallest of N runs (CPU time is noisy on a shared
# machine; memory and size are not). Each header-only figure of a user or
# optimizer TU comes with its ratio to plain Eigen, compiled just before it
# in each of the N rounds (best of N for each): on a shared machine whose
# speed drifts within a run, the ratio is the figure to compare.
#
# Each TU is measured twice: header-only, and in the precompiled mode
# (-DDESCEND_PRECOMPILED, as linking descend::precompiled sets; the last row
# is what that library itself costs, once, with its run-time dispatch's two
# files on x86-64).
#
# Targets (issue 9): user TU <= 3 s CPU and <= 40 KB text with g++ 12 at -O2,
# each optimizer alone <= 2 s; no test TU above 1.5 GB.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

compilers=()
flags="-O2"
repeat=1
presets=()
jobs=1
only=()
while [ $# -gt 0 ]; do
  case $1 in
    --cxx) compilers+=("$2"); shift 2 ;;
    --flags) flags=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --tus) shift; while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do presets+=("$1"); shift; done ;;
    --jobs) jobs=$2; shift 2 ;;
    --only) shift; while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do only+=("$1"); shift; done ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "compile_cost.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#compilers[@]} -gt 0 ] || compilers=("${CXX:-g++}")

# --tus: build the test suite of each preset in /tmp/descend-tus-PRESET with
# measure_tu.sh as the compiler launcher, then summarise its log.
if [ ${#presets[@]} -gt 0 ]; then
  for preset in "${presets[@]}"; do
    dir=/tmp/descend-tus-$preset
    log=$dir.log
    rm -rf "$dir" "$log"
    cmake -S "$root" --preset "$preset" -B "$dir" \
      "-DCMAKE_CXX_COMPILER_LAUNCHER=$here/measure_tu.sh;$log" \
      "-DCMAKE_CXX_LINKER_LAUNCHER=$here/measure_tu.sh;$log" > /dev/null
    cmake --build "$dir" -j "$jobs" > "$dir.build.log" 2>&1 ||
      { echo "build of preset $preset failed: see $dir.build.log" >&2; exit 1; }
    echo "### Build of preset $preset, -j$jobs, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    "$here/measure_tu.sh" --summary "$log" 8
    echo
  done
  exit 0
fi

eigen_flags=$(pkg-config --cflags eigen3 2>/dev/null || echo -I/usr/include/eigen3)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/user.cpp" <<'EOF'
#include <descend/descend.hpp>
float f(Eigen::MatrixXf& w, const Eigen::MatrixXf& g, Eigen::VectorXd& v, Eigen::VectorXd& gv) {
  descend::Adam<float> adam; adam.update(w, g);
  descend::SgdOptions s; s.momentum = 0.9; descend::Sgd<double> sgd(s);
  sgd.add(v, gv); sgd.step(); return w(0, 0) + float(v(0)); }
EOF

# The user TU's two optimizers constructed and nothing called: what their
# virtual functions (the update rules' kernels, option checks, messages)
# and the machinery every optimizer shares cost before any update.
cat > "$work/user_construct.cpp" <<'EOF'
#include <descend/descend.hpp>
float f(Eigen::MatrixXf& w, const Eigen::MatrixXf&, Eigen::VectorXd& v, Eigen::VectorXd&) {
  descend::Adam<float> adam; descend::SgdOptions s; s.momentum = 0.9; descend::Sgd<double> sgd(s);
  return w(0, 0) + float(v(0)); }
EOF

# The user TU's arithmetic without descend: Adam's two moments with bias
# correction, and SGD with a momentum buffer, state kept across calls.
cat > "$work/plain_eigen.cpp" <<'EOF'
#include <Eigen/Core>
#include <cmath>
float f(Eigen::MatrixXf& w, const Eigen::MatrixXf& g, Eigen::VectorXd& v, Eigen::VectorXd& gv) {
  static Eigen::ArrayXXf m, s;
  static long t = 0;
  const float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  if (t++ == 0) { m.setZero(w.rows(), w.cols()); s.setZero(w.rows(), w.cols()); }
  m = beta1 * m + (1 - beta1) * g.array();
  s = beta2 * s + (1 - beta2) * g.array().square();
  const float c1 = 1 - std::pow(beta1, float(t)), c2 = 1 - std::pow(beta2, float(t));
  w.array() -= (lr / c1) * m / ((s / c2).sqrt() + eps);
  static Eigen::VectorXd b;
  static bool first = true;
  if (first) { b = gv; first = false; } else { b = 0.9 * b + gv; }
  v -= 1e-3 * b;
  return w(0, 0) + float(v(0)); }
EOF

cases=(user user_construct plain_eigen)
header_of() {
  case $1 in
    Sgd) echo sgd ;; Adagrad) echo adagrad ;; Rmsprop) echo rmsprop ;;
    Adadelta) echo adadelta ;; Adam|AdamW) echo adam ;; Nadam) echo nadam ;;
    Radam) echo radam ;; Adamax) echo adamax ;; Rprop) echo rprop ;; Asgd) echo asgd ;;
    Lion) echo lion ;;
  esac
}
for opt in Sgd Adagrad Rmsprop Adadelta Adam AdamW Nadam Radam Adamax Rprop Asgd Lion; do
  for scalar in float double; do
    name="${opt}<${scalar}>"
    file="$work/${opt}_${scalar}.cpp"
    cat > "$file" <<EOF
#include <descend/optim/$(header_of "$opt").hpp>
using M = Eigen::Matrix<$scalar, Eigen::Dynamic, Eigen::Dynamic>;
$scalar f(M& w, const M& g, M& v, M& gv) {
  descend::$opt<$scalar> a; a.update(w, g);
  descend::$opt<$scalar> b; b.add(v, gv); b.step();
  return w(0, 0) + v(0, 0); }
EOF
    cases+=("${opt}_${scalar}")
  done
done
printf '#include <Eigen/Core>\n' > "$work/eigen_core.cpp"
cases+=(eigen_core)

label() {
  case $1 in
    user) echo "user TU (Adam<float> update + Sgd<double> add/step)" ;;
    user_construct) echo "its two optimizers constructed, nothing called" ;;
    plain_eigen) echo "same arithmetic in plain Eigen" ;;
    eigen_core) echo "#include <Eigen/Core> alone" ;;
    precompiled_library) echo "descend::precompiled itself (once, every element-wise optimizer, float and double)" ;;
    isa_avx2) echo "its AVX2 kernels (src/isa_avx2.cpp, once)" ;;
    isa_avx512) echo "its AVX-512 kernels (src/isa_avx512.cpp, once)" ;;
    *) echo "${1%_*}<${1##*_}> alone (update + add/step)" ;;
  esac
}
target() {
  case $1 in
    user) echo "<= 3 s (2.3x plain Eigen's 1.3 s), <= 40 KB" ;;
    user_construct|plain_eigen|eigen_core|precompiled_library|isa_*) echo "" ;;
    *) echo "<= 2 s (1.5x)" ;;
  esac
}

cp "$root/src/precompiled.cpp" "$work/precompiled_library.cpp"
cp "$root/src/isa_avx2.cpp" "$root/src/isa_avx512.cpp" "$work/"
# The flags CMakeLists.txt gives the library's files (run-time dispatch;
# clang warns that it ignores -funswitch-loops, which CMake gives GCC alone).
library_flags() {
  case $1 in
    precompiled_library) echo "-DDESCEND_DISPATCH" ;;
    isa_avx2) echo "-I$root/src -mavx2 -mfma -ffp-contract=off -falign-loops=32 -funswitch-loops" ;;
    isa_avx512) echo "-I$root/src -mavx512f -mavx512dq -mavx512bw -mavx512vl -mavx2 -mfma -ffp-contract=off -falign-loops=32 -funswitch-loops" ;;
  esac
}

less_than() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }  # as numbers
measure() {  # compiler case [extra flags] -> "cpu_s peak_kb text_bytes"
  local cxx=$1 name=$2 extra=${3:-} best_cpu= peak text
  for _ in $(seq "$repeat"); do
    # shellcheck disable=SC2086
    /usr/bin/time -q -f '%U %S %M' -o "$work/time" \
      "$cxx" $flags $extra -std=c++17 -I"$root/include" $eigen_flags \
      -c "$work/$name.cpp" -o "$work/$name.o" 2> "$work/$name.err" ||
      { echo "compile_cost.sh: $cxx failed on $name:" >&2; head -20 "$work/$name.err" >&2; return 1; }
    read -r user sys peak < "$work/time"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    if [ -z "$best_cpu" ] || less_than "$cpu" "$best_cpu"; then best_cpu=$cpu; fi
  done
  text=$(size -A "$work/$name.o" | awk '$1 ~ /^\.text/ { sum += $2 } END { print sum + 0 }')
  echo "$best_cpu $peak $text"
}

echo "Compile cost, \`CXX $flags -std=c++17 -c\`, $(date -u '+%Y-%m-%d %H:%M UTC'), best of $repeat"
echo "($(git -C "$root" describe --always --dirty 2>/dev/null || echo "no git"))"
echo
header="| TU | target |"
rule="|---|---|"
for cxx in "${compilers[@]}"; do
  version=$("$cxx" --version | head -1 | grep -o '[0-9][0-9.]*' | head -1)
  header+=" ${cxx} ${version}: header-only CPU s | × plain Eigen | MiB | .text KiB | precompiled CPU s | MiB | .text KiB |"
  rule+="---:|---:|---:|---:|---:|---:|---:|"
done
echo "$header"
echo "$rule"
cases+=(precompiled_library)
[ "$(uname -m)" = x86_64 ] && cases+=(isa_avx2 isa_avx512)
cell() {  # compiler case extra-flags -> " cpu | MiB | KiB |"
  local result cpu peak text
  result=$(measure "$@") || return 1
  read -r cpu peak text <<< "$result"
  awk -v c="$cpu" -v p="$peak" -v t="$text" 'BEGIN { printf " %.2f | %.0f | %.1f |", c, p / 1024, t / 1024 }'
}
# A header-only cell with its ratio to plain Eigen, each round compiling plain
# Eigen right before the TU (best of the rounds for each), so that the ratio
# holds when the shared machine's speed drifts during the run.
paired_cell() {  # compiler case -> " cpu | ratio | MiB | KiB |"
  local rounds=$repeat repeat=1 base result b c peak text base_cpu= cpu=
  for _ in $(seq "$rounds"); do
    base=$(measure "$1" plain_eigen) || return 1
    result=$(measure "$@") || return 1
    read -r b _ _ <<< "$base"
    read -r c peak text <<< "$result"
    if [ -z "$base_cpu" ] || less_than "$b" "$base_cpu"; then base_cpu=$b; fi
    if [ -z "$cpu" ] || less_than "$c" "$cpu"; then cpu=$c; fi
  done
  awk -v c="$cpu" -v b="$base_cpu" -v p="$peak" -v t="$text" \
    'BEGIN { printf " %.2f | %.2f | %.0f | %.1f |", c, c / b, p / 1024, t / 1024 }'
}
for name in "${cases[@]}"; do
  if [ ${#only[@]} -gt 0 ] && ! printf '%s\n' "${only[@]}" | grep -qxF "$name"; then continue; fi
  row="| $(label "$name") | $(target "$name") |"
  for cxx in "${compilers[@]}"; do
    case $name in
      user*|[A-Z]*) row+=$(paired_cell "$cxx" "$name") || exit 1
                   row+=$(cell "$cxx" "$name" -DDESCEND_PRECOMPILED) || exit 1 ;;
      precompiled_library|isa_*) row+=" | | | |$(cell "$cxx" "$name" "$(library_flags "$name")")" || exit 1 ;;
      *) row+="$(cell "$cxx" "$name" | sed 's/^\( [^|]*|\)/\1 |/') | | |" || exit 1 ;;
    esac
  done
  echo "$row"
done
