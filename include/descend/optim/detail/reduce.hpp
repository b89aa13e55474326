// Reductions over a gradient view, for the gradient transforms: p-norms and
// the search for a non-finite value. One read of the memory each, in Eigen's
// vectorised reductions.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <limits>

#include "descend/optim/detail/view.hpp"

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
  if (outer == 1 || outer_stride == inner_stride * inner) {  // one run
    f(Run(v.data, inner * outer, Eigen::InnerStride<>(inner_stride)));
    return;
  }
  for (Index o = 0; o < outer; ++o)
    f(Run(v.data + o * outer_stride, inner, Eigen::InnerStride<>(inner_stride)));
}

// Σ |g|^p over v in double (p = 2: squares, p = 1: absolute values), or
// max |g| for p = inf; NaN if any coefficient is NaN.
template <class Scalar>
double norm_power_sum(const View<const Scalar>& v, double p) {
  double total = 0;
  const bool inf = std::isinf(p);
  for_each_run(v, [&](const auto& run) {
    const auto x = run.template cast<double>();
    double part;
    if (inf)
      part = run.size() == 0 ? 0.0 : x.abs().template maxCoeff<Eigen::PropagateNaN>();
    else if (p == 2)
      part = x.square().sum();
    else if (p == 1)
      part = x.abs().sum();
    else
      part = x.abs().pow(p).sum();
    total = inf ? ((std::isnan(part) || part > total) ? part : total) : total + part;
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
  for (Index j = 0; j < v.cols; ++j) {
    for (Index i = 0; i < v.rows; ++i) {
      const Scalar x = v.data[i * v.row_stride + j * v.col_stride];
      if (!std::isfinite(x)) {
        row = i;
        col = j;
        value = x;
        return;
      }
    }
  }
}

}  // namespace detail
}  // namespace descend
