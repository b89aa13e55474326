#include "catch.hpp"

#include "descend/optim/adadelta.hpp"

using descend::Adadelta;
using descend::AdadeltaOptions;
using descend::EpsPlacement;

namespace {
using Scalar1 = Eigen::Matrix<double, 1, 1>;
}

TEST_CASE("Adadelta's first step is sqrt(eps) / sqrt(v + eps) g", "[adadelta]") {
  // defaults lr 1, rho 0.9, eps 1e-6; w = 0, g = 1:
  //   v = 0.1,  d = sqrt(1e-6) / sqrt(0.100001) = 0.0031622618489
  //   u = 0.1 d^2 = 9.9999000010e-07,  w = -d
  Adadelta<double> opt;
  Scalar1 w(0.0), g(1.0);
  opt.update(w, g);
  CHECK(w(0) == Approx(-0.003162261848898663).epsilon(1e-14));
  CHECK(opt.state(w, "square_avg")(0) == Approx(0.1).epsilon(1e-15));
  CHECK(opt.state(w, "acc_delta")(0) == Approx(9.999900000999993e-07).epsilon(1e-14));
}

TEST_CASE("Adadelta with eps outside the roots follows cute-dl", "[adadelta]") {
  // (sqrt(0) + 1e-6) / (sqrt(0.1) + 1e-6) * 1 = 3.16226766e-06
  AdadeltaOptions o;
  o.eps_placement = EpsPlacement::outside_sqrt;
  Scalar1 w(0.0), g(1.0);
  Adadelta<double>(o).update(w, g);
  CHECK(w(0) == Approx(-3.162267660200002e-06).epsilon(1e-14));
}

TEST_CASE("Adadelta's lr scales the step", "[adadelta]") {
  AdadeltaOptions o;
  o.lr = 0.5;
  Scalar1 w(0.0), g(1.0);
  Adadelta<double>(o).update(w, g);
  CHECK(w(0) == Approx(-0.5 * 0.003162261848898663).epsilon(1e-14));
}

TEST_CASE("Adadelta rejects invalid options, naming them", "[adadelta][errors]") {
  using Catch::Contains;
  AdadeltaOptions o;
  o.rho = 1.01;
  CHECK_THROWS_WITH(Adadelta<double>(o), Contains("rho = 1.01"));
  o = {};
  o.eps = 0;
  CHECK_THROWS_WITH(Adadelta<double>(o), Contains("eps = 0"));
  o = {};
  o.lr = -2;
  CHECK_THROWS_WITH(Adadelta<float>(o), Contains("lr = -2"));
}
