// The "spiral" classification data of the NNFS book (nnfs): `classes` arms
// of `samples` points each. Point i of arm c sits at radius r = i / (samples - 1)
// and angle 2.5 t, t = 4 c + 4 i / (samples - 1) + noise * N(0, 1):
//   x = (r sin(2.5 t), r cos(2.5 t)),  label c.
// Throws std::invalid_argument unless samples >= 2, classes >= 1 and noise is
// finite and >= 0.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

#include "descend/data/random.hpp"

namespace descend {
namespace data {

template <class Scalar>
struct Classification {
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> inputs;  // one sample per row
  Eigen::VectorXi labels;                                        // class ids 0 .. classes-1
};

template <class Scalar = double>
Classification<Scalar> spiral(int samples, int classes, std::uint64_t seed, double noise = 0.2) {
  // samples >= 2: each arm runs from radius 0 to radius 1.
  if (samples < 2)
    throw std::invalid_argument("descend::data::spiral: samples = " + std::to_string(samples) +
                                " must be >= 2");
  if (classes < 1)
    throw std::invalid_argument("descend::data::spiral: classes = " + std::to_string(classes) +
                                " must be >= 1");
  if (!(noise >= 0 && noise <= std::numeric_limits<double>::max())) {  // NaN fails too
    char text[32];
    std::snprintf(text, sizeof text, "%g", noise);
    throw std::invalid_argument(std::string("descend::data::spiral: noise = ") + text +
                                " must be finite and >= 0");
  }
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
