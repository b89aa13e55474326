// NAdam, RAdam and Adamax (optim/nadam.hpp, radam.hpp, adamax.hpp):
//  * against tests/reference/adam_family.inc, recorded by
//    tests/reference/generate_adam_family.py (RAdam and Adamax: torch 1.13
//    itself; NAdam: the corrected rule in plain Python, checked there against
//    torch 1.13 where the two coincide and against PyTorch 2.x's code
//    transcribed), every parameter and state buffer at every one of 50 steps,
//    with two groups, maximize, decoupled weight decay, StepLR and OneCycleLR
//    cycling beta1;
//  * hand derivations of the first steps (below, beside each test);
//  * bad options, NAdam's running product across step counts, and
//    checkpoints resumed bit for bit.
#include <Eigen/Core>
#include <cmath>
#include <cstring>
#include <functional>
#include <iterator>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "catch.hpp"
#include "descend/checkpoint.hpp"
#include "descend/optim/adamax.hpp"
#include "descend/optim/cyclic.hpp"
#include "descend/optim/nadam.hpp"
#include "descend/optim/radam.hpp"
#include "descend/optim/schedule.hpp"
#include "reference_run.hpp"

using Catch::Matchers::Contains;

namespace {

// A trajectory on the parameters of adam_family.inc (kShapes, kX0) with the
// gradient sign * (c (x - x*) + 0.3 sin(2x)). Each step's row: each group's
// lr, then per parameter its values and its buffers, row-major.
struct FamilyCase {
  const char* name;
  const char* optimizer;
  const char* groups;      // each group's options, " | " between groups
  const char* buffers;     // each group's state buffers, " | " between groups
  const char* membership;  // the group of each parameter
  const char* schedule;    // "step ..." or "onecycle ...", or ""
  double sign;
  int steps;
  const double* data;
  std::size_t size;  // of data
};

#include "reference/adam_family.inc"

template <template <class> class Rule, class Options, class Scalar>
std::unique_ptr<descend::Optimizer<Scalar>> grouped(const std::vector<std::string>& groups) {
  auto opt = std::make_unique<Rule<Scalar>>(testing::options_from<Options>(groups[0]));
  for (std::size_t g = 1; g < groups.size(); ++g)
    REQUIRE(opt->add_group(testing::options_from<Options>(groups[g])) == g);
  return opt;
}

template <class Scalar>
std::unique_ptr<descend::Optimizer<Scalar>> make(const std::string& name,
                                                 const std::vector<std::string>& groups) {
  if (name == "nadam") return grouped<descend::Nadam, descend::NadamOptions, Scalar>(groups);
  if (name == "radam") return grouped<descend::Radam, descend::RadamOptions, Scalar>(groups);
  REQUIRE(name == "adamax");
  return grouped<descend::Adamax, descend::AdamaxOptions, Scalar>(groups);
}

std::unique_ptr<descend::LrSchedule> schedule_from(descend::ParamGroups& groups,
                                                   const std::string& text) {
  if (text.empty()) return nullptr;
  const std::string kind = text.substr(0, text.find(' '));
  const testing::Options o = testing::parse_options(text.substr(kind.size()));
  if (kind == "step")
    return std::make_unique<descend::StepLR>(
        groups, static_cast<std::int64_t>(testing::number(o, "step_size", 0)),
        testing::number(o, "gamma", 0));
  REQUIRE(kind == "onecycle");
  descend::OneCycleLROptions options;
  options.max_lr = testing::number(o, "max_lr", 0);
  options.total_steps = static_cast<std::int64_t>(testing::number(o, "total_steps", 0));
  return std::make_unique<descend::OneCycleLR>(groups, options);
}

// Registered pairs driven by step(), then the schedule's step(), as PyTorch's
// users step; parameters and every buffer compared after each step.
template <class Scalar>
double run_case(const FamilyCase& c) {
  const double floor = testing::error_floor<Scalar>();
  INFO(c.name);
  const std::vector<std::string> groups = testing::split(c.groups, " | ");
  auto opt = make<Scalar>(c.optimizer, groups);
  REQUIRE(opt->num_groups() == groups.size());
  testing::require_buffers(*opt, c.buffers);
  testing::TrajectoryProblem<Scalar> p(kShapes, kX0, kC, kXStar);
  p.add_to(*opt, c.membership);
  const auto schedule = schedule_from(*opt, c.schedule);

  testing::RowError worst;
  const double* row = c.data;
  for (int t = 1; t <= c.steps; ++t) {
    INFO("step " << t);
    p.gradients(c.sign);
    const descend::StepReport& r = opt->step();
    REQUIRE(r.applied);
    if (schedule) schedule->step();
    for (std::size_t g = 0; g < groups.size(); ++g)
      CHECK(std::abs(r.lr[g] - row[g]) <= 1e-15 * row[g]);  // a double in both
    row = testing::compare_row(*opt, p.params, row + groups.size(), floor, worst);
    if (!(worst.worst <= testing::reference_tolerance<Scalar>())) {
      CHECK(worst.worst <= testing::reference_tolerance<Scalar>());
      return worst.worst;
    }
  }
  CHECK(row == c.data + c.size);  // the layout read is the layout written
  return worst.worst;
}

}  // namespace

