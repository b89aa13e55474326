// What every optimizer shares: identity-keyed state, registration, the
// learning rate, and bad input that leaves everything unchanged.
#include "catch.hpp"
#include <cmath>
#include <type_traits>
#include <utility>
#include <vector>

#include "descend/descend.hpp"

using descend::Adam;
using descend::AdamOptions;
using descend::Sgd;
using descend::SgdOptions;
using descend::ShapeError;

namespace {
AdamOptions adam_with_lr(double lr) {
  AdamOptions o;
  o.lr = lr;
  return o;
}
SgdOptions momentum_sgd() {
  SgdOptions o;
  o.lr = 0.1;
  o.momentum = 0.9;
  return o;
}
}  // namespace

TEST_CASE("state is created on a parameter's first update and found again by its address",
          "[state]") {
  Adam<double> opt;
  Eigen::MatrixXd w = Eigen::MatrixXd::Ones(3, 2);
  CHECK_FALSE(opt.has_state(w));
  CHECK(opt.step_count(w) == 0);
  opt.update(w, 1.0 * w);
  CHECK(opt.has_state(w));
  CHECK(opt.step_count(w) == 1);
  opt.update(w, 1.0 * w);
  CHECK(opt.step_count(w) == 2);
  CHECK(opt.num_states() == 1);
}

TEST_CASE("each parameter has its own step count and bias correction", "[state]") {
  // Updating `a` three times must not advance `b`'s bias correction: b's first
  // update equals a fresh optimizer's first update.
  Adam<double> opt(adam_with_lr(0.1));
  Eigen::Vector2d a(1, 2), b(3, -1), b_fresh = b;
  for (int t = 0; t < 3; ++t) opt.update(a, Eigen::Vector2d(0.5, -0.5));
  opt.update(b, Eigen::Vector2d(2, 1));
  Adam<double>(adam_with_lr(0.1)).update(b_fresh, Eigen::Vector2d(2, 1));
  CHECK(b == b_fresh);
  CHECK(opt.step_count(a) == 3);
  CHECK(opt.step_count(b) == 1);
}

TEST_CASE("two Maps of the same memory and shape are one parameter", "[state][identity]") {
  double memory[6] = {1, 2, 3, 4, 5, 6};
  Sgd<double> opt(momentum_sgd());
  Eigen::Map<Eigen::Matrix<double, 2, 3>> first(memory);
  Eigen::Map<Eigen::MatrixXd> second(memory, 2, 3);
  opt.update(first, Eigen::Matrix<double, 2, 3>::Ones());
  opt.update(second, Eigen::MatrixXd::Ones(2, 3));
  CHECK(opt.num_states() == 1);
  CHECK(opt.step_count(first) == 2);
  // b = 1, then 0.9 + 1: memory[0] = 1 - 0.1 - 0.19
  CHECK(memory[0] == Approx(0.71).epsilon(1e-15));
}

TEST_CASE("a Map over a Matrix's memory is that Matrix's parameter", "[state][identity]") {
  Sgd<double> opt(momentum_sgd());
  Eigen::MatrixXd w = Eigen::MatrixXd::Zero(4, 2);
  opt.update(w, Eigen::MatrixXd::Ones(4, 2));
  Eigen::Map<Eigen::MatrixXd> view(w.data(), 4, 2);
  CHECK(opt.step_count(view) == 1);
}

TEST_CASE("a moved dynamic Matrix keeps its state, a copy does not", "[state][identity]") {
  Adam<double> opt;
  Eigen::MatrixXd w = Eigen::MatrixXd::Ones(2, 2);
  opt.update(w, 1.0 * w);
  Eigen::MatrixXd moved = std::move(w);
  CHECK(opt.step_count(moved) == 1);
  Eigen::MatrixXd copy = moved;
  CHECK(opt.step_count(copy) == 0);
  Eigen::Matrix2d fixed = Eigen::Matrix2d::Ones();
  opt.update(fixed, 1.0 * fixed);
  Eigen::Matrix2d fixed_copy = std::move(fixed);  // lives inline: a new address
  CHECK(opt.step_count(fixed_copy) == 0);
}

