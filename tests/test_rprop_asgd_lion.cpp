// Rprop, ASGD and Lion: trajectories against tests/reference/rprop_asgd_lion.inc
// (generate_rprop_asgd_lion.py: torch 1.13's Rprop and ASGD in float64, the
// authors' Lion transcribed in numpy, each checked there against a second,
// independent implementation), with parameters and every state buffer
// compared after every step; hand-derived steps; bad options; groups; a
// schedule; checkpoints resumed bit for bit.
#include <cmath>
#include <iterator>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "catch.hpp"
#include "descend/checkpoint.hpp"
#include "descend/optim/asgd.hpp"
#include "descend/optim/lion.hpp"
#include "descend/optim/rprop.hpp"
#include "descend/optim/schedule.hpp"
#include "helpers.hpp"

namespace {

using Catch::Contains;

// A trajectory on three parameters of shapes 2x3, 3 and 2x2 (kProblemX0, 13
// coefficients row-major) with the gradient sign * (c (x - x*) + 0.3 sin(2x)),
// 50 steps. Each step's row: each group's lr, then per parameter its values
// and its buffers, row-major.
struct RalCase {
  const char* name;
  const char* optimizer;   // rprop, asgd, lion
  const char* groups;      // each group's options, " | " between groups
  const char* membership;  // the group of each parameter
  const char* schedule;    // "step step_size=N gamma=G", or ""
  double sign;
  const double* data;
  std::size_t size;
};

#include "reference/rprop_asgd_lion.inc"

template <class Scalar>
using RowMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::vector<std::string> split(const std::string& text, const std::string& separator) {
  std::vector<std::string> parts;
  std::size_t begin = 0, end;
  while ((end = text.find(separator, begin)) != std::string::npos) {
    parts.push_back(text.substr(begin, end - begin));
    begin = end + separator.size();
  }
  parts.push_back(text.substr(begin));
  return parts;
}

template <template <class> class Rule, class Scalar, class Make>
std::unique_ptr<descend::Optimizer<Scalar>> grouped(const std::vector<std::string>& groups,
                                                    Make make) {
  auto opt = std::make_unique<Rule<Scalar>>(make(groups[0]));
  for (std::size_t g = 1; g < groups.size(); ++g) REQUIRE(opt->add_group(make(groups[g])) == g);
  return opt;
}

template <class Scalar>
std::unique_ptr<descend::Optimizer<Scalar>> make_case(const RalCase& c) {
  const std::vector<std::string> groups = split(c.groups, " | ");
  const std::string name = c.optimizer;
  if (name == "rprop")
    return grouped<descend::Rprop, Scalar>(groups, testing::options_from<descend::RpropOptions>);
  if (name == "asgd")
    return grouped<descend::Asgd, Scalar>(groups, testing::options_from<descend::AsgdOptions>);
  REQUIRE(name == "lion");
  return grouped<descend::Lion, Scalar>(groups, testing::options_from<descend::LionOptions>);
}

// The largest |actual - expected| / max(|expected|, floor) over n values.
template <class Values>
double error(const Values& actual, const double* expected, Eigen::Index n, double floor) {
  double worst = 0;
  for (Eigen::Index k = 0; k < n; ++k)
    worst = std::max(worst, std::abs(static_cast<double>(actual[k]) - expected[k]) /
                                std::max(std::abs(expected[k]), floor));
  return worst;
}

// The three parameters of the problem, their gradients and the field's
// constants, allocated before add() (registered objects must stay put).
template <class Scalar>
struct Problem {
  std::vector<RowMatrix<Scalar>> params, grads, scale, target;

  Problem() {
    for (auto [rows, cols] : {std::pair{2, 3}, std::pair{3, 1}, std::pair{2, 2}}) {
      params.emplace_back(rows, cols);
    }
    grads = scale = target = params;
    Eigen::Index offset = 0;
    for (std::size_t i = 0; i < params.size(); ++i) {
      for (Eigen::Index k = 0; k < params[i].size(); ++k) {
        params[i].data()[k] = static_cast<Scalar>(kProblemX0[offset + k]);
        scale[i].data()[k] = static_cast<Scalar>(kProblemC[offset + k]);
        target[i].data()[k] = static_cast<Scalar>(kProblemXStar[offset + k]);
      }
      offset += params[i].size();
    }
  }
  Problem(const Problem&) = default;
  Problem& operator=(const Problem&) = default;