// Double: 1e-12 relative (|x| below 1e-3 counts as 1e-3), parameters and
// buffers alike. Float: reference_run.hpp's bound, 5e-5 of
// max(|x|, 1), for the reasons given there (float rounding amplified by the
// normalisation where c (x - x*) loses digits); the worst measured is printed.
TEMPLATE_TEST_CASE("NAdam, RAdam and Adamax follow the reference trajectories",
                   "[nadam][radam][adamax][reference]", float, double) {
  double worst = 0;
  int cases = 0;
  for (const FamilyCase& c : kFamilyCases) {
    worst = std::max(worst, run_case<TestType>(c));
    ++cases;
  }
  CHECK(cases == static_cast<int>(std::size(kFamilyCases)));
  CHECK(cases >= 30);
  WARN("worst relative error over " << cases << " cases: " << worst);
  CHECK(worst <= testing::reference_tolerance<TestType>());
}

// Hand derivation, NAdam, constant gradient g (so m_t = (1 - β1^t) g,
// v_t = (1 - β2^t) g², d = |g| + ε): each step moves w by
//   -lr (1 - μ_t)/(1 - P_t) g/d - lr μ_{t+1}/(1 - P_t μ_{t+1}) (1 - β1^t) g/d
// with μ_i = β1 (1 - 0.5·0.96^(iψ)), P_t = μ_1···μ_t. PyTorch 1.13 would put
// P_t μ_t μ_{t+1} in the second denominator: 1 - μ_1² μ_2 at t = 1.
TEST_CASE("NAdam's first steps under a constant gradient are the hand-derived ones", "[nadam]") {
  descend::NadamOptions o;
  o.lr = 0.1;
  descend::Nadam<double> opt(o);
  Eigen::Array2d w(1.0, -0.5);
  const Eigen::Array2d g(2.0, -0.25);
  Eigen::Array2d expected = w;
  double product = 1;
  const auto mu = [&](int i) { return 0.9 * (1 - 0.5 * std::pow(0.96, i * 4e-3)); };
  for (int t = 1; t <= 6; ++t) {
    product *= mu(t);
    for (int k = 0; k < 2; ++k) {
      const double d = std::abs(g[k]) + 1e-8;
      expected[k] -=
          0.1 * (1 - mu(t)) / (1 - product) * g[k] / d +
          0.1 * mu(t + 1) / (1 - product * mu(t + 1)) * (1 - std::pow(0.9, t)) * g[k] / d;
    }
    opt.update(w, g);
    INFO("t = " << t);
    CHECK(std::abs(w[0] - expected[0]) <= 1e-14);
    CHECK(std::abs(w[1] - expected[1]) <= 1e-14);
  }
  // t = 1 numerically: μ_1 = 0.450073..., μ_2 = 0.450147...: the step is
  // 0.1 (1 + 0.1 μ_2/(1 - μ_1 μ_2)) = 0.1056...; 1.13's would be 0.1047...
  descend::Nadam<double> first(o);
  Eigen::Array<double, 1, 1> x(0.0), one(1.0);
  first.update(x, one);
  const double m1 = mu(1), m2 = mu(2);
  CHECK(std::abs(-x[0] - 0.1 * (1 / (1 + 1e-8)) * (1 + 0.1 * m2 / (1 - m1 * m2))) <= 1e-15);
  CHECK(std::abs(-x[0] - 0.1 * (1 + 0.1 * m2 / (1 - m1 * m1 * m2))) > 1e-4);
}

