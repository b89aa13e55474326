#include "catch.hpp"

#include "descend/optim/sgd.hpp"

using descend::MomentumStyle;
using descend::Sgd;
using descend::SgdOptions;

namespace {
SgdOptions sgd(double lr, double momentum = 0, double dampening = 0, bool nesterov = false) {
  SgdOptions o;
  o.lr = lr;
  o.momentum = momentum;
  o.dampening = dampening;
  o.nesterov = nesterov;
  return o;
}
}  // namespace

TEMPLATE_TEST_CASE("SGD's first step is w - lr g", "[sgd]", float, double) {
  // w = (1, -2), g = (0.5, 4), lr = 0.1:  w = (1 - 0.05, -2 - 0.4) = (0.95, -2.4)
  Eigen::Matrix<TestType, 2, 1> w(1, -2);
  Sgd<TestType> opt(sgd(0.1));
  opt.update(w, Eigen::Matrix<TestType, 2, 1>(0.5, 4));
  CHECK(w(0) == Approx(0.95));
  CHECK(w(1) == Approx(-2.4));
}

TEST_CASE("SGD momentum starts undampened and then dampens", "[sgd]") {
  // momentum 0.9, dampening 0.5, lr 0.1, w = 1, g = 2 every step:
  //   t = 1: b = g = 2                       w = 1   - 0.1 * 2   = 0.8
  //   t = 2: b = 0.9 * 2 + 0.5 * 2 = 2.8     w = 0.8 - 0.1 * 2.8 = 0.52
  Eigen::Matrix<double, 1, 1> w(1.0), g(2.0);
  Sgd<double> opt(sgd(0.1, 0.9, 0.5));
  opt.update(w, g);
  CHECK(w(0) == Approx(0.8).epsilon(1e-15));
  opt.update(w, g);
  CHECK(w(0) == Approx(0.52).epsilon(1e-15));
  CHECK(opt.state(w, "momentum_buffer")(0) == Approx(2.8).epsilon(1e-15));
}

TEST_CASE("SGD with Nesterov momentum steps along g + mu b", "[sgd]") {
  // momentum 0.9, lr 0.1, w = 1, g = 2:
  //   t = 1: b = 2,                   d = 2 + 0.9 * 2   = 3.8    w = 1    - 0.38  = 0.62
  //   t = 2: b = 0.9 * 2 + 2 = 3.8,   d = 2 + 0.9 * 3.8 = 5.42   w = 0.62 - 0.542 = 0.078
  Eigen::Matrix<double, 1, 1> w(1.0), g(2.0);
  Sgd<double> opt(sgd(0.1, 0.9, 0, true));
  opt.update(w, g);
  CHECK(w(0) == Approx(0.62).epsilon(1e-14));
  opt.update(w, g);
  CHECK(w(0) == Approx(0.078).epsilon(1e-13));
}

TEST_CASE("SGD weight decay adds lambda w to the gradient", "[sgd]") {
  // weight_decay 0.5, w = 2, g = 1, lr 0.1: g' = 1 + 0.5 * 2 = 2, w = 2 - 0.2 = 1.8
  SgdOptions o = sgd(0.1);
  o.weight_decay = 0.5;
  Eigen::Matrix<double, 1, 1> w(2.0), g(1.0);
  Sgd<double>(o).update(w, g);
  CHECK(w(0) == Approx(1.8).epsilon(1e-15));
}

TEST_CASE("SGD inverse-time decay divides lr by 1 + decay (t - 1)", "[sgd]") {
  // lr 1, decay 0.5, g = 1: lr_t = 1, 1/1.5, 1/2 so w = -1, -5/3, -13/6
  SgdOptions o = sgd(1.0);
  o.decay = 0.5;
  Sgd<double> opt(o);
  CHECK(opt.current_lr() == 1.0);
  Eigen::Matrix<double, 1, 1> w(0.0), g(1.0);
  opt.update(w, g);
  CHECK(w(0) == Approx(-1.0));
  opt.update(w, g);
  CHECK(w(0) == Approx(-5.0 / 3).epsilon(1e-15));
  opt.update(w, g);
  CHECK(w(0) == Approx(-13.0 / 6).epsilon(1e-15));
  CHECK(opt.current_lr() == Approx(0.5).epsilon(1e-15));
}

TEST_CASE("SGD with momentum 0 is plain SGD whatever the dampening", "[sgd][equivalence]") {
  Eigen::Vector3d a(1, 2, 3), b = a;
  Sgd<double> plain(sgd(0.1)), damped(sgd(0.1, 0.0, 0.7));
  for (int t = 0; t < 10; ++t) {
    plain.update(a, a.array().sin().matrix());
    damped.update(b, b.array().sin().matrix());
  }
  CHECK(a == b);
  CHECK(damped.buffer_names().empty());
}

TEST_CASE("SGD momentum styles agree at constant lr and part when lr changes",
          "[sgd][equivalence]") {
  SgdOptions outside = sgd(0.05, 0.9), inside = outside;
  inside.momentum_style = MomentumStyle::lr_inside;
  Sgd<double> a(outside), b(inside);
  Eigen::Vector2d wa(1, -1), wb = wa;
  for (int t = 0; t < 20; ++t) {
    a.update(wa, 2 * wa);
    b.update(wb, 2 * wb);
  }
  CHECK((wa - wb).norm() <= 1e-12 * wa.norm());
  // After a learning-rate drop, lr_outside rescales the stored velocity
  // immediately; lr_inside keeps it: the trajectories separate.
  a.set_lr(0.005);
  b.set_lr(0.005);
  for (int t = 0; t < 5; ++t) {
    a.update(wa, 2 * wa);
    b.update(wb, 2 * wb);
  }
  CHECK((wa - wb).norm() > 1e-3 * wa.norm());
}

TEST_CASE("SGD rejects invalid options, naming them", "[sgd][errors]") {
  using Catch::Contains;
  CHECK_THROWS_WITH(Sgd<double>(sgd(-0.1)), Contains("lr = -0.1"));
  CHECK_THROWS_WITH(Sgd<double>(sgd(0.1, 1.0)), Contains("momentum = 1"));
  CHECK_THROWS_WITH(Sgd<double>(sgd(0.1, -0.5)), Contains("momentum = -0.5"));
  CHECK_THROWS_WITH(Sgd<double>(sgd(0.1, std::nan(""))), Contains("momentum = nan"));
  CHECK_THROWS_WITH(Sgd<double>(sgd(0.1, 0.9, 1.5)), Contains("dampening = 1.5"));
  CHECK_THROWS_WITH(Sgd<double>(sgd(0.1, 0.0, 0.0, true)), Contains("nesterov"));
  CHECK_THROWS_WITH(Sgd<double>(sgd(0.1, 0.9, 0.1, true)), Contains("dampening = 0.1"));
  SgdOptions o = sgd(0.1);
  o.weight_decay = -1;
  CHECK_THROWS_AS(Sgd<double>(o), std::invalid_argument);
  o = sgd(0.1);
  o.decay = -1e-3;
  CHECK_THROWS_WITH(Sgd<float>(o), Contains("decay = -0.001"));
}
