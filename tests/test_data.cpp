#include "catch.hpp"
#include <cstring>

#include "descend/data/linear.hpp"
#include "descend/data/spiral.hpp"

using descend::data::linear;
using descend::data::spiral;

TEST_CASE("the same seed gives the same spiral bit for bit, another seed another", "[data]") {
  const auto a = spiral<double>(100, 3, 42), b = spiral<double>(100, 3, 42);
  const auto c = spiral<double>(100, 3, 43);
  REQUIRE(a.inputs.size() == 600);
  CHECK(std::memcmp(a.inputs.data(), b.inputs.data(), sizeof(double) * 600) == 0);
  CHECK(a.labels == b.labels);
  CHECK(a.inputs != c.inputs);
}

TEST_CASE("the spiral has samples x classes points on arms of radius 0 to 1", "[data]") {
  const auto d = spiral<float>(100, 3, 0);
  CHECK(d.inputs.rows() == 300);
  CHECK(d.inputs.cols() == 2);
  for (int c = 0; c < 3; ++c) CHECK((d.labels.segment(100 * c, 100).array() == c).all());
  const Eigen::VectorXf radius = d.inputs.rowwise().norm();
  CHECK(radius(0) == 0);                           // first point of each arm at the centre
  CHECK(radius(99) == Approx(1.0).epsilon(1e-6));  // last at radius 1
  CHECK(radius(150) == Approx(50.0 / 99).epsilon(1e-6));
}

TEST_CASE("the linear data follow y = 0.5 x1 + 0.8 x2 + 0.01 U(0, 1)", "[data]") {
  const auto d = linear<double>(1000, 0);
  const auto e = linear<double>(1000, 0);
  CHECK(d.inputs == e.inputs);
  CHECK(d.targets == e.targets);
  const Eigen::ArrayXd noise =
      d.targets.col(0).array() - 0.5 * d.inputs.col(0).array() - 0.8 * d.inputs.col(1).array();
  CHECK(noise.minCoeff() >= 0);
  CHECK(noise.maxCoeff() < 0.01);
  CHECK(noise.mean() == Approx(0.005).margin(5e-4));
  CHECK(d.inputs.mean() == Approx(0).margin(0.1));
  CHECK(std::sqrt(d.inputs.array().square().mean()) == Approx(1).margin(0.05));
}
