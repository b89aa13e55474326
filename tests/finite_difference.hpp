// Central finite differences, to check analytic gradients.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "descend/data/random.hpp"

namespace testing {

// A rows x cols matrix of N(0, 1) draws from a seeded stream.
template <class Scalar>
Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> random_matrix(int rows, int cols,
                                                                    std::uint64_t seed) {
  descend::data::Random random(seed);
  return Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>::NullaryExpr(
      rows, cols, [&] { return static_cast<Scalar>(random.normal()); });
}

// Step ~ cbrt(machine epsilon): balances truncation (h^2) and rounding (eps/h).
template <class Scalar>
Scalar fd_step() {
  return std::cbrt(std::numeric_limits<Scalar>::epsilon());
}

// Agreement expected between a central difference and the exact gradient:
// ~h^2 + eps/h, i.e. ~1e-10 in double and ~5e-5 in float for O(1) functions;
// the bounds leave margin for the sums inside the losses.
template <class Scalar>
double fd_tolerance() {
  return std::is_same<Scalar, float>::value ? 2e-2 : 1e-6;
}

// Largest |numeric - analytic| / max(1, |analytic|) over the coefficients of
// x, where loss() evaluates the scalar function at the current x.
template <class Matrix, class Loss>
double max_fd_error(Matrix& x, const Matrix& analytic, Loss&& loss) {
  using Scalar = typename Matrix::Scalar;
  const Scalar h = fd_step<Scalar>();
  double worst = 0;
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    for (Eigen::Index i = 0; i < x.rows(); ++i) {
      const Scalar saved = x(i, j);
      x(i, j) = saved + h;
      const double up = static_cast<double>(loss());
      x(i, j) = saved - h;
      const double down = static_cast<double>(loss());
      x(i, j) = saved;
      const double numeric = (up - down) / (2 * static_cast<double>(h));
      const double exact = static_cast<double>(analytic(i, j));
      worst = std::max(worst, std::abs(numeric - exact) / std::max(1.0, std::abs(exact)));
    }
  }
  return worst;
}

}  // namespace testing
