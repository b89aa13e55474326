// The "spiral" classification data of nnfs (design note 000): `classes` arms
// of `samples` points each. Point i of arm c sits at radius r = i / (samples - 1)
// and angle 2.5 t, t = 4 c + 4 i / (samples - 1) + noise * N(0, 1):
//   x = (r sin(2.5 t), r cos(2.5 t)),  label c.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "descend/data/random.hpp"

namespace descend {
namespace data {

template <class Scalar>
struct Classification {
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> inputs;  // one sample per row
  Eigen::VectorXi labels;                                         // class ids 0 .. classes-1
};

template <class Scalar = double>
Classification<Scalar> spiral(int samples, int classes, std::uint64_t seed, double noise = 0.2) {
  if (samples < 2 || classes < 1)
    throw std::invalid_argument("descend::data::spiral: need samples >= 2 and classes >= 1, got " +
                                std::to_string(samples) + " and " + std::to_string(classes));
  Random random(seed);
  Classification<Scalar> d{Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>(
                               static_cast<Eigen::Index>(samples) * classes, 2),
                           Eigen::VectorXi(static_cast<Eigen::Index>(samples) * classes)};
  for (int c = 0; c < classes; ++c) {
    for (int i = 0; i < samples; ++i) {
      const double along = static_cast<double>(i) / (samples - 1);
      const double t = 4.0 * c + 4.0 * along + noise * random.normal();
      const Eigen::Index row = static_cast<Eigen::Index>(c) * samples + i;
      d.inputs(row, 0) = static_cast<Scalar>(along * std::sin(2.5 * t));
      d.inputs(row, 1) = static_cast<Scalar>(along * std::cos(2.5 * t));
      d.labels(row) = c;
    }
  }
  return d;
}

}  // namespace data
}  // namespace descend
