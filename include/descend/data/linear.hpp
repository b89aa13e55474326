// The linear-regression data of the Paddle NNDL book:
//   X ~ N(0, 1) of n x 2,   y = 0.5 x1 + 0.8 x2 + 0.01 U(0, 1).
// Throws std::invalid_argument unless n >= 1.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "descend/data/random.hpp"

namespace descend {
namespace data {

template <class Scalar>
struct Regression {
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> inputs;   // n x 2
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> targets;  // n x 1
};

template <class Scalar = double>
Regression<Scalar> linear(int n, std::uint64_t seed) {
  if (n < 1)
    throw std::invalid_argument("descend::data::linear: n = " + std::to_string(n) +
                                " must be >= 1");
  Random random(seed);
  Regression<Scalar> d{Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>(n, 2),
                       Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>(n, 1)};
  for (int i = 0; i < n; ++i) {
    const double x1 = random.normal();
    const double x2 = random.normal();
    d.inputs(i, 0) = static_cast<Scalar>(x1);
    d.inputs(i, 1) = static_cast<Scalar>(x2);
    d.targets(i, 0) = static_cast<Scalar>(0.5 * x1 + 0.8 * x2 + 0.01 * random.uniform());
  }
  return d;
}

}  // namespace data
}  // namespace descend