// Hand derivation, RAdam, constant gradient g: m^ = g exactly in real
// arithmetic and √(1 - β2^t)/(√v + ε) = 1/(|g| + ε/√(1 - β2^t)). With
// β2 = 0.9, ρ∞ = 19 and ρ_t = 19 - 2tβ2^t/(1 - β2^t) = 1, 1.95, 2.86, 3.74,
// 4.58, 5.39, ...: steps 1-5 move w by lr_t g (plain momentum SGD, no ε),
// steps from 6 by lr_t r_t g/(|g| + ε/√(1 - β2^t)). With decay 0.5,
// lr_t = lr/(1 + 0.5(t - 1)).
TEST_CASE("RAdam switches to the rectified step where rho_t exceeds 5, as derived by hand",
          "[radam]") {
  descend::RadamOptions o;
  o.lr = 0.01;
  o.beta2 = 0.9;
  o.decay = 0.5;
  descend::Radam<double> opt(o);
  Eigen::Array2d w(1.0, -0.5);
  const Eigen::Array2d g(2.0, -0.25);
  Eigen::Array2d expected = w;
  const double rho_inf = 19;
  for (int t = 1; t <= 10; ++t) {
    const double lr_t = 0.01 / (1 + 0.5 * (t - 1));
    const double bc2 = 1 - std::pow(0.9, t);
    const double rho = rho_inf - 2 * t * std::pow(0.9, t) / bc2;
    CHECK((rho > 5) == (t >= 6));
    for (int k = 0; k < 2; ++k) {
      if (rho > 5) {
        const double r =
            std::sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho));
        expected[k] -= lr_t * r * g[k] / (std::abs(g[k]) + 1e-8 / std::sqrt(bc2));
      } else {
        expected[k] -= lr_t * g[k];
      }
    }
    opt.update(w, g);
    INFO("t = " << t);
    CHECK(std::abs(w[0] - expected[0]) <= 1e-14);
    CHECK(std::abs(w[1] - expected[1]) <= 1e-14);
  }
}

// Hand derivation, Adamax: g = 2 at t = 1 gives m = 0.2, u = max(0, 2 + ε),
// w -= lr/(1 - 0.9) · 0.2/(2 + ε) = lr·2/(2 + ε). g = 0 at t = 2 gives
// m = 0.18, u = max(0.999 (2 + ε), 0 + ε) = 0.999 (2 + ε),
// w -= lr/(1 - 0.81) · 0.18/u. A NaN gradient makes u NaN, as torch.maximum.
TEST_CASE("Adamax's first steps are the hand-derived ones, and a NaN reaches exp_inf", "[adamax]") {
  descend::AdamaxOptions o;
  o.lr = 0.1;
  descend::Adamax<double> opt(o);
  Eigen::Array<double, 1, 1> w(1.0), g(2.0);
  opt.update(w, g);
  const double w1 = 1 - 0.1 * 2 / (2 + 1e-8);
  CHECK(std::abs(w[0] - w1) <= 1e-15);
  CHECK(opt.state(w, "exp_inf")[0] == 2 + 1e-8);
  g[0] = 0;
  opt.update(w, g);
  const double u2 = 0.999 * (2 + 1e-8);
  CHECK(std::abs(opt.state(w, "exp_inf")[0] - u2) <= 1e-15 * u2);
  CHECK(std::abs(w[0] - (w1 - 0.1 / (1 - 0.81) * 0.18 / u2)) <= 1e-15);

  for (int k = 0; k < 2; ++k) {  // the NaN on either side of the maximum
    descend::Adamax<double> nan_opt(o);
    Eigen::Array<double, 5, 1> x = Eigen::Array<double, 5, 1>::Constant(1.0), grad = x;
    if (k == 1) nan_opt.update(x, grad);
    grad[2] = std::numeric_limits<double>::quiet_NaN();
    nan_opt.update(x, grad);
    CHECK(std::isnan(nan_opt.state(x, "exp_inf")[2]));
    CHECK(!std::isnan(nan_opt.state(x, "exp_inf")[1]));
  }
}

