// Reductions over a gradient view, for the gradient transforms: p-norms and
// the search for a non-finite value. One read of the memory each, in Eigen's
// vectorised reductions.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "descend/optim/detail/view.hpp"

// GCC 12.1-12.2 reports Eigen's AVX-512 reductions (sum, max, allFinite),
// inlined here, as "may be used uninitialized" (GCC bug 105593; see sqrt.hpp):
// silenced for these functions alone, so that files using the gradient
// transforms compile without a warning at -Wall -Werror -march=native.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace descend {
namespace detail {

// Calls f(run) for each evenly strided run of v's coefficients, run being an
// Eigen vector map (inner stride >= 1).
template <class Scalar, class F>
void for_each_run(const View<const Scalar>& v, F&& f) {
  using Run = Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>, 0, Eigen::InnerStride<>>;
  if (v.size() == 0) return;
  if (v.size() == 1) return f(Run(v.data, 1, Eigen::InnerStride<>(1)));
  // The inner axis: the longer-than-1 axis with the smaller stride.
  const bool inner_is_rows = v.cols == 1 || (v.rows != 1 && v.row_stride <= v.col_stride);
  const Index inner = inner_is_rows ? v.rows : v.cols;
  const Index outer = inner_is_rows ? v.cols : v.rows;
  const Index inner_stride = inner_is_rows ? v.row_stride : v.col_stride;
  const Index outer_stride = inner_is_rows ? v.col_stride : v.row_stride;
  if (inner_stride < 1) {  // a broadcast (0) or reversed Map: one coefficient at a time
    for (Index o = 0; o < outer; ++o)
      for (Index k = 0; k < inner; ++k)
        f(Run(v.data + o * outer_stride + k * inner_stride, 1, Eigen::InnerStride<>(1)));
    return;
  }
  using Contiguous = Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>>;
  const bool one_run = outer == 1 || outer_stride == inner_stride * inner;
  if (one_run && inner_stride == 1) return f(Contiguous(v.data, inner * outer));  // vectorised
  if (one_run) return f(Run(v.data, inner * outer, Eigen::InnerStride<>(inner_stride)));
  for (Index o = 0; o < outer; ++o) {
    if (inner_stride == 1)
      f(Contiguous(v.data + o * outer_stride, inner));
    else
      f(Run(v.data + o * outer_stride, inner, Eigen::InnerStride<>(inner_stride)));
  }
}

// Σ |g|^p over v, accumulated in double (p = 2: squares, p = 1: absolute
// values), or max |g| for p = inf; NaN if any coefficient is NaN. Float
// squares and absolute values are summed in float over blocks of 1024 (in
// registers, vectorised; relative error ~1e-5 at worst) and the blocks in
// double; a block whose float sum overflows is summed again in double.
template <class Scalar>
double norm_power_sum(const View<const Scalar>& v, double p) {
  double total = 0;
  const bool inf = std::isinf(p);
  auto part_of = [&](const auto& x) -> double {
    if (inf) return static_cast<double>(x.abs().template maxCoeff<Eigen::PropagateNaN>());
    if (p == 2) return static_cast<double>(x.square().sum());
    if (p == 1) return static_cast<double>(x.abs().sum());
    // Any other p, rare: std::pow per coefficient (Eigen's vectorised pow
    // is its own out-of-line function, which GCC 12 warns about as above).
    return x.template cast<double>()
        .abs()
        .unaryExpr([p](double a) { return std::pow(a, p); })
        .sum();
  };
  for_each_run(v, [&](const auto& run) {
    constexpr Index kBlock = 1024;
    for (Index i0 = 0; i0 < run.size(); i0 += kBlock) {
      const auto block = run.segment(i0, std::min(kBlock, run.size() - i0));
      double part = part_of(block);
      if (std::isinf(part) && !std::is_same<Scalar, double>::value && !inf)
        part = part_of(block.template cast<double>());
      total = inf ? ((std::isnan(part) || part > total) ? part : total) : total + part;
    }
  });
  return total;
}

// The p-norm of v in double: (Σ |g|^p)^(1/p), max |g| for p = inf.
template <class Scalar>
double norm_of(const View<const Scalar>& v, double p) {
  const double s = norm_power_sum(v, p);
  if (std::isinf(p)) return s;
  return p == 2 ? std::sqrt(s) : p == 1 ? s : std::pow(s, 1.0 / p);
}

// Whether every coefficient of v is finite.
template <class Scalar>
bool all_finite(const View<const Scalar>& v) {
  bool finite = true;
  for_each_run(v, [&](const auto& run) { finite = finite && run.allFinite(); });
  return finite;
}

// The (row, col) of v's first non-finite coefficient, column by column, and its
// value; only called once one is known to be there.
template <class Scalar>
void find_non_finite(const View<const Scalar>& v, Index& row, Index& col, Scalar& value) {
  bool found = false;  // the first one (the scan is on the way to a throw)
  for_each_element(v, [&](const Scalar& x, Index i, Index j) {
    if (found || std::isfinite(x)) return;
    found = true;
    row = i;
    col = j;
    value = x;
  });
}

}  // namespace detail
}  // namespace descend

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
