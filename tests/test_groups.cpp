// Parameter groups, maximize and the step report (groups.hpp, transform.hpp).
// The numbers are derived by hand next to each check; the multi-group runs are
// compared with one-group optimizers, whose numbers test_reference checks
// against PyTorch.
#include <Eigen/Core>
#include <cmath>
#include <stdexcept>
#include <string>

#include "catch.hpp"
#include "descend/descend.hpp"

using Catch::Matchers::Contains;
using descend::AdamOptions;
using descend::SgdOptions;

namespace {
SgdOptions sgd(double lr, double momentum = 0) {
  SgdOptions o;
  o.lr = lr;
  o.momentum = momentum;
  return o;
}
}  // namespace

TEST_CASE("group 0 has the constructor's options and add_group() numbers the others", "[groups]") {
  descend::Sgd<double> opt(sgd(0.1));
  CHECK(opt.num_groups() == 1);
  CHECK(opt.options().lr == 0.1);
  CHECK(opt.add_group(sgd(0.5)) == 1);
  CHECK(opt.add_group(sgd(0.7, 0.9)) == 2);
  CHECK(opt.num_groups() == 3);
  CHECK(opt.lr(2) == 0.7);
  CHECK(opt.options(2).momentum == 0.9);
  CHECK_THROWS_AS(opt.options(3), std::out_of_range);
}

TEST_CASE("each group updates its parameters with its own options", "[groups]") {
  // w = 1, g = 2 everywhere. Group 0: lr 0.1 -> w = 1 - 0.1*2 = 0.8.
  // Group 1: lr 0.25, weight_decay 0.5 -> g' = 2 + 0.5*1 = 2.5, w = 1 - 0.625 = 0.375.
  Eigen::VectorXd a = Eigen::VectorXd::Ones(3), ga = Eigen::VectorXd::Constant(3, 2.0);
  Eigen::MatrixXd b = Eigen::MatrixXd::Ones(2, 2), gb = Eigen::MatrixXd::Constant(2, 2, 2.0);
  descend::Sgd<double> opt(sgd(0.1));
  SgdOptions second = sgd(0.25);
  second.weight_decay = 0.5;
  opt.add(a, ga);
  opt.add(b, gb, opt.add_group(second));
  opt.step();
  CHECK((a.array() == 0.8).all());
  CHECK((b.array() == 0.375).all());
  CHECK(opt.group_of(a) == 0);
  CHECK(opt.group_of(b) == 1);
}

TEST_CASE("groups of Adam give what one optimizer per group gives", "[groups]") {
  Eigen::VectorXd a = Eigen::VectorXd::LinSpaced(5, -1, 1), b = Eigen::VectorXd::LinSpaced(4, 2, 3);
  Eigen::VectorXd a2 = a, b2 = b, ga(5), gb(4), ga2(5), gb2(4);
  AdamOptions first, second;
  first.lr = 1e-2;
  second.lr = 3e-2;
  second.beta1 = 0.8;
  second.amsgrad = true;
  second.weight_decay = 0.1;
  descend::Adam<double> grouped(first), alone_a(first), alone_b(second);
  grouped.add(a, ga);
  grouped.add(b, gb, grouped.add_group(second));
  alone_a.add(a2, ga2);
  alone_b.add(b2, gb2);
  for (int t = 0; t < 12; ++t) {
    ga = a.array().sin() + 0.3;
    gb = b.array().cube() - 1;
    ga2 = a2.array().sin() + 0.3;
    gb2 = b2.array().cube() - 1;
    grouped.step();
    alone_a.step();
    alone_b.step();
  }
  CHECK(a == a2);
  CHECK(b == b2);
  CHECK(grouped.buffer_names(1).size() == 3);
  CHECK(grouped.state(b, "max_exp_avg_sq").isApprox(alone_b.state(b2, "max_exp_avg_sq"), 0));
}

TEST_CASE("add() into a group that does not exist throws and registers nothing", "[groups]") {
  Eigen::VectorXd w = Eigen::VectorXd::Ones(2), g = w;
  descend::Sgd<double> opt;
  CHECK_THROWS_AS(opt.add(w, g, 1), std::out_of_range);
  CHECK(opt.num_registered() == 0);
  opt.add(w, g);  // the memory is still free
  CHECK(opt.num_registered() == 1);
}

