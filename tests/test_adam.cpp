#include "catch.hpp"

#include "descend/optim/adam.hpp"

using descend::Adam;
using descend::AdamOptions;
using descend::AdamW;
using descend::EpsPlacement;

namespace {
AdamOptions adam(double lr) {
  AdamOptions o;
  o.lr = lr;
  return o;
}
using Scalar1 = Eigen::Matrix<double, 1, 1>;
}  // namespace

TEMPLATE_TEST_CASE("Adam's first step is lr times the sign of g", "[adam]", float, double) {
  // t = 1: m^ = g, v^ = g^2, so w -= lr g / (|g| + eps).
  //   g = 2:    w = 1 - 0.1 * 2 / (2 + 1e-8)       = 0.9000000005
  //   g = -0.5: w = 1 + 0.1 * 0.5 / (0.5 + 1e-8)   = 1.099999998
  Eigen::Matrix<TestType, 2, 1> w(1, 1);
  Adam<TestType> opt(adam(0.1));
  opt.update(w, Eigen::Matrix<TestType, 2, 1>(2, -0.5));
  CHECK(w(0) == Approx(0.9000000005));
  CHECK(w(1) == Approx(1.099999998));
}

TEST_CASE("Adam bias-corrects both moments with the parameter's own step", "[adam]") {
  // g = 2 then 1, beta (0.9, 0.999), lr 0.1:
  //   t = 1: m = 0.2, v = 0.004,                        w = 0.9000000005
  //   t = 2: m = 0.28, v = 0.004996
  //          m^ = 0.28 / 0.19, v^ = 0.004996 / 0.001999
  //          w = 0.9000000005 - 0.1 m^ / (sqrt(v^) + 1e-8) = 0.80678203720851
  Adam<double> opt(adam(0.1));
  Scalar1 w(1.0);
  opt.update(w, Scalar1(2.0));
  opt.update(w, Scalar1(1.0));
  CHECK(w(0) == Approx(0.8067820372085104).epsilon(1e-13));
  CHECK(opt.state(w, "exp_avg")(0) == Approx(0.28).epsilon(1e-15));
  CHECK(opt.state(w, "exp_avg_sq")(0) == Approx(0.004996).epsilon(1e-14));
  CHECK(opt.step_count(w) == 2);
}

TEST_CASE("AMSGrad divides by the largest second moment seen", "[adam]") {
  // g = 2 then 0.01: v = 0.004 then 0.0039961 (falls), v_max stays 0.004.
  //   m = 0.181, m^ = 0.181 / 0.19
  //   AMSGrad: w = 0.9000000005 - 0.1 m^ / (sqrt(0.004 / 0.001999) + 1e-8)  = 0.83265561844
  //   Adam:    uses 0.0039961 instead                                         = 0.83262276403
  AdamOptions o = adam(0.1);
  o.amsgrad = true;
  Adam<double> opt(o);
  Scalar1 w(1.0);
  opt.update(w, Scalar1(2.0));
  opt.update(w, Scalar1(0.01));
  CHECK(w(0) == Approx(0.8326556184432656).epsilon(1e-13));
  CHECK(opt.state(w, "max_exp_avg_sq")(0) == Approx(0.004).epsilon(1e-15));
}

TEST_CASE("Adam puts eps inside the square root on request", "[adam]") {
  // eps 0.25, lr 0.1, g = 1.2, t = 1:
  //   inside:  w = 1 - 0.12 / sqrt(1.44 + 0.25) = 1 - 0.12 / 1.3 = 0.907692307692
  //   outside: w = 1 - 0.12 / (1.2 + 0.25)                      = 0.917241379310
  AdamOptions o = adam(0.1);
  o.eps = 0.25;
  Scalar1 a(1.0), b(1.0);
  Adam<double>(o).update(a, Scalar1(1.2));
  o.eps_placement = EpsPlacement::inside_sqrt;
  Adam<double>(o).update(b, Scalar1(1.2));
  CHECK(a(0) == Approx(1 - 0.12 / 1.45).epsilon(1e-15));
  CHECK(b(0) == Approx(1 - 0.12 / 1.3).epsilon(1e-15));
}

TEST_CASE("AdamW decays weights directly, Adam through the gradient", "[adam]") {
  // g = 0, w = 1, lr 1e-3, weight_decay 1e-2:
  //   AdamW: moments stay 0, w = 1 - 1e-3 * 1e-2 * 1                  = 0.99999
  //   Adam:  g' = 0.01, first step ~ lr: w = 1 - 1e-3 * 0.01 / (0.01 + 1e-8) = 0.999000001
  Scalar1 a(1.0), b(1.0), zero(0.0);
  AdamW<double> adamw;
  adamw.update(a, zero);
  CHECK(a(0) == Approx(0.99999).epsilon(1e-15));
  AdamOptions o;
  o.weight_decay = 1e-2;
  Adam<double>(o).update(b, zero);
  CHECK(b(0) == Approx(0.999000000999999).epsilon(1e-14));
}

TEST_CASE("AdamW has PyTorch's AdamW defaults and is always decoupled", "[adam]") {
  const descend::AdamWOptions d;
  CHECK(d.lr == 1e-3);
  CHECK(d.beta1 == 0.9);
  CHECK(d.beta2 == 0.999);
  CHECK(d.eps == 1e-8);
  CHECK(d.weight_decay == 1e-2);
  CHECK_FALSE(d.amsgrad);
  CHECK(AdamW<double>().options().decoupled_weight_decay);
  CHECK(AdamW<double>().options().weight_decay == 1e-2);
  descend::AdamWOptions w;
  w.lr = 0.1;  // setting the rate keeps AdamW's weight decay, as AdamW(params, lr=0.1) does
  CHECK(AdamW<float>(w).options().weight_decay == 1e-2);
  CHECK(AdamW<float>(w).options().lr == 0.1);
  // AdamW built from an AdamOptions fails to compile: tests/compile_fail/adamw_from_adam_options.cpp
  CHECK_FALSE(Adam<float>(adam(1e-3)).options().decoupled_weight_decay);
}

TEST_CASE("Adam rejects invalid options, naming them", "[adam][errors]") {
  using Catch::Contains;
  AdamOptions o;
  o.beta1 = 1.0;
  CHECK_THROWS_WITH(Adam<double>(o), Contains("beta1 = 1"));
  o = {};
  o.beta2 = -0.1;
  CHECK_THROWS_WITH(Adam<double>(o), Contains("beta2 = -0.1"));
  o = {};
  o.eps = 0;
  CHECK_THROWS_WITH(Adam<double>(o), Contains("eps = 0"));
  descend::AdamWOptions w;
  w.lr = -1e-3;
  CHECK_THROWS_WITH(AdamW<double>(w), Contains("descend::AdamW: lr = -0.001"));
  o = {};
  o.weight_decay = -0.01;
  CHECK_THROWS_WITH(Adam<float>(o), Contains("weight_decay = -0.01"));
}