  void gradients(Scalar sign = 1) {
    for (std::size_t i = 0; i < params.size(); ++i) {
      const auto x = params[i].array();
      grads[i] =
          sign * (scale[i].array() * (x - target[i].array()) + Scalar(0.3) * (Scalar(2) * x).sin());
    }
  }
  bool operator==(const Problem& o) const { return params == o.params; }
};

struct Errors {
  double params = 0, buffers = 0;
};

template <class Scalar>
Errors run_case(const RalCase& c, double floor) {
  INFO(c.name);
  auto opt = make_case<Scalar>(c);
  Problem<Scalar> p;
  const std::vector<std::string> membership = split(c.membership, " ");
  for (std::size_t i = 0; i < p.params.size(); ++i)
    opt->add(p.params[i], p.grads[i], std::stoul(membership[i]));
  std::unique_ptr<descend::StepLR> schedule;
  if (*c.schedule != '\0') {
    const testing::Options o = testing::parse_options(std::string(c.schedule).substr(5));
    schedule = std::make_unique<descend::StepLR>(
        *opt, static_cast<std::int64_t>(testing::number(o, "step_size", 0)),
        testing::number(o, "gamma", 0));
  }
  Errors e;
  const double* row = c.data;
  for (int t = 1; t <= 50; ++t) {
    p.gradients(static_cast<Scalar>(c.sign));
    const descend::StepReport& r = opt->step();
    REQUIRE(r.applied);
    if (schedule) schedule->step();
    for (std::size_t g = 0; g < opt->num_groups(); ++g)
      CHECK(std::abs(r.lr[g] - row[g]) <= 1e-15 * row[g]);
    const double* expected = row + opt->num_groups();
    for (std::size_t i = 0; i < p.params.size(); ++i) {
      const Eigen::Index n = p.params[i].size();
      e.params = std::max(e.params, error(p.params[i].data(), expected, n, floor));
      expected += n;
      for (const std::string& name : opt->buffer_names(opt->group_of(p.params[i]))) {
        e.buffers = std::max(e.buffers, error(opt->state(p.params[i], name), expected, n, floor));
        expected += n;
      }
      CHECK(opt->step_count(p.params[i]) == t);
    }
    row = expected;
  }
  CHECK(row == c.data + c.size);  // the layout read is the layout written
  return e;
}

}  // namespace

TEST_CASE("Rprop, ASGD and Lion follow their reference trajectories in double",
          "[rprop][asgd][lion][reference]") {
  int cases = 0;
  for (const RalCase& c : kCases) {
    INFO(c.name);
    const Errors e = run_case<double>(c, 1e-3);
    CHECK(e.params <= 1e-12);
    CHECK(e.buffers <= 1e-12);
    ++cases;
  }
  CHECK(cases == 16);
}

// Float runs stray by rounding: the problem's gradient is computed in float
// (x rounded to 2^-24 relative at every step), and Rprop's prev is that
// gradient, up to 10x the parameter in size. Measured worst of
// |error| / max(|x|, 1) over every case and step: parameters 2.4e-6 (Lion),
// buffers 6.3e-6 (Rprop's prev). The bound, 5e-5 as in reference_run.hpp, is
// an 8x margin and 200x below the smallest step the cases take at their start
// (1e-2 here, Lion's default 1e-4 excepted, whose 50 steps move x by 5e-3).
TEST_CASE("Rprop, ASGD and Lion follow their reference trajectories in float",
          "[rprop][asgd][lion][reference]") {
  for (const RalCase& c : kCases) {
    INFO(c.name);
    const Errors e = run_case<float>(c, 1.0);
    CHECK(e.params <= 5e-5);
    CHECK(e.buffers <= 5e-5);
  }
}