TEST_CASE("group_of() an unregistered parameter throws naming it", "[groups]") {
  Eigen::VectorXd w = Eigen::VectorXd::Ones(2);
  descend::Sgd<double> opt;
  CHECK_THROWS_WITH(opt.group_of(w), Contains("is not registered"));
}

TEST_CASE("set_options() takes effect at the next step and validates first", "[groups]") {
  Eigen::VectorXd w = Eigen::VectorXd::Ones(2), g = Eigen::VectorXd::Constant(2, 1.0);
  descend::Sgd<double> opt(sgd(0.1, 0.5));
  opt.add(w, g);
  opt.step();  // b = 1, w = 1 - 0.1 = 0.9
  SgdOptions bad = opt.options();
  bad.dampening = 2;
  CHECK_THROWS_WITH(opt.set_options(bad), Contains("dampening = 2"));
  CHECK(opt.options().dampening == 0);
  SgdOptions faster = opt.options();
  faster.lr = 0.2;
  faster.momentum = 0.25;
  opt.set_options(faster);
  opt.step();  // b = 0.25*1 + 1 = 1.25, w = 0.9 - 0.2*1.25 = 0.65
  CHECK(w(0) == Approx(0.65).epsilon(1e-15));
}

TEST_CASE("options that change a group's buffers are refused once it has state", "[groups]") {
  Eigen::VectorXd w = Eigen::VectorXd::Ones(2), g = w, v = w, gv = w;
  descend::Sgd<double> opt(sgd(0.1));
  const std::size_t fresh = opt.add_group(sgd(0.1));
  opt.add(w, g);
  opt.add(v, gv, fresh);
  // Before any step no group has state: momentum may appear.
  opt.set_options(sgd(0.1, 0.9), fresh);
  opt.step();
  CHECK_THROWS_WITH(
      opt.set_options(sgd(0.1, 0.9)),
      Contains("group 0 has state with buffers (none)") && Contains("need (momentum_buffer)"));
  CHECK(opt.options().momentum == 0);
  CHECK_THROWS_AS(opt.set_options(sgd(0.1, 0), fresh), std::invalid_argument);
  opt.set_options(sgd(0.3, 0.5), fresh);  // same buffers: fine
  opt.reset();
  opt.set_options(sgd(0.1, 0.9));  // no state any more
  CHECK(opt.options().momentum == 0.9);
}

TEST_CASE("set_lr() sets one group or all, and validates", "[groups]") {
  descend::Adam<float> opt;
  opt.add_group(AdamOptions{});
  opt.set_lr(0.5, 1);
  CHECK(opt.lr(0) == 1e-3);
  CHECK(opt.lr(1) == 0.5);
  opt.set_lr(0.25);
  CHECK(opt.lr(0) == 0.25);
  CHECK(opt.lr(1) == 0.25);
  CHECK_THROWS_WITH(opt.set_lr(1e39, 1), Contains("lr = 1e+39 overflows float"));
  CHECK_THROWS_WITH(opt.set_lr(-1), Contains("lr = -1"));
  CHECK(opt.lr(0) == 0.25);
  CHECK_THROWS_AS(opt.set_lr(0.1, 2), std::out_of_range);
}

TEST_CASE("momentum() is what a cyclic schedule cycles, where the rule has one", "[groups]") {
  descend::Sgd<double> sgd_opt(sgd(0.1, 0.9));
  CHECK(std::string(sgd_opt.momentum_name()) == "momentum");
  sgd_opt.set_momentum(0.85, 0);
  CHECK(sgd_opt.options().momentum == 0.85);
  CHECK_THROWS_WITH(sgd_opt.set_momentum(1.5, 0), Contains("momentum = 1.5"));
  descend::Adam<double> adam;
  CHECK(std::string(adam.momentum_name()) == "beta1");
  adam.set_momentum(0.95, 0);
  CHECK(adam.options().beta1 == 0.95);
  descend::Adagrad<double> adagrad;
  CHECK(adagrad.momentum_name() == nullptr);
  CHECK_THROWS_WITH(adagrad.momentum(0), Contains("no momentum"));
}

TEST_CASE("AdamW's groups take AdamWOptions, with AdamW's weight decay", "[groups]") {
  descend::AdamW<double> opt;
  descend::AdamWOptions o;
  o.lr = 0.5;
  const std::size_t g = opt.add_group(o);
  CHECK(opt.options(g).weight_decay == 1e-2);
  CHECK(opt.options(g).decoupled_weight_decay);
  // Through an Adam&, an AdamOptions group would have coupled L2: refused.
  descend::Adam<double>& as_adam = opt;
  CHECK_THROWS_WITH(as_adam.add_group(AdamOptions{}), Contains("decoupled_weight_decay"));
  CHECK(opt.num_groups() == 2);
}