namespace {

template <class Opt, class Options>
void check_rejects(Options o, const std::string& message) {
  INFO(message);
  CHECK_THROWS_WITH(Opt(o), Contains(message));
  // set_options() refuses the same, changing nothing.
  Opt opt;
  const Options before = opt.options(0);
  CHECK_THROWS_WITH(opt.set_options(o), Contains(message));
  const Options& after = opt.options(0);
  CHECK((after.lr == before.lr && after.beta1 == before.beta1 && after.beta2 == before.beta2 &&
         after.eps == before.eps && after.weight_decay == before.weight_decay &&
         after.decay == before.decay));
  CHECK_THROWS_WITH(opt.add_group(o), Contains(message));
  CHECK(opt.num_groups() == 1);
}

template <class Opt, class Options>
void check_common_rejections(const char* who) {
  Options o;
  o.lr = -1;
  check_rejects<Opt>(o, std::string(who) + ": lr = -1 must be >= 0");
  o = {};
  o.decay = -0.5;
  check_rejects<Opt>(o, "decay = -0.5 must be >= 0");
  o = {};
  o.beta1 = 1;
  check_rejects<Opt>(o, "beta1 = 1 must be in [0, 1)");
  o = {};
  o.beta2 = -0.1;
  check_rejects<Opt>(o, "beta2 = -0.1 must be in [0, 1)");
  o = {};
  o.beta2 = std::nan("");
  check_rejects<Opt>(o, "beta2 = nan must be in [0, 1)");
  o = {};
  o.eps = 0;
  check_rejects<Opt>(o, "eps = 0 must be positive and finite");
  o = {};
  o.weight_decay = -0.01;
  check_rejects<Opt>(o, "weight_decay = -0.01 must be >= 0");
}

}  // namespace

TEST_CASE("bad options are refused with their name and value, changing nothing",
          "[nadam][radam][adamax]") {
  check_common_rejections<descend::Nadam<double>, descend::NadamOptions>("descend::NAdam");
  check_common_rejections<descend::Radam<double>, descend::RadamOptions>("descend::RAdam");
  check_common_rejections<descend::Adamax<double>, descend::AdamaxOptions>("descend::Adamax");
  descend::NadamOptions o;
  o.momentum_decay = -1;
  check_rejects<descend::Nadam<double>>(o, "momentum_decay = -1 must be >= 0");
  o.momentum_decay = std::numeric_limits<double>::infinity();
  check_rejects<descend::Nadam<double>>(o, "momentum_decay = inf must be finite");
  o = {};
  o.eps = 1e-50;
  check_rejects<descend::Nadam<float>>(o, "eps = 1e-50 is zero as float");
  descend::RadamOptions r;
  r.lr = 1e39;
  check_rejects<descend::Radam<float>>(r, "lr = 1e+39 overflows float");
  // μ_1 = β1 (1 - 0.5·0.96^ψ) rounds to 1 as a float: 1 - P_t would be 0.
  o = {};
  o.beta1 = 1 - 1e-9;
  o.momentum_decay = 1e4;
  check_rejects<descend::Nadam<float>>(o, "makes mu_1 = 1 as float");
  CHECK_NOTHROW(descend::Nadam<double>(o));
}

TEST_CASE("beta1 is the momentum a cyclic schedule cycles", "[nadam][radam][adamax]") {
  descend::Nadam<double> n;
  descend::Radam<double> r;
  descend::Adamax<float> a;
  for (descend::Optimizer<double>* opt : {static_cast<descend::Optimizer<double>*>(&n),
                                          static_cast<descend::Optimizer<double>*>(&r)}) {
    CHECK(std::string(opt->momentum_name()) == "beta1");
    opt->set_momentum(0.8, 0);
    CHECK(opt->momentum(0) == 0.8);
    CHECK_THROWS_WITH(opt->set_momentum(1.0, 0), Contains("beta1 = 1 must be in [0, 1)"));
    CHECK(opt->momentum(0) == 0.8);
  }
  a.set_momentum(0.85, 0);
  CHECK(a.options(0).beta1 == 0.85);
}

