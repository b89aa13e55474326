#include "catch.hpp"

#include "descend/optim/adagrad.hpp"

using descend::Adagrad;
using descend::AdagradOptions;
using descend::EpsPlacement;

namespace {
AdagradOptions adagrad(double lr, double eps = 1e-10) {
  AdagradOptions o;
  o.lr = lr;
  o.eps = eps;
  return o;
}
using Scalar1 = Eigen::Matrix<double, 1, 1>;
}  // namespace

TEST_CASE("AdaGrad accumulates squared gradients", "[adagrad]") {
  // lr 0.1, w = 1, g = 2 twice:
  //   t = 1: s = 4   w = 1 - 0.1 * 2 / (2 + 1e-10)
  //   t = 2: s = 8   w = w - 0.1 * 2 / (sqrt(8) + 1e-10)    = 0.8292893218888...
  Adagrad<double> opt(adagrad(0.1));
  Scalar1 w(1.0), g(2.0);
  opt.update(w, g);
  CHECK(w(0) == Approx(1 - 0.2 / (2 + 1e-10)).epsilon(1e-15));
  opt.update(w, g);
  CHECK(w(0) == Approx(0.8292893218888453).epsilon(1e-14));
  CHECK(opt.state(w, "sum")(0) == 8.0);
}

TEST_CASE("AdaGrad puts eps inside or outside the square root", "[adagrad]") {
  // lr 0.1, eps 0.25, w = 0, g = 1.5, s = 2.25:
  //   outside: w = -0.15 / (1.5 + 0.25)     = -0.0857142857...
  //   inside:  w = -0.15 / sqrt(2.5)        = -0.0948683298...
  AdagradOptions o = adagrad(0.1, 0.25);
  Scalar1 a(0.0), b(0.0), g(1.5);
  Adagrad<double>(o).update(a, g);
  o.eps_placement = EpsPlacement::inside_sqrt;
  Adagrad<double>(o).update(b, g);
  CHECK(a(0) == Approx(-0.15 / 1.75).epsilon(1e-15));
  CHECK(b(0) == Approx(-0.0948683298050514).epsilon(1e-14));
}

TEST_CASE("AdaGrad starts its sum at initial_accumulator_value", "[adagrad]") {
  // s0 = 1.75, g = 1.5: s = 4, w = 0 - 0.1 * 1.5 / (2 + 1e-10) = -0.075
  AdagradOptions o = adagrad(0.1);
  o.initial_accumulator_value = 1.75;
  Scalar1 w(0.0), g(1.5);
  Adagrad<double>(o).update(w, g);
  CHECK(w(0) == Approx(-0.15 / (2 + 1e-10)).epsilon(1e-15));
}

TEST_CASE("AdaGrad's lr_decay is the same schedule as inverse-time decay",
          "[adagrad][equivalence]") {
  AdagradOptions with_lr_decay = adagrad(0.3), with_decay = adagrad(0.3);
  with_lr_decay.lr_decay = 0.2;
  with_decay.decay = 0.2;
  Adagrad<double> a(with_lr_decay), b(with_decay);
  Eigen::Vector3d wa(1, -2, 3), wb = wa;
  for (int t = 0; t < 30; ++t) {
    a.update(wa, wa.array().sin().matrix());
    b.update(wb, wb.array().sin().matrix());
    REQUIRE(a.current_lr() == b.current_lr());
  }
  CHECK(wa == wb);
  CHECK(a.current_lr() == Approx(0.3 / (1 + 0.2 * 29)));
}

TEST_CASE("AdaGrad rejects invalid options, naming them", "[adagrad][errors]") {
  using Catch::Contains;
  CHECK_THROWS_WITH(Adagrad<double>(adagrad(-1)), Contains("lr = -1"));
  CHECK_THROWS_WITH(Adagrad<double>(adagrad(0.1, 0)), Contains("eps = 0"));
  CHECK_THROWS_WITH(Adagrad<double>(adagrad(0.1, -1e-8)), Contains("eps = -1e-08"));
  AdagradOptions o = adagrad(0.1);
  o.lr_decay = -0.5;
  CHECK_THROWS_WITH(Adagrad<double>(o), Contains("lr_decay = -0.5"));
  o = adagrad(0.1);
  o.initial_accumulator_value = -1;
  CHECK_THROWS_WITH(Adagrad<float>(o), Contains("initial_accumulator_value = -1"));
}