TEST_CASE("maximize negates the gradient before weight decay, as PyTorch", "[groups][maximize]") {
  // SGD, lr 0.1, weight_decay 0.5, w = 1, g = 2, maximize:
  //   g' = -2 + 0.5*1 = -1.5, w = 1 - 0.1*(-1.5) = 1.15.
  Eigen::VectorXd w = Eigen::VectorXd::Ones(2), g = Eigen::VectorXd::Constant(2, 2.0);
  SgdOptions o = sgd(0.1);
  o.weight_decay = 0.5;
  o.maximize = true;
  descend::Sgd<double> opt(o);
  opt.update(w, g);  // update() uses group 0, maximize included
  CHECK(w(0) == Approx(1.15).epsilon(1e-15));
  // Adam, maximize, one step: m^ = -g, v^ = g², w = w + lr g / (|g| + eps).
  Eigen::Vector2d x(1.0, -1.0), gx(0.5, -4.0);
  AdamOptions ao;
  ao.lr = 0.1;
  ao.maximize = true;
  descend::Adam<double> adam(ao);
  adam.add(x, gx);
  adam.step();
  CHECK(x(0) == Approx(1.0 + 0.1 * 0.5 / (0.5 + 1e-8)).epsilon(1e-14));
  CHECK(x(1) == Approx(-1.0 - 0.1 * 4.0 / (4.0 + 1e-8)).epsilon(1e-14));
}

TEST_CASE("maximize on a strided gradient matches minimizing the negated copy", "[maximize]") {
  Eigen::MatrixXf big = Eigen::MatrixXf::Random(9, 8), gbig = Eigen::MatrixXf::Random(9, 8);
  Eigen::MatrixXf copy = big.block(1, 2, 5, 4);
  Eigen::MatrixXf negated = -gbig.block(2, 1, 5, 4);
  descend::RmspropOptions up, down;
  up.maximize = true;
  up.momentum = 0.5;
  up.centered = true;
  down.momentum = 0.5;
  down.centered = true;
  descend::Rmsprop<float> a(up), b(down);
  for (int t = 0; t < 5; ++t) {
    a.update(big.block(1, 2, 5, 4), gbig.block(2, 1, 5, 4));
    b.update(copy, negated);
  }
  CHECK(big.block(1, 2, 5, 4) == copy);
}

TEST_CASE("step() reports what it did", "[groups][report]") {
  Eigen::VectorXd a = Eigen::VectorXd::Ones(2), ga = a, e, ge;
  descend::Sgd<double> opt(sgd(0.1));
  SgdOptions second = sgd(0.4);
  second.decay = 1;  // lr_t = 0.4 / (1 + (t - 1))
  const std::size_t g = opt.add_group(second);
  descend::StepReport r = opt.step();
  CHECK_FALSE(r.applied);
  CHECK(r.updated == 0);
  opt.add(a, ga, g);
  opt.add(e, ge);  // empty: not updated, not counted
  r = opt.step();
  CHECK(r.applied);
  CHECK_FALSE(r.skipped);
  CHECK_FALSE(r.clipped);
  CHECK(std::isnan(r.grad_norm));
  CHECK(r.updated == 1);
  CHECK(r.lr == std::vector<double>{0.1, 0.4});
  r = opt.step();
  CHECK(r.lr == std::vector<double>{0.1, 0.2});
  CHECK(opt.last_step().lr[1] == 0.2);
}

TEST_CASE("update() state adopted only by a registration in group 0's buffers", "[groups]") {
  Eigen::VectorXd w = Eigen::VectorXd::Ones(3), g = Eigen::VectorXd::Constant(3, 1.0);
  descend::Sgd<double> opt(sgd(0.1));  // group 0: no momentum buffer
  const std::size_t with_momentum = opt.add_group(sgd(0.1, 0.9));
  opt.update(w, g);  // state in group 0's layout: no buffers
  opt.add(w, g, with_momentum);
  opt.step();  // fresh state with a momentum buffer: b = g
  CHECK(opt.state(w, "momentum_buffer").isApprox(Eigen::ArrayXd::Ones(3), 0));
  CHECK(opt.step_count(w) == 1);
}
