// Float optimizers form their coefficients in double and round once, as
// PyTorch does (its hyper-parameters are Python floats), and refuse values
// that a float cannot hold. Every expected value is derived in the comment
// beside it; each failed before the coefficients moved to double (1 - beta
// was formed in float, where 1 - 1e-8 rounds to 1).
#include "catch.hpp"

#include "descend/descend.hpp"

using Catch::Contains;

TEST_CASE("Adam<float> with beta1 = 1 - 1e-8 still moves the weight", "[numerics][adam]") {
  // m = (1 - β1) g = 1e-8 (1 - β1 formed in double), 1 - β1^1 = 1e-8 too, so
  // m^ = g = 1; v^ = g² = 1: the first step is lr * 1 / (1 + 1e-8) = 1e-3.
  // In float arithmetic 1 - β1 = 0 and w never moved.
  descend::AdamOptions o;
  o.beta1 = 1 - 1e-8;
  descend::Adam<float> opt(o);
  Eigen::VectorXf w = Eigen::VectorXf::Zero(3), g = Eigen::VectorXf::Ones(3);
  opt.update(w, g);
  CHECK(w(0) == Approx(-1e-3).epsilon(1e-5));
}

TEST_CASE("Adam<float> with beta2 = 1 - 1e-8 takes a first step of lr", "[numerics][adam]") {
  // v = (1 - β2) g² = 1e-8 and 1 - β2^1 = 1e-8, so v^ = 1 and the step is
  // lr = 1e-3. In float arithmetic v = 0 and the step was lr / eps = 1e5.
  descend::AdamOptions o;
  o.beta2 = 1 - 1e-8;
  descend::Adam<float> opt(o);
  Eigen::VectorXf w = Eigen::VectorXf::Zero(3), g = Eigen::VectorXf::Ones(3);
  opt.update(w, g);
  CHECK(w(0) == Approx(-1e-3).epsilon(1e-4));
}

TEST_CASE("Rmsprop<float> with alpha = 1 - 1e-8 divides by sqrt((1 - alpha) g^2)",
          "[numerics][rmsprop]") {
  // v = 1e-8, q = √v + ε = 1e-4 + 1e-8, w = -lr g / q = -0.01 / 1.0001e-4 = -99.990001.
  // In float arithmetic v = 0, q = ε and w = -1e6.
  descend::RmspropOptions o;
  o.alpha = 1 - 1e-8;
  descend::Rmsprop<float> opt(o);
  Eigen::VectorXf w = Eigen::VectorXf::Zero(2), g = Eigen::VectorXf::Ones(2);
  opt.update(w, g);
  CHECK(w(0) == Approx(-99.990001).epsilon(1e-5));
}

TEST_CASE("Adadelta<float> with rho = 1 - 1e-8 accumulates (1 - rho) g^2",
          "[numerics][adadelta]") {
  // v = 1e-8, d = √((0 + 1e-6) / (1e-8 + 1e-6)) g = √(1 / 1.01) = 0.99503719, w = -d.
  // In float arithmetic v = 0 and d = 1.
  descend::AdadeltaOptions o;
  o.rho = 1 - 1e-8;
  descend::Adadelta<float> opt(o);
  Eigen::VectorXf w = Eigen::VectorXf::Zero(2), g = Eigen::VectorXf::Ones(2);
  opt.update(w, g);
  CHECK(w(0) == Approx(-0.99503719).epsilon(1e-6));
}

TEST_CASE("hyper-parameters a float cannot hold are refused, naming value and type",
          "[numerics][errors]") {
  descend::AdamOptions big_lr;
  big_lr.lr = 1e39;
  CHECK_THROWS_WITH(descend::Adam<float>(big_lr),
                    Contains("lr = 1e+39 overflows float"));
  CHECK_NOTHROW(descend::Adam<double>(big_lr));  // a double holds it

  descend::AdamOptions tiny_eps;
  tiny_eps.eps = 1e-50;
  CHECK_THROWS_WITH(descend::Adam<float>(tiny_eps), Contains("eps = 1e-50 is zero as float"));
  CHECK_NOTHROW(descend::Adam<double>(tiny_eps));

  descend::RmspropOptions r;
  r.eps = 1e-46;
  CHECK_THROWS_WITH(descend::Rmsprop<float>(r), Contains("eps = 1e-46 is zero as float"));
  descend::AdagradOptions a;
  a.initial_accumulator_value = 1e40;
  CHECK_THROWS_WITH(descend::Adagrad<float>(a),
                    Contains("initial_accumulator_value = 1e+40 overflows float"));
  descend::SgdOptions s;
  s.weight_decay = 1e300;
  CHECK_THROWS_WITH(descend::Sgd<float>(s), Contains("weight_decay = 1e+300 overflows float"));

  descend::Sgd<float> opt;
  CHECK_THROWS_WITH(opt.set_lr(1e39), Contains("lr = 1e+39 overflows float"));
  CHECK(opt.lr() == 1e-3);
}

TEST_CASE("a zero gradient stays a zero step with the smallest eps a float holds",
          "[numerics]") {
  // eps = 1e-45 rounds to the smallest float denormal, not to 0: √0 + ε > 0,
  // so a zero gradient divides to 0 rather than 0 / 0 = NaN.
  descend::AdamOptions o;
  o.eps = 1e-45;
  descend::Adam<float> opt(o);
  Eigen::VectorXf w = Eigen::VectorXf::Ones(4), g = Eigen::VectorXf::Zero(4);
  opt.update(w, g);
  CHECK(w.isOnes(0));
}