// NAdam's product P_t is cached by the optimizer: parameters at different
// step counts (one forgotten part way), and a beta1 changed and changed
// back, must give the bits of a parameter run on its own.
TEMPLATE_TEST_CASE("NAdam gives each parameter the product of its own step count", "[nadam]", float,
                   double) {
  using S = TestType;
  using A = Eigen::Array<S, 3, 1>;
  const auto grad = [](const A& w) { return A(w * w - S(0.5) * w + S(0.1)); };
  descend::NadamOptions o;
  o.lr = 0.05;
  descend::Nadam<S> shared(o), solo_a(o), solo_b(o);
  A a(S(1), S(-0.5), S(0.25)), b = a, ra = a, rb = a;
  for (int t = 1; t <= 40; ++t) {
    if (t == 15) {
      shared.forget(b);  // b starts again at step 1
      solo_b.reset();
    }
    if (t == 20) {  // another beta1 for one step, then back
      o.beta1 = 0.8;
      shared.set_options(o);
      solo_a.set_options(o);
      solo_b.set_options(o);
    } else if (t == 21) {
      o.beta1 = 0.9;
      shared.set_options(o);
      solo_a.set_options(o);
      solo_b.set_options(o);
    }
    shared.update(a, grad(a));
    shared.update(b, grad(b));
    solo_a.update(ra, grad(ra));
    solo_b.update(rb, grad(rb));
    REQUIRE(shared.step_count(b) == solo_b.step_count(rb));
    REQUIRE((a == ra).all());
    REQUIRE((b == rb).all());
  }
  CHECK(shared.step_count(a) == 40);
  CHECK(shared.step_count(b) == 26);
}

namespace {

// Two parameters of different layouts and a vector, each with a gradient
// that is a fixed function of the parameter and the step.
template <class Scalar>
struct Model {
  using Mat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using RowMat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  Mat w1 = Mat(3, 4), g1 = Mat::Zero(3, 4);
  RowMat w2 = RowMat(2, 3), g2 = RowMat::Zero(2, 3);
  Vec b = Vec(5), gb = Vec::Zero(5);
  int t = 0;

  Model() {
    for (Eigen::Index k = 0; k < w1.size(); ++k) w1(k) = Scalar(0.3) * Scalar(k) - Scalar(1.1);
    for (Eigen::Index k = 0; k < w2.size(); ++k)
      w2.data()[k] = Scalar(0.7) - Scalar(0.2) * Scalar(k);
    for (Eigen::Index k = 0; k < b.size(); ++k) b(k) = Scalar(0.05) * Scalar(k * k) - Scalar(0.4);
  }
  template <class W, class G>
  void gradient_of(const W& w, G& g) {
    for (Eigen::Index r = 0; r < w.rows(); ++r)
      for (Eigen::Index c = 0; c < w.cols(); ++c)
        g(r, c) = w(r, c) * (w(r, c) - Scalar(0.5)) +
                  Scalar(0.1) * std::sin(Scalar(t) + Scalar(r * 7 + c));
  }
  void gradients() {
    gradient_of(w1, g1);
    gradient_of(w2, g2);
    gradient_of(b, gb);
    ++t;
  }
  void add_to(descend::Optimizer<Scalar>& opt) {
    opt.add("w1", w1, g1);
    opt.add("w2", w2, g2);
    opt.add("b", b, gb, opt.num_groups() - 1);
  }
  bool operator==(const Model& o) const {
    const auto same = [](const auto& x, const auto& y) {
      return std::memcmp(x.data(), y.data(), sizeof(Scalar) * static_cast<std::size_t>(x.size())) ==
             0;
    };
    return same(w1, o.w1) && same(w2, o.w2) && same(b, o.b);
  }
};

// k steps, saved; n more; a fresh optimizer (and schedule) given the
// parameters at step k and the checkpoint, n more: bit for bit the same, and
// the same checkpoint bytes at the end.
template <class Scalar, class Make>
void check_resume(const Make& make, bool one_cycle, int k = 7, int n = 9) {
  const auto schedule = [&](descend::Optimizer<Scalar>& opt) {
    descend::OneCycleLROptions o;
    o.max_lr = 0.05;
    o.total_steps = k + n + 1;
    return std::make_unique<descend::OneCycleLR>(opt, o);
  };
  const auto list = [](const std::unique_ptr<descend::OneCycleLR>& s) {
    descend::CheckpointSchedules out;
    if (s) out.push_back(*s);
    return out;
  };
  Model<Scalar> a;
  auto opt_a = make();
  a.add_to(*opt_a);
  auto sa = one_cycle ? schedule(*opt_a) : nullptr;
  for (int s = 0; s < k; ++s) {
    a.gradients();
    opt_a->step();
    if (sa) sa->step();
  }
  const std::string saved = descend::checkpoint_bytes(*opt_a, list(sa));
  Model<Scalar> b = a;
  for (int s = 0; s < n; ++s) {
    a.gradients();
    opt_a->step();
    if (sa) sa->step();
  }
  auto opt_b = make();
  b.add_to(*opt_b);
  auto sb = one_cycle ? schedule(*opt_b) : nullptr;
  descend::load_checkpoint_bytes(saved.data(), saved.size(), *opt_b, list(sb));
  for (int s = 0; s < n; ++s) {
    b.gradients();
    opt_b->step();
    if (sb) sb->step();
  }
  CHECK(a == b);
  CHECK(opt_a->momentum(0) == opt_b->momentum(0));
  CHECK(descend::checkpoint_bytes(*opt_a, list(sa)) == descend::checkpoint_bytes(*opt_b, list(sb)));
}

template <template <class> class Rule, class Scalar, class Options>
std::function<std::unique_ptr<descend::Optimizer<Scalar>>()> maker(const Options& first,
                                                                   const Options& second) {
  return [first, second] {
    auto opt = std::make_unique<Rule<Scalar>>(first);
    opt->add_group(second);
    return std::unique_ptr<descend::Optimizer<Scalar>>(std::move(opt));
  };
}

}  // namespace