TEST_CASE("a gradient of another shape throws ShapeError and changes nothing", "[errors]") {
  Adam<double> opt;
  Eigen::MatrixXd w = Eigen::MatrixXd::Ones(3, 2);
  opt.update(w, 1.0 * w);
  const Eigen::MatrixXd before = w;
  const Eigen::ArrayXd m_before = opt.state(w, "exp_avg");
  CHECK_THROWS_AS(opt.update(w, Eigen::MatrixXd::Ones(2, 3)), ShapeError);
  CHECK_THROWS_WITH(opt.update(w, Eigen::MatrixXd::Ones(2, 3)),
                    Catch::Contains("gradient is 2x3 but parameter is 3x2"));
  CHECK(w == before);
  CHECK((opt.state(w, "exp_avg") == m_before).all());
  CHECK(opt.step_count(w) == 1);
}

TEST_CASE("a parameter whose shape changed at the same address throws and changes nothing",
          "[errors][identity]") {
  Sgd<double> opt(momentum_sgd());
  double memory[6] = {1, 2, 3, 4, 5, 6};
  Eigen::Map<Eigen::MatrixXd> as_2x3(memory, 2, 3);
  opt.update(as_2x3, Eigen::MatrixXd::Ones(2, 3));
  const Eigen::ArrayXd b_before = opt.state(as_2x3, "momentum_buffer");
  double copy[6];
  std::copy(memory, memory + 6, copy);

  Eigen::Map<Eigen::MatrixXd> as_3x2(memory, 3, 2);
  CHECK_THROWS_AS(opt.update(as_3x2, Eigen::MatrixXd::Ones(3, 2)), ShapeError);
  CHECK_THROWS_WITH(opt.update(as_3x2, Eigen::MatrixXd::Ones(3, 2)),
                    Catch::Contains("is now 3x2") && Catch::Contains("made for 2x3"));
  CHECK(std::equal(memory, memory + 6, copy));
  CHECK((opt.state(as_2x3, "momentum_buffer") == b_before).all());
  CHECK(opt.step_count(as_2x3) == 1);
  // Starting afresh is explicit.
  CHECK(opt.forget(as_2x3));
  opt.update(as_3x2, Eigen::MatrixXd::Ones(3, 2));
  CHECK(opt.step_count(as_3x2) == 1);
}

TEST_CASE("forget drops one parameter's state and reset drops all", "[state]") {
  Adam<double> opt;
  Eigen::VectorXd a = Eigen::VectorXd::Ones(3), b = Eigen::VectorXd::Ones(5),
                  c = Eigen::VectorXd::Ones(2);
  opt.update(a, 1.0 * a);
  opt.update(b, 1.0 * b);
  opt.update(c, 1.0 * c);
  opt.update(c, 1.0 * c);
  CHECK(opt.forget(a));
  CHECK_FALSE(opt.forget(a));
  CHECK_FALSE(opt.has_state(a));
  CHECK(opt.step_count(b) == 1);  // the others survive the bookkeeping
  CHECK(opt.step_count(c) == 2);
  opt.reset();
  CHECK(opt.num_states() == 0);
  CHECK_FALSE(opt.has_state(c));
}

TEST_CASE("an empty parameter is a no-op", "[state]") {
  Adam<double> opt;
  Eigen::MatrixXd empty(0, 3);
  opt.update(empty, Eigen::MatrixXd(0, 3));
  CHECK(opt.num_states() == 0);
  CHECK_THROWS_AS(opt.update(empty, Eigen::MatrixXd(3, 0)), ShapeError);
}

TEST_CASE("NaN and Inf gradients propagate into the parameter, as in PyTorch", "[state]") {
  Sgd<double> opt;
  Eigen::Vector2d w(1, 1);
  opt.update(w, Eigen::Vector2d(std::nan(""), INFINITY));
  CHECK(std::isnan(w(0)));
  CHECK(std::isinf(w(1)));
}

TEST_CASE("step() updates registered parameters and zero_grad() clears their gradients",
          "[registration]") {
  Sgd<double> opt(momentum_sgd());
  Eigen::MatrixXd w = Eigen::MatrixXd::Ones(2, 2), gw(2, 2);
  Eigen::Vector3d b = Eigen::Vector3d::Zero(), gb;
  opt.add(w, gw);
  opt.add(b.head(2), gb.head(2));  // a Block is captured as the memory it views
  CHECK(opt.num_registered() == 2);
  gw.setConstant(1);
  gb.setConstant(2);
  opt.step();
  CHECK(w(0, 0) == Approx(0.9));
  CHECK(b(0) == Approx(-0.2));
  CHECK(b(2) == 0);  // outside the registered block
  opt.zero_grad();
  CHECK(gw.isZero(0));
  CHECK(gb.head(2).isZero(0));
  CHECK(gb(2) == 2);
  // The registered state is the parameter's state: update() finds it too.
  CHECK(opt.step_count(w) == 1);
}