namespace {

template <class Scalar>
using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

template <class Scalar>
Vector<Scalar> vec(std::initializer_list<double> values) {
  Vector<Scalar> v(static_cast<Eigen::Index>(values.size()));
  Eigen::Index i = 0;
  for (double x : values) v(i++) = static_cast<Scalar>(x);
  return v;
}

// Exact, or (NaN) both NaN.
template <class Scalar>
bool same(const Vector<Scalar>& a, const Vector<Scalar>& b) {
  if (a.size() != b.size()) return false;
  for (Eigen::Index i = 0; i < a.size(); ++i) {
    if (!(a(i) == b(i) || (std::isnan(a(i)) && std::isnan(b(i))))) return false;
  }
  return true;
}

template <class Opt, class Param>
Vector<typename Param::Scalar> buffer(const Opt& opt, const Param& w, const char* name) {
  return opt.state(w, name);
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

// Rprop, lr 0.01 and PyTorch's etas (0.5, 1.2), step_sizes (1e-6, 50).
// Update 1: prev = 0, so g prev = 0 (and NaN for the NaN) -> η = 1:
//   step = 0.01 everywhere; w = w - sign(g) 0.01 with sign(0) = sign(NaN) = 0
//   w1 = (1 - 0.01, -2 + 0.01, 0, 0.5), prev = g1 = (3, -1, 0, NaN).
// Update 2, g2 = (2, 1, 5, -4):
//   c0: 3·2 > 0   -> step 0.01·1.2,   w = w1 - step, prev 2
//   c1: -1·1 < 0  -> step 0.01·0.5,   g = 0: w unchanged, prev 0
//   c2: 0·5 = 0   -> step 0.01,       w = 0 - 0.01, prev 5
//   c3: NaN·-4    -> η = 1, step 0.01, w = 0.5 + 0.01, prev -4
// (every product and difference rounded in Scalar, as the kernel rounds them).
TEMPLATE_TEST_CASE("Rprop's first two updates, derived by hand", "[rprop]", float, double) {
  using S = TestType;
  descend::Rprop<S> opt;
  Vector<S> w = vec<S>({1, -2, 0, 0.5});
  opt.update(w, vec<S>({3, -1, 0, kNaN}));
  const S lr = S(0.01);
  Vector<S> w1 = vec<S>({1, -2, 0, 0.5});
  w1(0) -= lr;
  w1(1) += lr;
  CHECK(same(w, w1));
  CHECK(same(buffer(opt, w, "prev"), vec<S>({3, -1, 0, kNaN})));
  CHECK(same(buffer(opt, w, "step_size"), vec<S>({0.01, 0.01, 0.01, 0.01})));

  opt.update(w, vec<S>({2, 1, 5, -4}));
  const S grown = lr * S(1.2), shrunk = lr * S(0.5);
  Vector<S> w2 = w1;
  w2(0) = w1(0) - grown;
  w2(2) = S(0) - lr;
  w2(3) = w1(3) + lr;
  CHECK(same(w, w2));
  CHECK(same(buffer(opt, w, "prev"), vec<S>({2, 0, 5, -4})));
  Vector<S> steps(4);
  steps << grown, shrunk, lr, lr;
  CHECK(same(buffer(opt, w, "step_size"), steps));
}

// Step sizes are clamped at every update: from lr 40 with the same sign,
// 40, 40·1.2 = 48, min(48·1.2, 50) = 50, 50; flipping from lr 3e-6 (and
// step_size_min 1e-6): 3e-6·0.5 = 1.5e-6, max(1.5e-6·0.5, 1e-6) = 1e-6.
TEMPLATE_TEST_CASE("Rprop clamps its step sizes to step_sizes at every update", "[rprop]", float,
                   double) {
  using S = TestType;
  descend::RpropOptions o;
  o.lr = 40;
  descend::Rprop<S> grow(o);
  Vector<S> w = vec<S>({0});
  const S expected[] = {S(40), S(40) * S(1.2), S(50), S(50)};
  S x = 0;
  for (S step : expected) {
    grow.update(w, vec<S>({1}));
    x -= step;
    CHECK(w(0) == x);
    CHECK(buffer(grow, w, "step_size")(0) == step);
  }
  o.lr = 3e-6;
  descend::Rprop<S> shrink(o);
  Vector<S> v = vec<S>({0});
  shrink.update(v, vec<S>({1}));
  shrink.update(v, vec<S>({-1}));
  CHECK(buffer(shrink, v, "step_size")(0) == S(3e-6) * S(0.5));
  CHECK(v(0) == -S(3e-6));  // the flip zeroed g: no move
  CHECK(buffer(shrink, v, "prev")(0) == 0);
  shrink.update(v, vec<S>({1}));  // prev 0: η = 1, no flip
  shrink.update(v, vec<S>({-1}));
  CHECK(buffer(shrink, v, "step_size")(0) == S(1e-6));
}

// ASGD, lr 0.1, lambd 0.5, alpha 1, t0 0, g = 1 at every update, w0 = 2:
//   t = 1: η = lr = 0.1, μ = 1:        w1 = (1 - 0.5·0.1)·2 - 0.1 = 1.8, ax = w1
//   t = 2: η = 0.1/(1 + 0.5·0.1·1), μ = 1/max(1, 1 - 0) = 1:
//                                      w2 = (1 - 0.5η)·w1 - η, ax = w2
//   t = 3: η = 0.1/(1 + 0.5·0.1·2), μ = 1/max(1, 2 - 0) = 0.5:
//                                      w3 = (1 - 0.5η)·w2 - η, ax = w2 + (w3 - w2)·0.5
// With weight_decay 0.2 and maximize, update 1 sees g = -1 + 0.2·2 = -0.6:
//   w1 = 0.95·2 + 0.1·0.6 = 1.96.
TEMPLATE_TEST_CASE("ASGD's first three updates, derived by hand", "[asgd]", float, double) {
  using S = TestType;
  const double tol = std::is_same<S, float>::value ? 2e-7 : 1e-15;
  descend::AsgdOptions o;
  o.lr = 0.1;
  o.lambd = 0.5;
  o.alpha = 1;
  o.t0 = 0;
  descend::Asgd<S> opt(o);
  Vector<S> w = vec<S>({2});
  const Vector<S> g = vec<S>({1});
  opt.update(w, g);
  const double w1 = 0.95 * 2 - 0.1;
  CHECK(std::abs(w(0) - w1) <= tol * w1);
  CHECK(buffer(opt, w, "ax")(0) == w(0));
  opt.update(w, g);
  const double eta2 = 0.1 / 1.05, w2 = (1 - 0.5 * eta2) * w1 - eta2;
  CHECK(std::abs(w(0) - w2) <= tol * w2);
  CHECK(buffer(opt, w, "ax")(0) == w(0));
  opt.update(w, g);
  const double eta3 = 0.1 / 1.1, w3 = (1 - 0.5 * eta3) * w2 - eta3;
  CHECK(std::abs(w(0) - w3) <= tol * w3);
  const double ax3 = w2 + (w3 - w2) * 0.5;
  CHECK(std::abs(buffer(opt, w, "ax")(0) - ax3) <= tol * ax3);

  o.weight_decay = 0.2;
  o.maximize = true;
  descend::Asgd<S> up(o);
  Vector<S> v = vec<S>({2});
  up.update(v, g);
  CHECK(std::abs(v(0) - 1.96) <= tol * 1.96);
}

// Lion, lr 0.1, betas (0.9, 0.99), weight_decay 0.5, w0 = 1:
//   g = 2:  c = 0.1·2 = 0.2 > 0       w1 = 0.95·1 - 0.1 = 0.85,      m = 0.01·2 = 0.02
//   g = -1: c = 0.018 - 0.1 < 0       w2 = 0.95·0.85 + 0.1 = 0.9075, m = 0.0198 - 0.01 = 0.0098
//   g = 0:  c = 0.9·0.0098 > 0        w3 = 0.95·0.9075 - 0.1,        m = 0.99·0.0098
// A zero c (zero m and g) moves w by the decay only; so does a NaN g, which
// makes m, and every later c, NaN.
TEMPLATE_TEST_CASE("Lion's first updates, derived by hand", "[lion]", float, double) {
  using S = TestType;
  const double tol = std::is_same<S, float>::value ? 2e-7 : 1e-15;
  descend::LionOptions o;
  o.lr = 0.1;
  o.weight_decay = 0.5;
  descend::Lion<S> opt(o);
  Vector<S> w = vec<S>({1, 1, 1});
  opt.update(w, vec<S>({2, 0, kNaN}));
  CHECK(std::abs(w(0) - 0.85) <= tol);
  CHECK(w(1) == S(0.95));  // c = 0
  CHECK(w(2) == S(0.95));  // c = NaN
  CHECK(std::abs(buffer(opt, w, "exp_avg")(0) - 0.02) <= tol * 0.02);
  CHECK(buffer(opt, w, "exp_avg")(1) == 0);
  CHECK(std::isnan(buffer(opt, w, "exp_avg")(2)));
  opt.update(w, vec<S>({-1, 0, 1}));
  CHECK(std::abs(w(0) - 0.9075) <= tol);
  CHECK(w(2) == S(0.95) * S(0.95));
  // 0.0198 - 0.01 cancels: float's error is of the order of 0.02's rounding.
  CHECK(std::abs(buffer(opt, w, "exp_avg")(0) - 0.0098) <= tol * 0.02);
  opt.update(w, vec<S>({0, 0, 0}));
  CHECK(std::abs(w(0) - (0.95 * 0.9075 - 0.1)) <= tol);
  CHECK(std::abs(buffer(opt, w, "exp_avg")(0) - 0.99 * 0.0098) <= tol * 0.02);
}

TEMPLATE_TEST_CASE("Rprop, ASGD and Lion name their state buffers as PyTorch and the authors do",
                   "[rprop][asgd][lion]", float, double) {
  using S = TestType;
  CHECK(descend::Rprop<S>().buffer_names() == std::vector<std::string>{"prev", "step_size"});
  CHECK(descend::Asgd<S>().buffer_names() == std::vector<std::string>{"ax"});
  CHECK(descend::Lion<S>().buffer_names() == std::vector<std::string>{"exp_avg"});
  CHECK(descend::RpropOptions{}.lr == 1e-2);
  CHECK(descend::AsgdOptions{}.t0 == 1e6);
  CHECK(descend::LionOptions{}.lr == 1e-4);
}

namespace {

// The option is refused by the constructor, add_group and set_options with
// `message` in the error, and a refused set_options or add_group changes
// nothing (the optimizer has state from one step: the checkpoint's bytes,
// which hold every group's options and all state, are compared).
template <template <class> class Rule, class Scalar, class Options, class Change>
void check_refused(const Options& good, Change change, const std::string& message) {
  Options bad = good;
  change(bad);
  INFO(message);
  CHECK_THROWS_WITH([&] { Rule<Scalar> made(bad); }(), Contains(message));
  Rule<Scalar> opt(good);
  Vector<Scalar> w = vec<Scalar>({1, -1}), g = vec<Scalar>({0.5, 0.5});
  opt.add(w, g);
  opt.step();
  const std::string saved = descend::checkpoint_bytes(opt);
  CHECK_THROWS_WITH(opt.set_options(bad), Contains(message));
  CHECK_THROWS_WITH(opt.add_group(bad), Contains(message));
  CHECK(opt.num_groups() == 1);
  CHECK(descend::checkpoint_bytes(opt) == saved);
}

}  // namespace

TEMPLATE_TEST_CASE("Rprop, ASGD and Lion refuse bad options, naming them, and change nothing",
                   "[rprop][asgd][lion][errors]", float, double) {
  using S = TestType;
  using R = descend::RpropOptions;
  const R r;
  check_refused<descend::Rprop, S>(
      r, [](R& o) { o.lr = -1; }, "descend::Rprop: lr = -1");
  check_refused<descend::Rprop, S>(
      r, [](R& o) { o.etaminus = 0; }, "etaminus = 0 must be in (0, 1)");
  check_refused<descend::Rprop, S>(
      r, [](R& o) { o.etaminus = 1; }, "etaminus = 1 must be in (0, 1)");
  check_refused<descend::Rprop, S>(
      r, [](R& o) { o.etaminus = kNaN; }, "etaminus = nan must be in (0, 1)");
  check_refused<descend::Rprop, S>(
      r, [](R& o) { o.etaplus = 1; }, "etaplus = 1 must be > 1");
  check_refused<descend::Rprop, S>(
      r, [](R& o) { o.etaplus = HUGE_VAL; }, "etaplus = inf");
  check_refused<descend::Rprop, S>(
      r, [](R& o) { o.step_size_min = -1e-6; }, "step_size_min = -1e-06 must be >= 0");
  check_refused<descend::Rprop, S>(
      r, [](R& o) { o.step_size_max = kNaN; }, "step_size_max = nan");
  check_refused<descend::Rprop, S>(
      r, [](R& o) { o.step_size_min = 2, o.step_size_max = 1; },
      "step_size_min = 2 must be <= step_size_max = 1");
  check_refused<descend::Rprop, S>(
      r, [](R& o) { o.decay = 0.1; }, "decay = 0.1 would have no effect");
  if (std::is_same<S, float>::value) {
    check_refused<descend::Rprop, S>(
        r, [](R& o) { o.step_size_max = 1e39; }, "step_size_max = 1e+39 overflows float");
    check_refused<descend::Rprop, S>(
        r, [](R& o) { o.etaminus = 1 - 1e-10; }, "must be in (0, 1), also as float");
  }

  using A = descend::AsgdOptions;
  const A a;
  check_refused<descend::Asgd, S>(
      a, [](A& o) { o.lambd = -1; }, "descend::Asgd: lambd = -1");
  check_refused<descend::Asgd, S>(
      a, [](A& o) { o.alpha = kNaN; }, "alpha = nan");
  check_refused<descend::Asgd, S>(
      a, [](A& o) { o.t0 = HUGE_VAL; }, "t0 = inf must be finite");
  check_refused<descend::Asgd, S>(
      a, [](A& o) { o.t0 = -1; }, "t0 = -1 must be >= 0");
  check_refused<descend::Asgd, S>(
      a, [](A& o) { o.weight_decay = -0.1; }, "weight_decay = -0.1");
  check_refused<descend::Asgd, S>(
      a, [](A& o) { o.decay = -1; }, "decay = -1");
  check_refused<descend::Asgd, S>(
      a, [](A& o) { o.lr = kNaN; }, "lr = nan");

  using L = descend::LionOptions;
  const L l;
  check_refused<descend::Lion, S>(
      l, [](L& o) { o.beta1 = 1; }, "descend::Lion: beta1 = 1 must be in [0, 1)");
  check_refused<descend::Lion, S>(
      l, [](L& o) { o.beta2 = -0.1; }, "beta2 = -0.1 must be in [0, 1)");
  check_refused<descend::Lion, S>(
      l, [](L& o) { o.weight_decay = kNaN; }, "weight_decay = nan");
  check_refused<descend::Lion, S>(
      l, [](L& o) { o.decay = HUGE_VAL; }, "decay = inf");
}

TEMPLATE_TEST_CASE("Lion's beta1 is what cyclic schedules cycle; Rprop and ASGD have none",
                   "[lion][rprop][asgd][groups]", float, double) {
  using S = TestType;
  descend::Lion<S> lion;
  lion.add_group(descend::LionOptions{});
  CHECK(std::string(lion.momentum_name()) == "beta1");
  lion.set_momentum(0.8, 1);
  CHECK(lion.options(1).beta1 == 0.8);
  CHECK(lion.options(0).beta1 == 0.9);
  CHECK(lion.momentum(1) == 0.8);
  CHECK_THROWS_WITH(lion.set_momentum(1.0, 0), Contains("beta1 = 1"));
  descend::Rprop<S> rprop;
  descend::Asgd<S> asgd;
  CHECK(rprop.momentum_name() == nullptr);
  CHECK(asgd.momentum_name() == nullptr);
  CHECK_THROWS_AS(rprop.momentum(0), std::invalid_argument);
  CHECK_THROWS_AS(asgd.set_momentum(0.5, 0), std::invalid_argument);
}

// PyTorch's Rprop reads lr only when it makes a parameter's state
// (step_size = fill_(lr)); descend too. So set_lr, or a schedule, changes the
// steps of parameters whose state is made afterwards, and no others: the
// StepLR reference case has the trajectory of the same run without it.
TEMPLATE_TEST_CASE("A changed lr reaches only Rprop state made after the change",
                   "[rprop][schedule]", float, double) {
  using S = TestType;
  descend::RpropOptions o;
  o.lr = 0.01;
  descend::Rprop<S> opt(o);
  Vector<S> a = vec<S>({0}), ga = vec<S>({1}), b = vec<S>({0}), gb = vec<S>({1});
  opt.add(a, ga);
  opt.step();  // a: step_size 0.01
  descend::StepLR schedule(opt, 1, 10.0);
  schedule.step();  // lr 0.1
  CHECK(opt.lr(0) == Approx(0.1));
  opt.add(b, gb);
  opt.step();  // a: 0.01·1.2; b: made now, 0.1
  CHECK(buffer(opt, a, "step_size")(0) == S(0.01) * S(1.2));
  CHECK(buffer(opt, b, "step_size")(0) == static_cast<S>(opt.lr(0)));
  CHECK(b(0) == -static_cast<S>(opt.lr(0)));
  CHECK(a(0) == -S(0.01) - S(0.01) * S(1.2));
  // forget() makes the state again, from the lr of that moment.
  opt.forget(a);
  opt.set_lr(0.5);
  opt.step();
  CHECK(buffer(opt, a, "step_size")(0) == S(0.5));
}

// descend's ASGD computes eta from the lr of the update it makes; PyTorch
// 1.13's from the lr of the update before (it recomputes eta after each
// step). lambd = 0 makes eta = lr: after set_lr(0.2) descend's second update
// steps by 0.2, where PyTorch's would step by 0.1 once more.
TEMPLATE_TEST_CASE("ASGD applies a changed lr at the next update", "[asgd][schedule]", float,
                   double) {
  using S = TestType;
  descend::AsgdOptions o;
  o.lr = 0.1;
  o.lambd = 0;
  descend::Asgd<S> opt(o);
  Vector<S> w = vec<S>({1}), g = vec<S>({1});
  opt.add(w, g);
  opt.step();
  CHECK(w(0) == S(1) - S(0.1));
  opt.set_lr(0.2);
  opt.step();
  CHECK(w(0) == S(1) - S(0.1) - S(0.2));
}

namespace {

// k steps, a checkpoint, n more; a fresh optimizer given the parameters of
// the checkpoint's moment, loaded, then the same n steps: the parameters, and
// the state saved at the end, equal the uninterrupted run's bit for bit.
template <class Scalar, class Make>
void check_resume(Make make, double sign = 1, int k = 7, int n = 9) {
  Problem<Scalar> a;
  auto opt_a = make();
  const auto add_all = [](auto& opt, Problem<Scalar>& p) {
    for (std::size_t i = 0; i < p.params.size(); ++i)
      opt->add(p.params[i], p.grads[i], std::min<std::size_t>(i, opt->num_groups() - 1));
  };
  add_all(opt_a, a);
  descend::StepLR sa(*opt_a, 4, 0.5);
  for (int s = 0; s < k; ++s) {
    a.gradients(static_cast<Scalar>(sign));
    opt_a->step();
    sa.step();
  }
  const std::string saved = descend::checkpoint_bytes(*opt_a, {sa});
  Problem<Scalar> b = a;
  for (int s = 0; s < n; ++s) {
    a.gradients(static_cast<Scalar>(sign));
    opt_a->step();
    sa.step();
  }
  auto opt_b = make();
  add_all(opt_b, b);
  descend::StepLR sb(*opt_b, 4, 0.5);
  descend::load_checkpoint_bytes(saved.data(), saved.size(), *opt_b, {sb});
  for (int s = 0; s < n; ++s) {
    b.gradients(static_cast<Scalar>(sign));
    opt_b->step();
    sb.step();
  }
  CHECK(a == b);
  CHECK(descend::checkpoint_bytes(*opt_a, {sa}) == descend::checkpoint_bytes(*opt_b, {sb}));
}

template <template <class> class Rule, class Scalar, class Options>
auto maker(const Options& first, const Options& second) {
  return [=] {
    auto opt = std::make_unique<Rule<Scalar>>(first);
    opt->add_group(second);
    return opt;
  };
}

}  // namespace

TEMPLATE_TEST_CASE("Rprop, ASGD and Lion resume from a checkpoint bit for bit",
                   "[rprop][asgd][lion][checkpoint]", float, double) {
  using S = TestType;
  SECTION("Rprop") {
    const descend::RpropOptions first = testing::options_from<descend::RpropOptions>("lr=0.02");
    const descend::RpropOptions second = testing::options_from<descend::RpropOptions>(
        "lr=0.05 etaminus=0.3 etaplus=1.5 step_size_min=0.001 step_size_max=0.2");
    check_resume<S>(maker<descend::Rprop, S>(first, second));
    check_resume<S>(maker<descend::Rprop, S>(
                        testing::options_from<descend::RpropOptions>("maximize=1"), second),
                    -1);
  }
  SECTION("ASGD, averaging from before the checkpoint and from after it") {
    const descend::AsgdOptions first =
        testing::options_from<descend::AsgdOptions>("lr=0.05 lambd=0.01 alpha=0.5 t0=3");
    const descend::AsgdOptions second =
        testing::options_from<descend::AsgdOptions>("lr=0.02 t0=10 weight_decay=0.1 maximize=1");
    check_resume<S>(maker<descend::Asgd, S>(first, second));
  }
  SECTION("Lion") {
    descend::LionOptions first =
        testing::options_from<descend::LionOptions>("lr=0.01 weight_decay=0.1");
    first.decay = 0.05;
    const descend::LionOptions second =
        testing::options_from<descend::LionOptions>("lr=0.03 beta1=0.5 beta2=0.9 maximize=1");
    check_resume<S>(maker<descend::Lion, S>(first, second));
  }
}

TEMPLATE_TEST_CASE("A checkpoint stores Rprop's, ASGD's and Lion's options under PyTorch's names",
                   "[rprop][asgd][lion][checkpoint]", float, double) {
  using S = TestType;
  const auto header = [](const auto& opt) {
    const std::string bytes = descend::checkpoint_bytes(opt);
    return bytes.substr(8, bytes.size() - 8);
  };
  descend::Rprop<S> rprop;
  // param_groups is JSON text inside the metadata: its quotes are escaped.
  CHECK_THAT(header(rprop),
             Contains(R"(\"etas\":[0.5,1.2])") && Contains(R"(\"step_sizes\":[1e-06,50.0])"));
  descend::Asgd<S> asgd;
  CHECK_THAT(header(asgd), Contains(R"(\"lambd\":0.0001)") && Contains(R"(\"t0\":1000000.0)"));
  descend::Lion<S> lion;
  CHECK_THAT(header(lion),
             Contains(R"(\"betas\":[0.9,0.99])") && Contains(R"("optimizer":"descend::Lion")"));
  // Options read back from the file replace the group's (as load_state_dict).
  descend::LionOptions other;
  other.beta1 = 0.5;
  other.weight_decay = 0.25;
  descend::Lion<S> from(other);
  const std::string bytes = descend::checkpoint_bytes(from);
  descend::load_checkpoint_bytes(bytes.data(), bytes.size(), lion);
  CHECK(lion.options(0).beta1 == 0.5);
  CHECK(lion.options(0).weight_decay == 0.25);
}