TEMPLATE_TEST_CASE("a resumed NAdam, RAdam or Adamax run equals the run that never stopped",
                   "[nadam][radam][adamax][checkpoint]", float, double) {
  using S = TestType;
  SECTION("NAdam") {
    descend::NadamOptions o, p;
    o.lr = 0.02;
    p.lr = 0.01;
    p.weight_decay = 0.05;
    p.decoupled_weight_decay = true;
    p.momentum_decay = 0.02;
    p.maximize = true;
    p.decay = 0.1;
    check_resume<S>(maker<descend::Nadam, S>(o, p), false);
    check_resume<S>(maker<descend::Nadam, S>(o, p), true);         // OneCycleLR cycling beta1
    check_resume<S>(maker<descend::Nadam, S>(o, p), false, 0, 5);  // saved before any step
  }
  SECTION("RAdam, across the rectification") {
    descend::RadamOptions o, p;
    o.lr = 0.02;
    o.beta2 = 0.9;  // rectified from t = 6: the checkpoint at 4 is before it
    p.lr = 0.01;
    p.weight_decay = 0.05;
    p.maximize = true;
    check_resume<S>(maker<descend::Radam, S>(o, p), false, 4, 6);
    p.decoupled_weight_decay = true;
    check_resume<S>(maker<descend::Radam, S>(o, p), true);
  }
  SECTION("Adamax") {
    descend::AdamaxOptions o, p;
    o.lr = 0.02;
    p.lr = 0.01;
    p.beta2 = 0.99;
    p.weight_decay = 0.05;
    p.maximize = true;
    p.decay = 0.1;
    check_resume<S>(maker<descend::Adamax, S>(o, p), false);
    check_resume<S>(maker<descend::Adamax, S>(o, p), true);
  }
}

TEST_CASE("a checkpoint names the options as PyTorch's param_groups, then descend's own",
          "[nadam][radam][adamax][checkpoint]") {
  const auto header_of = [](const std::string& bytes) {
    std::uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);  // little-endian hosts
    return bytes.substr(8, n);
  };
  descend::Nadam<double> n;
  descend::Radam<double> r;
  descend::Adamax<double> a;
  Eigen::VectorXd w = Eigen::VectorXd::Ones(3), g = w;
  n.add("w", w, g);
  const std::string nh = header_of(descend::checkpoint_bytes(n));
  for (const char* field :
       {"betas", "momentum_decay", "decoupled_weight_decay", "maximize", "decay", "descend::NAdam"})
    CHECK_THAT(nh, Contains(field));
  r.add("w", w, g);
  CHECK_THAT(header_of(descend::checkpoint_bytes(r)), Contains("descend::RAdam"));
  a.add("w", w, g);
  n.step();
  const std::string ah = header_of(descend::checkpoint_bytes(a));
  CHECK_THAT(ah, Contains("descend::Adamax"));
  CHECK_THAT(ah, Contains("eps"));
  // A NAdam checkpoint does not load into an RAdam.
  const std::string bytes = descend::checkpoint_bytes(n);
  CHECK_THROWS_AS(descend::load_checkpoint_bytes(bytes.data(), bytes.size(), r),
                  descend::CheckpointError);
}