TEST_CASE("step() updates nothing when any registered pair is bad", "[registration][errors]") {
  Adam<double> opt;
  Eigen::MatrixXd a = Eigen::MatrixXd::Ones(2, 2), ga = Eigen::MatrixXd::Ones(2, 2);
  Eigen::MatrixXd b = Eigen::MatrixXd::Ones(3, 1), gb = Eigen::MatrixXd::Ones(3, 1);
  opt.add(a, ga);
  opt.add(b, gb);
  opt.step();
  const Eigen::MatrixXd a_before = a;
  gb.resize(1, 3);
  CHECK_THROWS_WITH(opt.step(), Catch::Contains("registered parameter #1") &&
                                    Catch::Contains("gradient is 1x3 but parameter is 3x1"));
  CHECK(a == a_before);
  CHECK(opt.step_count(a) == 1);
}

TEST_CASE("a registered Matrix is followed as an object", "[registration][identity]") {
  Adam<double> opt;
  Eigen::MatrixXd w = Eigen::MatrixXd::Ones(2, 3), g = Eigen::MatrixXd::Ones(2, 3);
  opt.add(w, g);
  opt.step();
  // Reallocated with the same shape (its buffer swapped for another): the
  // state follows the object.
  Eigen::MatrixXd other = w;
  w = std::move(other);
  opt.step();
  CHECK(opt.step_count(w) == 2);
  CHECK(opt.num_states() == 1);
  // Resized: an error, with the registration named.
  w.resize(3, 3);
  g.resize(3, 3);
  CHECK_THROWS_WITH(opt.step(),
                    Catch::Contains("registered parameter #0") && Catch::Contains("is now 3x3"));
}

TEST_CASE("a registered Matrix that takes over another's buffer drops that buffer's old state",
          "[registration][identity]") {
  Adam<double> opt;
  Eigen::MatrixXd w = Eigen::MatrixXd::Ones(2, 2), g = Eigen::MatrixXd::Ones(2, 2);
  Eigen::MatrixXd other = Eigen::MatrixXd::Ones(2, 2);
  opt.add(w, g);
  opt.step();
  for (int t = 0; t < 3; ++t) opt.update(other, g);  // state at other's address, step 3
  CHECK(opt.num_states() == 2);
  w = std::move(other);  // w now owns that buffer (its own went to `other`)
  opt.step();
  // w's registered state followed it (step 2), the stale step-3 state is gone,
  // and the index stays consistent for the buffer w gave away.
  CHECK(opt.step_count(w) == 2);
  CHECK(opt.num_states() == 1);
  CHECK_FALSE(opt.has_state(other));
  opt.step();
  CHECK(opt.step_count(w) == 3);
}

TEST_CASE("a parameter can be registered once", "[registration][errors]") {
  Adam<double> opt;
  Eigen::VectorXd w = Eigen::VectorXd::Ones(3), g = w;
  opt.add(w, g);
  CHECK_THROWS_WITH(opt.add(w, g), Catch::Contains("already registered"));
  Eigen::VectorXd g2(4);
  Eigen::VectorXd w2(3);
  CHECK_THROWS_AS(opt.add(w2, g2), ShapeError);
  CHECK(opt.num_registered() == 1);
}

TEST_CASE("the learning rate can be read and set between steps", "[lr]") {
  SgdOptions o;
  o.lr = 0.5;
  Sgd<double> opt(o);
  CHECK(opt.lr() == 0.5);
  Eigen::Matrix<double, 1, 1> w(0.0), g(1.0);
  opt.update(w, g);
  CHECK(w(0) == -0.5);
  opt.set_lr(0.25);
  CHECK(opt.lr() == 0.25);
  CHECK(opt.current_lr() == 0.5);  // the rate of the last update made
  opt.update(w, g);
  CHECK(w(0) == -0.75);
  CHECK(opt.current_lr() == 0.25);
  CHECK_THROWS_WITH(opt.set_lr(-1), Catch::Contains("lr = -1"));
  CHECK_THROWS_AS(opt.set_lr(std::nan("")), std::invalid_argument);
  CHECK(opt.lr() == 0.25);
}

