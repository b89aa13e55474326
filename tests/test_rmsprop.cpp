#include "catch.hpp"

#include "descend/optim/rmsprop.hpp"

using descend::EpsPlacement;
using descend::MomentumStyle;
using descend::Rmsprop;
using descend::RmspropOptions;

namespace {
RmspropOptions rmsprop(double lr, double alpha) {
  RmspropOptions o;
  o.lr = lr;
  o.alpha = alpha;
  return o;
}
using Scalar1 = Eigen::Matrix<double, 1, 1>;
}  // namespace

TEST_CASE("RMSProp divides by the root of the squared average", "[rmsprop]") {
  // lr 0.01, alpha 0.9, w = 1, g = 2: v = 0.1 * 4 = 0.4
  //   w = 1 - 0.01 * 2 / (sqrt(0.4) + 1e-8) = 0.96837722389...
  Scalar1 w(1.0), g(2.0);
  Rmsprop<double> opt(rmsprop(0.01, 0.9));
  opt.update(w, g);
  CHECK(w(0) == Approx(0.9683772238983162).epsilon(1e-14));
  CHECK(opt.state(w, "square_avg")(0) == Approx(0.4).epsilon(1e-15));
}

TEST_CASE("Centered RMSProp subtracts the squared mean gradient", "[rmsprop]") {
  // as above, a = 0.1 * 2 = 0.2, v~ = 0.4 - 0.04 = 0.36: w = 1 - 0.02 / (0.6 + 1e-8)
  RmspropOptions o = rmsprop(0.01, 0.9);
  o.centered = true;
  Scalar1 w(1.0), g(2.0);
  Rmsprop<double>(o).update(w, g);
  CHECK(w(0) == Approx(1 - 0.02 / (0.6 + 1e-8)).epsilon(1e-14));
}

TEST_CASE("RMSProp momentum accumulates g / q", "[rmsprop]") {
  // momentum 0.5, lr 0.01, alpha 0.9, g = 2 twice:
  //   t = 1: q = sqrt(0.4),  b = 2 / q = 3.16227766        w = 0.96837722...
  //   t = 2: v = 0.76, q = sqrt(0.76), b = 0.5 b + 2 / q   w = 0.92962426272...
  RmspropOptions o = rmsprop(0.01, 0.9);
  o.momentum = 0.5;
  Rmsprop<double> opt(o);
  Scalar1 w(1.0), g(2.0);
  opt.update(w, g);
  opt.update(w, g);
  CHECK(w(0) == Approx(0.929624262723576).epsilon(1e-14));
  CHECK(opt.buffer_names() == std::vector<std::string>{"square_avg", "momentum_buffer"});
}

TEST_CASE("RMSProp puts eps inside the square root on request", "[rmsprop]") {
  // eps 0.05 inside: w = 1 - 0.02 / sqrt(0.4 + 0.05) = 0.97018576030...
  RmspropOptions o = rmsprop(0.01, 0.9);
  o.eps = 0.05;
  o.eps_placement = EpsPlacement::inside_sqrt;
  Scalar1 w(1.0), g(2.0);
  Rmsprop<double>(o).update(w, g);
  CHECK(w(0) == Approx(0.9701857603000028).epsilon(1e-14));
}

TEST_CASE("RMSProp momentum styles agree while lr is constant", "[rmsprop][equivalence]") {
  RmspropOptions outside = rmsprop(0.01, 0.9);
  outside.momentum = 0.8;
  RmspropOptions inside = outside;
  inside.momentum_style = MomentumStyle::lr_inside;
  Rmsprop<double> a(outside), b(inside);
  Eigen::Vector3d wa(1, -2, 0.5), wb = wa;
  for (int t = 0; t < 25; ++t) {
    a.update(wa, 2 * wa);
    b.update(wb, 2 * wb);
  }
  CHECK((wa - wb).norm() <= 1e-12 * wa.norm());
}

TEST_CASE("RMSProp with momentum 0 keeps no momentum buffer", "[rmsprop][equivalence]") {
  RmspropOptions o = rmsprop(0.01, 0.99);
  CHECK(Rmsprop<double>(o).buffer_names() == std::vector<std::string>{"square_avg"});
  o.centered = true;
  CHECK(Rmsprop<double>(o).buffer_names() == std::vector<std::string>{"square_avg", "grad_avg"});
}

TEST_CASE("RMSProp rejects invalid options, naming them", "[rmsprop][errors]") {
  using Catch::Contains;
  CHECK_THROWS_WITH(Rmsprop<double>(rmsprop(0.01, 1.5)), Contains("alpha = 1.5"));
  CHECK_THROWS_WITH(Rmsprop<double>(rmsprop(0.01, -0.1)), Contains("alpha = -0.1"));
  CHECK_THROWS_WITH(Rmsprop<double>(rmsprop(-0.01, 0.9)), Contains("lr = -0.01"));
  RmspropOptions o = rmsprop(0.01, 0.9);
  o.momentum = 1.0;
  CHECK_THROWS_WITH(Rmsprop<double>(o), Contains("momentum = 1"));
  o = rmsprop(0.01, 0.9);
  o.eps = std::nan("");
  CHECK_THROWS_WITH(Rmsprop<float>(o), Contains("eps = nan"));
}