TEST_CASE("state buffers are named as in PyTorch", "[state]") {
  // Adam after one update with g: exp_avg = 0.1 g, exp_avg_sq = 0.001 g^2.
  Adam<double> opt;
  Eigen::Vector2d w(0, 0);
  opt.update(w, Eigen::Vector2d(2, -3));
  CHECK(opt.state(w, "exp_avg")(1) == Approx(-0.3).epsilon(1e-15));
  CHECK(opt.state(w, "exp_avg_sq")(1) == Approx(0.009).epsilon(1e-15));
  CHECK_THROWS_WITH(opt.state(w, "momentum"), Catch::Contains("no state buffer named 'momentum'"));
  Eigen::Vector2d fresh;
  CHECK_THROWS_WITH(opt.state(fresh, "exp_avg"), Catch::Contains("no state yet"));
}

TEST_CASE("optimizers are used through the Optimizer base", "[state]") {
  std::unique_ptr<descend::Optimizer<float>> opt = std::make_unique<descend::Rmsprop<float>>();
  Eigen::ArrayXf w = Eigen::ArrayXf::Ones(4);
  opt->update(w, 2 * w);
  CHECK((w < 1).all());
  CHECK(opt->buffer_names() == std::vector<std::string>{"square_avg"});
}

// step() runs every registered parameter through one batched call; update()
// runs them one at a time. Same parameters, same gradients, same order: the
// two must agree bit for bit, including parameters with different step counts
// in one batch (Adam's bias corrections are cached per step), an empty
// parameter, a strided Block, and a pair registered after a few steps.
TEST_CASE("step() gives the same bits as update() on each parameter", "[registration]") {
  for (const bool amsgrad : {false, true}) {
    AdamOptions options;
    options.amsgrad = amsgrad;
    options.weight_decay = 0.01;
    Adam<double> batched(options), single(options);
    std::vector<Eigen::MatrixXd> w, g;
    for (const auto& shape : {std::pair<int, int>{64, 1}, {3, 70}, {0, 4}, {300, 2}, {5, 5}}) {
      w.push_back(Eigen::MatrixXd::Random(shape.first, shape.second));
      g.push_back(Eigen::MatrixXd::Zero(shape.first, shape.second));
    }
    Eigen::MatrixXd big = Eigen::MatrixXd::Random(9, 9), big_grad(9, 9);
    std::vector<Eigen::MatrixXd> w2 = w;
    Eigen::MatrixXd big2 = big;
    for (std::size_t i = 0; i + 1 < w.size(); ++i) batched.add(w[i], g[i]);
    batched.add(big.block(1, 2, 4, 3), big_grad.block(1, 2, 4, 3));
    for (int t = 0; t < 6; ++t) {
      if (t == 3) batched.add(w.back(), g.back());  // joins at its step 1
      for (std::size_t i = 0; i < w.size(); ++i) g[i] = (w[i].array().sin() + 0.1 * t).matrix();
      big_grad = big.array().cos().matrix();
      batched.step();
      for (std::size_t i = 0; i + 1 < w.size(); ++i) single.update(w2[i], g[i]);
      single.update(big2.block(1, 2, 4, 3), big_grad.block(1, 2, 4, 3));
      if (t >= 3) single.update(w2.back(), g.back());
    }
    for (std::size_t i = 0; i < w.size(); ++i) CHECK(w[i] == w2[i]);
    CHECK(big == big2);
    CHECK(batched.step_count(w.back()) == 3);
    CHECK(batched.step_count(w.front()) == 6);
  }
}

TEST_CASE("PyTorch's spellings SGD and RMSprop name the same classes", "[names]") {
  STATIC_REQUIRE(std::is_same<descend::SGD<float>, Sgd<float>>::value);
  STATIC_REQUIRE(std::is_same<descend::RMSprop<double>, descend::Rmsprop<double>>::value);
  STATIC_REQUIRE(std::is_same<descend::SGDOptions, SgdOptions>::value);
  STATIC_REQUIRE(std::is_same<descend::RMSpropOptions, descend::RmspropOptions>::value);
}
