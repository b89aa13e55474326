// descend::Lbfgs against torch.optim.LBFGS 1.13: tests/reference/lbfgs.inc,
// recorded by tests/reference/generate_lbfgs.py from real torch runs in
// float64, with and without the strong-Wolfe line search. The closures here
// compute the loss and gradient with the same operations, in the same order,
// as the generator's plain-Python closures, so both sides evaluate the same
// function bit for bit and every difference is the optimizer's. Every closure
// evaluation is compared (where it is evaluated, the loss), then after each
// step() the returned loss, n_iter, func_evals and the parameters.
// tests/reference/lbfgs_schedule.inc holds torch runs driven by StepLR, from
// the same generator. torch has no maximize: maximize on -f is checked
// against torch's minimization of f, and bit for bit against descend's.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "catch.hpp"
#include "descend/optim/cyclic.hpp"
#include "descend/optim/lbfgs.hpp"
#include "descend/optim/plateau.hpp"
#include "descend/optim/schedule.hpp"

namespace {

struct LbfgsCase {
  const char* name;
  const char* problem;
  double lr;
  int max_iter;
  int max_eval;           // -1: unset
  int resolved_max_eval;  // torch's param_groups[0]["max_eval"]
  double tolerance_grad;
  double tolerance_change;
  int history_size;
  bool strong_wolfe;
  int steps;
  int evals;
  const double* evaluations;  // per evaluation: step, loss, parameters
  const double* after;        // per step: returned loss, n_iter, func_evals, parameters
};

#include "reference/lbfgs.inc"

// A run with StepLR(step_size, gamma) stepped after each step(); its after
// rows end with the lr the step used.
struct LbfgsScheduledCase {
  LbfgsCase run;
  int step_size;
  double gamma;
};

#include "reference/lbfgs_schedule.inc"

// The match is to rounding only where the compiler cannot contract a * b + c
// into a fused multiply-add (x86-64 without -mfma, as the default presets
// build): torch's dot products are not fused, and on Rosenbrock a last-bit
// difference grows to 1e-4 within a few dozen evaluations. Built with FMA
// available (-march=native), only the first evaluations are compared. GCC
// says so with __FP_FAST_FMA; clang, which contracts within an expression by
// default, defines only __FMA__.
#if defined(__FP_FAST_FMA) || defined(__FMA__)
constexpr bool kStrict = false;
#else
constexpr bool kStrict = true;
#endif
constexpr std::size_t kLooseRows = 8;

// The generator's closures, operation by operation.
template <class S>
struct Rosenbrock {
  static constexpr int n = 2;
  Eigen::Matrix<S, 2, 1> x{S(-1.5), S(2)};
  Eigen::Matrix<S, 2, 1> g;

  void add_to(descend::Lbfgs<S>& opt) { opt.add(x, g); }
  S operator()() {
    const S a = S(1) - x[0];
    const S b = x[1] - x[0] * x[0];
    g[0] = S(-2) * a - S(400) * (x[0] * b);
    g[1] = S(200) * b;
    return a * a + S(100) * (b * b);
  }
  void negate_grad() { g = -g; }
  std::vector<double> flat() const { return {double(x[0]), double(x[1])}; }
};

template <class S>
struct ExpFit {
  static constexpr int n = 3;
  Eigen::Matrix<S, 2, 1> ab{S(1), S(0.5)};  // a, b
  Eigen::Matrix<S, 1, 1> c{S(0)};
  Eigen::Matrix<S, 2, 1> g_ab;
  Eigen::Matrix<S, 1, 1> g_c;

  void add_to(descend::Lbfgs<S>& opt) {
    opt.add(ab, g_ab);
    opt.add(c, g_c);
  }
  S operator()() {
    const S a = ab[0], b = ab[1];
    S f = 0, ga = 0, gb = 0, gc = 0;
    for (int i = 0; i < 20; ++i) {
      const S t = S(kExpT[i]);
      const S e = std::exp(-b * t);
      const S r = a * e + c[0] - S(kExpY[i]);
      f += r * r;
      ga += r * e;
      gb -= r * (a * t * e);
      gc += r;
    }
    g_ab << ga, gb;
    g_c[0] = gc;
    return S(0.5) * f;
  }
  void negate_grad() {
    g_ab = -g_ab;
    g_c = -g_c;
  }
  std::vector<double> flat() const { return {double(ab[0]), double(ab[1]), double(c[0])}; }
};

// W is any 2x3 Eigen object (a Matrix, or a Block of a larger one).
template <class S, class WType = Eigen::Matrix<S, 2, 3>>
struct Linear {
  static constexpr int n = 8;
  WType w;
  Eigen::Matrix<S, 2, 3> gw;
  Eigen::Matrix<S, Eigen::Dynamic, 1> v, gv;

  template <class... Args>
  explicit Linear(Args&&... args) : w(std::forward<Args>(args)...), v(2), gv(2) {
    w << S(0.1), S(0.3), S(-0.1), S(-0.2), S(0), S(0.2);  // column-major: torch's W^T rows
    v << S(0.05), S(-0.05);
  }
  void add_to(descend::Lbfgs<S>& opt) {
    opt.add(w, gw);
    opt.add(v, gv);
  }
  S operator()() {
    S f = 0;
    gw.setZero();
    gv.setZero();
    for (int k = 0; k < 8; ++k) {
      for (int o = 0; o < 2; ++o) {
        S acc = v[o];
        for (int j = 0; j < 3; ++j) acc += w(o, j) * S(kLinX[3 * k + j]);
        const S r = acc - S(kLinY[2 * k + o]);
        f += r * r;
        for (int j = 0; j < 3; ++j) gw(o, j) += r * S(kLinX[3 * k + j]);
        gv[o] += r;
      }
    }
    return S(0.5) * f;
  }
  void negate_grad() {
    gw = -gw;
    gv = -gv;
  }
  std::vector<double> flat() const {
    std::vector<double> out;
    for (int j = 0; j < 3; ++j)
      for (int o = 0; o < 2; ++o) out.push_back(double(w(o, j)));
    out.push_back(double(v[0]));
    out.push_back(double(v[1]));
    return out;
  }
};

descend::LbfgsOptions options_of(const LbfgsCase& c) {
  descend::LbfgsOptions o;
  o.lr = c.lr;
  o.max_iter = c.max_iter;
  if (c.max_eval >= 0) o.max_eval = c.max_eval;
  o.tolerance_grad = c.tolerance_grad;
  o.tolerance_change = c.tolerance_change;
  o.history_size = c.history_size;
  o.line_search = c.strong_wolfe ? descend::LineSearch::strong_wolfe : descend::LineSearch::none;
  return o;
}

// What a run saw: rows of (step, loss, parameters) per evaluation and of
// (returned loss, n_iter, func_evals, parameters[, lr]) per step.
struct Run {
  std::vector<std::vector<double>> evals, after;
};

// How run() drives the optimizer, besides its options.
struct Drive {
  // options.maximize on -f: the closure returns -f and writes -g. The rows
  // still record f, and the returned loss negated back (-(-f) is exact), so
  // they compare with torch's minimization of f.
  bool maximize = false;
  int step_size = 0;  // > 0: StepLR(step_size, gamma) stepped after each step()
  double gamma = 0;
};

template <class S, class Problem>
Run run(Problem& p, descend::LbfgsOptions options, int steps, const Drive& drive = {}) {
  options.maximize = drive.maximize;
  descend::Lbfgs<S> opt(options);
  p.add_to(opt);
  std::optional<descend::StepLR> schedule;
  if (drive.step_size > 0) schedule.emplace(opt, drive.step_size, drive.gamma);
  Run out;
  int step = 0;
  auto closure = [&] {
    std::vector<double> row = {double(step)};
    const S loss = p();
    row.push_back(double(loss));
    for (double x : p.flat()) row.push_back(x);
    out.evals.push_back(row);
    if (drive.maximize) p.negate_grad();
    return drive.maximize ? -loss : loss;
  };
  for (; step < steps; ++step) {
    const double lr = opt.lr();
    const double loss = opt.step(closure);
    if (schedule) schedule->step();
    std::vector<double> row = {drive.maximize ? -loss : loss, double(opt.n_iter()),
                               double(opt.func_evals())};
    for (double x : p.flat()) row.push_back(x);
    if (schedule) row.push_back(lr);
    out.after.push_back(row);
  }
  return out;
}

double rel_diff(double a, double b) {
  if (a == b) return 0;
  return std::abs(a - b) / std::max(std::abs(a), std::abs(b));
}

// The largest relative difference between a run and torch's rows; one
// failure names the first coefficient off by more than 1e-12.
double compare(const std::vector<std::vector<double>>& rows, const double* reference,
               std::size_t width, const char* what) {
  double worst = 0;
  std::string first;
  const std::size_t compared = kStrict ? rows.size() : std::min(rows.size(), kLooseRows);
  for (std::size_t r = 0; r < compared; ++r) {
    REQUIRE(rows[r].size() == width);
    for (std::size_t k = 0; k < width; ++k) {
      const double d = rel_diff(rows[r][k], reference[r * width + k]);
      if (!(d <= 1e-12) && first.empty())
        first = std::string(what) + " " + std::to_string(r) + ", column " + std::to_string(k) +
                ": relative difference " + std::to_string(d);
      worst = std::max(worst, d);
    }
  }
  INFO(first);
  CHECK(first.empty());
  return worst;
}

template <class Problem>
Run run_problem(const descend::LbfgsOptions& options, int steps, const Drive& drive) {
  Problem p;
  return run<double>(p, options, steps, drive);
}

// Runs torch's case c in double, driven as `drive` says, and compares it
// with torch's rows; returns the largest relative difference.
double check_case(const LbfgsCase& c, const Drive& drive) {
  const descend::LbfgsOptions options = options_of(c);
  Run r;
  std::size_t n = 0;
  const std::string problem = c.problem;
  if (problem == "rosenbrock") {
    r = run_problem<Rosenbrock<double>>(options, c.steps, drive);
    n = Rosenbrock<double>::n;
  } else if (problem == "expfit") {
    r = run_problem<ExpFit<double>>(options, c.steps, drive);
    n = ExpFit<double>::n;
  } else {
    r = run_problem<Linear<double>>(options, c.steps, drive);
    n = Linear<double>::n;
  }
  CHECK(descend::Lbfgs<double>(options).max_eval() == c.resolved_max_eval);
  REQUIRE(r.after.size() == static_cast<std::size_t>(c.steps));
  double worst = 0;
  if (kStrict) {
    REQUIRE(r.evals.size() == static_cast<std::size_t>(c.evals));
    const std::size_t lr_column = drive.step_size > 0 ? 1 : 0;
    worst = std::max(worst, compare(r.after, c.after, 3 + n + lr_column, "after step"));
  }
  REQUIRE(r.evals.size() >= std::min<std::size_t>(c.evals, kLooseRows));
  return std::max(worst, compare(r.evals, c.evaluations, 2 + n, "evaluation"));
}

}  // namespace

TEST_CASE("Lbfgs follows torch.optim.LBFGS evaluation by evaluation in double") {
  double worst = 0;
  int total = 0;
  for (const LbfgsCase& c : kCases) {
    INFO(c.name);
    worst = std::max(worst, check_case(c, Drive{}));
    total += c.evals;
  }
  WARN((kStrict ? "" : "FMA contraction: first evaluations only; ")
       << "16 torch runs, " << total << " closure evaluations, max relative difference " << worst);
}

TEST_CASE("Lbfgs with maximize on -f follows torch's minimization of f") {
  double worst = 0;
  for (const LbfgsCase& c : kCases) {
    INFO(c.name);
    Drive drive;
    drive.maximize = true;
    worst = std::max(worst, check_case(c, drive));
  }
  CHECK((!kStrict || worst == 0));  // maximize is the same run bit for bit
}

TEST_CASE("Lbfgs driven by StepLR follows torch's LBFGS with StepLR, as torch steps it") {
  // The generator checked that the schedule changes each run; here, the lr
  // column of every step shows that it did (1, 1, 0.5, 0.5, 0.25, ...).
  double worst = 0;
  int total = 0;
  for (const LbfgsScheduledCase& s : kScheduledCases) {
    const LbfgsCase& c = s.run;
    for (const bool maximize : {false, true}) {
      INFO(c.name << (maximize ? ", maximize on -f" : ""));
      Drive drive;
      drive.maximize = maximize;
      drive.step_size = s.step_size;
      drive.gamma = s.gamma;
      worst = std::max(worst, check_case(c, drive));
      total += c.evals;
    }
    const std::size_t width = 3 + Rosenbrock<double>::n + 1;
    CHECK(c.after[width - 1] == 1.0);                          // step 0's lr
    CHECK(c.after[(s.step_size + 1) * width - 1] == s.gamma);  // after step_size steps
  }
  WARN((kStrict ? "" : "FMA contraction: first evaluations only; ")
       << "StepLR: 4 torch runs (twice each, once maximizing -f), " << total
       << " closure evaluations, max relative difference " << worst);
}

TEST_CASE("Lbfgs in float converges where torch's double runs do") {
  for (const bool wolfe : {false, true}) {
    INFO((wolfe ? "strong_wolfe" : "no line search"));
    descend::LbfgsOptions o;
    o.line_search = wolfe ? descend::LineSearch::strong_wolfe : descend::LineSearch::none;
    ExpFit<float> e;
    run<float>(e, o, 5);
    // torch's double minimiser (exp_default_*): a 2.49744, b 1.30108, c 0.401146.
    CHECK(std::abs(e.ab[0] - 2.49744f) < 1e-3f);
    CHECK(std::abs(e.ab[1] - 1.30108f) < 1e-3f);
    CHECK(std::abs(e.c[0] - 0.401146f) < 1e-3f);
    Linear<float> l;
    run<float>(l, o, 3);
    Linear<double> ld;
    run<double>(ld, o, 3);
    for (std::size_t k = 0; k < 8; ++k) CHECK(std::abs(l.flat()[k] - ld.flat()[k]) < 1e-4);
  }
  descend::LbfgsOptions o;
  o.line_search = descend::LineSearch::strong_wolfe;
  Rosenbrock<float> r;
  run<float>(r, o, 5);
  CHECK(std::abs(r.x[0] - 1) < 1e-2f);
  CHECK(std::abs(r.x[1] - 1) < 2e-2f);
}

// Hand derivation, f = (1 - x)^2 + 100 (y - x^2)^2 at (-1.5, 2):
//   a = 1 - x = 2.5, b = y - x^2 = -0.25, f = 6.25 + 6.25 = 12.5,
//   g = (-2a - 400 x b, 200 b) = (-5 - 150, -50) = (-155, -50), |g|_1 = 205,
//   first iteration: d = -g, t = min(1, 1/205) lr = lr/205, x1 = x0 + t d.
TEST_CASE("The first iteration is steepest descent with t = min(1, 1/|g|_1) lr") {
  for (const double lr : {1.0, 0.3}) {
    descend::LbfgsOptions o;
    o.lr = lr;
    o.max_iter = 1;
    Rosenbrock<double> p;
    descend::Lbfgs<double> opt(o);
    p.add_to(opt);
    int evaluations = 0;
    const double loss = opt.step([&] {
      ++evaluations;
      return p();
    });
    CHECK(loss == 12.5);
    CHECK(evaluations == 1);  // no evaluation after the last iteration
    const double t = lr / 205;
    CHECK(p.x[0] == Approx(-1.5 + t * 155).epsilon(1e-15));
    CHECK(p.x[1] == Approx(2 + t * 50).epsilon(1e-15));
    CHECK(opt.n_iter() == 1);
    CHECK(opt.func_evals() == 1);
  }
  // |g|_1 < 1: t = lr. f = |x|^2 / 2, g = x = (0.2, -0.1), |g|_1 = 0.3.
  for (const double lr : {1.0, 0.5}) {
    descend::LbfgsOptions o;
    o.lr = lr;
    o.max_iter = 1;
    Eigen::Vector2d x(0.2, -0.1), g;
    descend::Lbfgs<double> opt(o);
    opt.add(x, g);
    opt.step([&] {
      g = x;
      return 0.5 * x.squaredNorm();
    });
    CHECK(x[0] == Approx(0.2 * (1 - lr)).margin(1e-17));
    CHECK(x[1] == Approx(-0.1 * (1 - lr)).margin(1e-17));
  }
}

// Hand derivation, f = x^2 (g = 2x) from x = 3, exact in binary:
//   eval 1: x = 3, g = 6; d = -6, t = 1/6: x = 2.
//   eval 2: x = 2, g = 4; y = 4 - 6 = -2, s = t d = -1, ys = 2, rho = 1/2,
//   H = ys / yy = 1/2; q = -4, a = rho s q = 2, q = q - a y = 0, d = H q = 0,
//   b = rho y d = 0, d = d + (a - b) s = -2; t = lr = 1: x = 0 (Newton's step).
//   eval 3: x = 0, g = 0: max|g| <= tolerance_grad, stop.
TEST_CASE("The second iteration takes the L-BFGS step derived by hand") {
  Eigen::Matrix<double, 1, 1> x(3.0), g;
  descend::Lbfgs<double> opt;
  opt.add(x, g);
  std::vector<double> seen;
  opt.step([&] {
    seen.push_back(x[0]);
    g[0] = 2 * x[0];
    return x[0] * x[0];
  });
  CHECK(seen == std::vector<double>{3, 2, 0});
  CHECK(x[0] == 0);
  CHECK(opt.n_iter() == 2);
  CHECK(opt.history_length() == 1);
  // A later step sees max|g| <= tolerance_grad at once: one evaluation, no iteration.
  opt.step([&] {
    seen.push_back(x[0]);
    g[0] = 2 * x[0];
    return x[0] * x[0];
  });
  CHECK(seen.size() == 4);
  CHECK(opt.n_iter() == 2);
  CHECK(opt.func_evals() == 4);
}

TEST_CASE("Several parameters of several kinds are one flat vector in registration order") {
  descend::LbfgsOptions o;
  o.history_size = 3;
  o.max_iter = 4;
  o.line_search = descend::LineSearch::strong_wolfe;
  Linear<double> plain;
  const Run a = run<double>(plain, o, 4);
  // W as a strided Block of a larger matrix, and a Map of the bias: the same
  // coefficients in the same order, so the same numbers bit for bit.
  Eigen::MatrixXd big = Eigen::MatrixXd::Constant(4, 5, 7.0);
  Linear<double, Eigen::Block<Eigen::MatrixXd>> blocked(big, 1, 1, 2, 3);
  const Run b = run<double>(blocked, o, 4);
  CHECK(a.evals == b.evals);
  CHECK(a.after == b.after);
  CHECK(big(0, 0) == 7.0);  // outside the block: untouched
  CHECK(big(3, 4) == 7.0);
}

TEST_CASE("max_eval defaults to max_iter * 5 / 4 in integer arithmetic") {
  for (const auto& [iter, eval] :
       std::vector<std::pair<int, int>>{{20, 25}, {1, 1}, {3, 3}, {4, 5}, {7, 8}, {100, 125}}) {
    descend::LbfgsOptions o;
    o.max_iter = iter;
    CHECK(descend::Lbfgs<double>(o).max_eval() == eval);
  }
  descend::LbfgsOptions o;
  o.max_eval = 3;
  CHECK(descend::Lbfgs<float>(o).max_eval() == 3);
}

namespace {
template <class S = double>
std::string rejection(const descend::LbfgsOptions& o) {
  try {
    descend::Lbfgs<S> opt(o);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "accepted";
}
}  // namespace

TEST_CASE("Bad options are rejected naming the option and its value") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  descend::LbfgsOptions o;
  o.lr = -1;
  CHECK(rejection(o) == "descend::Lbfgs: lr = -1 must be >= 0");
  o.lr = nan;
  CHECK(rejection(o) == "descend::Lbfgs: lr = nan must be >= 0");
  o.lr = 1e39;
  CHECK(rejection<float>(o) ==
        "descend::Lbfgs: lr = 1e+39 overflows float (the optimizer's Scalar)");
  o = {};
  o.max_iter = 0;
  CHECK(rejection(o) == "descend::Lbfgs: max_iter = 0 must be >= 1");
  o = {};
  o.max_eval = 0;
  CHECK(rejection(o) == "descend::Lbfgs: max_eval = 0 must be >= 1");
  o = {};
  o.history_size = 0;
  CHECK(rejection(o) == "descend::Lbfgs: history_size = 0 must be >= 1");
  o = {};
  o.tolerance_grad = -1e-7;
  CHECK(rejection(o) == "descend::Lbfgs: tolerance_grad = -1e-07 must be >= 0");
  o = {};
  o.tolerance_change = inf;
  CHECK(rejection(o) == "descend::Lbfgs: tolerance_change = inf must be finite");
  o = {};
  o.line_search = static_cast<descend::LineSearch>(7);
  CHECK(rejection(o) ==
        "descend::Lbfgs: line_search must be LineSearch::none or LineSearch::strong_wolfe");
  CHECK(rejection(descend::LbfgsOptions{}) == "accepted");
}

TEST_CASE("Misuse is rejected with descend's messages") {
  auto quadratic = [](const Eigen::VectorXd& x, Eigen::VectorXd& g) {
    g = x;
    return 0.5 * x.squaredNorm();
  };
  SECTION("step() with nothing registered") {
    descend::Lbfgs<double> opt;
    CHECK_THROWS_WITH(opt.step([] { return 0.0; }),
                      "descend::Lbfgs: step() with no registered parameter");
  }
  SECTION("a gradient of another shape") {
    Eigen::VectorXd x(3), g(2);
    descend::Lbfgs<double> opt;
    CHECK_THROWS_AS(opt.add(x, g), descend::ShapeError);
    CHECK(opt.num_registered() == 0);
  }
  SECTION("a gradient that is its parameter, or shares memory with another pair") {
    Eigen::VectorXd x = Eigen::VectorXd::Ones(4), g(4), h(2);
    descend::Lbfgs<double> opt;
    CHECK_THROWS_WITH(opt.add(x, x),
                      "descend::Lbfgs: registered parameter #0: its gradient shares memory with "
                      "its parameter");
    opt.add(x, g);
    Eigen::Map<Eigen::VectorXd> tail(x.data() + 2, 2);
    CHECK_THROWS_AS(opt.add(tail, h), std::invalid_argument);
    CHECK(opt.num_registered() == 1);
  }
  SECTION("a registered Matrix resized after the first step") {
    Eigen::VectorXd x = Eigen::VectorXd::Ones(3), g(3);
    descend::Lbfgs<double> opt;
    opt.add(x, g);
    auto closure = [&] { return quadratic(x, g); };
    opt.step(closure);
    x = Eigen::VectorXd::Ones(5);
    CHECK_THROWS_WITH(opt.step(closure),
                      "descend::Lbfgs: the registered parameters hold 5 coefficients, the state "
                      "was made for 3: call reset() after changing them");
    opt.reset();
    opt.step(closure);
    CHECK(x.norm() < 1e-12);
  }
  SECTION("add() or step() from inside the closure") {
    Eigen::VectorXd x = Eigen::VectorXd::Ones(3), g(3), y(2), gy(2);
    descend::Lbfgs<double> opt;
    opt.add(x, g);
    CHECK_THROWS_WITH(opt.step([&] {
      opt.add(y, gy);
      return quadratic(x, g);
    }),
                      "descend::Lbfgs: add() inside step()'s closure");
    opt.reset();
    CHECK_THROWS_WITH(opt.step([&] { return opt.step([] { return 0.0; }); }),
                      "descend::Lbfgs: step() inside step()'s closure");
  }
}

TEST_CASE("A closure may assign a new gradient Matrix at each evaluation") {
  // g = x assigns into g's buffer; g = some VectorXd temporary moves a new
  // buffer into g: both are read where they are.
  Eigen::VectorXd x(3), g(3), xs(3), gs(3);
  x << 1, -2, 0.5;
  xs = x;
  descend::LbfgsOptions o;
  o.line_search = descend::LineSearch::strong_wolfe;
  descend::Lbfgs<double> a(o), b(o);
  a.add(x, g);
  b.add(xs, gs);
  const Eigen::Vector3d c(1, 10, 100);
  a.step([&] {
    g = c.cwiseProduct(x);
    return 0.5 * x.dot(c.cwiseProduct(x));
  });
  b.step([&] {
    gs = Eigen::VectorXd(c.cwiseProduct(xs));  // a moved-in buffer
    return 0.5 * xs.dot(c.cwiseProduct(xs));
  });
  CHECK(x == xs);
  CHECK(x.norm() < 1e-6);
}

namespace {
// f = rosenbrock minimized, and -f maximized: the closure returns -f and
// writes -g, exact negations, so the two runs are one run.
template <class S>
void check_maximize_is_minimize_of_negation(bool wolfe) {
  descend::LbfgsOptions o;
  o.history_size = 3;
  o.max_iter = 5;
  o.line_search = wolfe ? descend::LineSearch::strong_wolfe : descend::LineSearch::none;
  Rosenbrock<S> down, up;
  descend::Lbfgs<S> min_opt(o);
  o.maximize = true;
  descend::Lbfgs<S> max_opt(o);
  down.add_to(min_opt);
  up.add_to(max_opt);
  std::vector<Eigen::Matrix<S, 2, 1>> min_x, max_x;
  Eigen::Matrix<S, 2, 1> written;  // the gradient the maximized closure last wrote
  auto minimized = [&] {
    min_x.push_back(down.x);
    return down();
  };
  auto maximized = [&] {
    max_x.push_back(up.x);
    const S f = up();
    up.g = -up.g;  // the gradient of -f
    written = up.g;
    return -f;  // -f
  };
  for (int step = 0; step < 8; ++step) {
    const std::size_t before = max_x.size();
    const double min_loss = min_opt.step(minimized);
    const double max_loss = max_opt.step(maximized);
    REQUIRE(max_x.size() > before);
    // The closure's own value: -f at the step's first point, not f.
    Rosenbrock<S> first;
    first.x = max_x[before];
    CHECK(max_loss == double(-first()));
    CHECK(max_loss == -min_loss);
    // The registered gradient is left as the closure wrote it.
    CHECK(up.g == written);
    CHECK(max_opt.n_iter() == min_opt.n_iter());
    CHECK(max_opt.func_evals() == min_opt.func_evals());
    CHECK(max_opt.history_length() == min_opt.history_length());
    CHECK(max_opt.flat_grad() == min_opt.flat_grad());  // -(-g): g
  }
  CHECK(min_x.size() > 20);
  CHECK(max_x == min_x);
  CHECK(up.x == down.x);
}
}  // namespace

TEST_CASE("maximize on -f is the minimization of f, bit for bit") {
  for (const bool wolfe : {false, true}) {
    INFO((wolfe ? "strong_wolfe" : "no line search"));
    check_maximize_is_minimize_of_negation<double>(wolfe);
    check_maximize_is_minimize_of_negation<float>(wolfe);
  }
}

// Maximizing f = -(x - 3)^2 from x = 0, g = -2 (x - 3): the flat vector
// holds -g = 2 (x - 3); first iteration: d = g = 6, t = 1/6, x = 1 (as
// minimizing (x - 3)^2, derived as in the test above); second: Newton's step
// to x = 3, where g = 0.
TEST_CASE("maximize climbs to the maximum and returns the closure's values") {
  Eigen::Matrix<double, 1, 1> x(0.0), g;
  descend::LbfgsOptions o;
  o.maximize = true;
  descend::Lbfgs<double> opt(o);
  opt.add(x, g);
  std::vector<double> seen;
  auto closure = [&] {
    seen.push_back(x[0]);
    g[0] = -2 * (x[0] - 3);
    return -(x[0] - 3) * (x[0] - 3);
  };
  CHECK(opt.step(closure) == -9);
  CHECK(seen == std::vector<double>{0, 1, 3});
  CHECK(g[0] == 0);
  CHECK(opt.step(closure) == 0);  // at the maximum: one evaluation, no iteration
  CHECK(opt.func_evals() == 4);
}

TEST_CASE("Lbfgs is one parameter group whose lr schedules and set_lr() change") {
  descend::LbfgsOptions o;
  o.lr = 0.5;
  descend::Lbfgs<double> opt(o);
  descend::ParamGroups& groups = opt;
  CHECK(groups.num_groups() == 1);
  CHECK(groups.lr() == 0.5);
  groups.set_lr(0.25);
  CHECK(opt.options().lr == 0.25);
  groups.set_lr(0.125, 0);
  CHECK(opt.lr(0) == 0.125);
  CHECK(opt.momentum_name() == nullptr);
  // Validated as the constructor validates options.lr; a refused lr changes nothing.
  CHECK_THROWS_WITH(groups.set_lr(-1), "descend::Lbfgs: lr = -1 must be >= 0");
  CHECK_THROWS_WITH(groups.set_lr(std::numeric_limits<double>::quiet_NaN(), 0),
                    "descend::Lbfgs: lr = nan must be >= 0");
  CHECK(opt.lr() == 0.125);
  descend::Lbfgs<float> single;
  CHECK_THROWS_WITH(single.set_lr(1e39),
                    "descend::Lbfgs: lr = 1e+39 overflows float (the optimizer's Scalar)");
  CHECK(single.lr() == 1);
  CHECK_THROWS_AS(opt.lr(1), std::out_of_range);
  CHECK_THROWS_AS(opt.set_lr(0.1, 1), std::out_of_range);
  CHECK_THROWS_WITH(opt.momentum(0), Catch::Contains("no momentum"));
}

TEST_CASE("A cyclic schedule refuses to cycle the momentum L-BFGS does not have") {
  descend::Lbfgs<double> opt;
  descend::CyclicLROptions c;
  c.base_lr = 0.1;
  c.max_lr = 1;
  c.step_size_up = 4;
  CHECK_THROWS_WITH(descend::CyclicLR(opt, c),
                    Catch::Contains("cycle_momentum needs an update rule with momentum"));
  descend::OneCycleLROptions one;
  one.max_lr = 1;
  one.total_steps = 10;
  CHECK_THROWS_WITH(descend::OneCycleLR(opt, one),
                    "descend::OneCycleLR: cycle_momentum needs an update rule with momentum or "
                    "beta1; set cycle_momentum = false");
  CHECK(opt.lr() == 1);  // refused: nothing changed
  CHECK(std::isnan(opt.initial_lr(0)));
  c.cycle_momentum = false;
  descend::CyclicLR cyclic(opt, c);
  CHECK(opt.lr() == 0.1);
  cyclic.step();
  CHECK(opt.lr() == Approx(0.325).epsilon(1e-15));  // 0.1 + 0.9 / 4
}

TEST_CASE("Every kind of schedule drives an Lbfgs as it drives plain learning rates") {
  // A step schedule, a cyclic one and one fed step()'s loss, each on an
  // Lbfgs and on an LrGroups with the same lr: the same lrs at every step.
  descend::OneCycleLROptions one;
  one.max_lr = 0.8;
  one.total_steps = 6;
  one.cycle_momentum = false;
  descend::ReduceLROnPlateauOptions plateau;
  plateau.patience = 0;
  plateau.factor = 0.5;
  plateau.threshold = 0.5;  // only a halving of the loss counts as better
  descend::LbfgsOptions o;
  o.max_iter = 2;
  ExpFit<double> p;
  descend::Lbfgs<double> opt(o);
  p.add_to(opt);
  descend::LrGroups twin({1.0});
  descend::OneCycleLR cycle(opt, one), cycle_twin(twin, one);
  descend::CosineAnnealingLR cosine(opt, 5, 0.01), cosine_twin(twin, 5, 0.01);
  descend::ReduceLROnPlateau reduce(opt, plateau), reduce_twin(twin, plateau);
  std::vector<double> lrs;
  for (int step = 0; step < 6; ++step) {
    const double loss = opt.step(p);
    cycle.step(), cycle_twin.step();
    cosine.step(), cosine_twin.step();
    reduce.step(loss), reduce_twin.step(loss);
    CHECK(opt.lr() == twin.lr());
    lrs.push_back(opt.lr());
  }
  CHECK(std::count(lrs.begin(), lrs.end(), lrs.front()) == 1);  // it moved
  CHECK(reduce.base_lrs() == reduce_twin.base_lrs());
}

// torch reads group['lr'] once, when step() begins.
TEST_CASE("An lr set inside the closure applies from the next step()") {
  descend::LbfgsOptions o;
  o.max_iter = 4;
  Rosenbrock<double> a, b;
  descend::Lbfgs<double> inside(o), between(o);
  a.add_to(inside);
  b.add_to(between);
  std::vector<std::vector<double>> seen_a, seen_b;
  for (int step = 0; step < 3; ++step) {
    inside.step([&] {
      seen_a.push_back(a.flat());
      inside.set_lr(0.5 / (step + 1));
      return a();
    });
    between.step([&] {
      seen_b.push_back(b.flat());
      return b();
    });
    between.set_lr(0.5 / (step + 1));
  }
  CHECK(seen_a == seen_b);
  CHECK(seen_a.size() == 12);
}

TEST_CASE("zero_grad() zeroes every registered gradient") {
  Eigen::MatrixXd w(2, 2), gw = Eigen::MatrixXd::Ones(2, 2);
  Eigen::VectorXd v(3), gv = Eigen::VectorXd::Ones(3);
  descend::Lbfgs<double> opt;
  opt.add(w, gw);
  opt.add(v, gv);
  opt.zero_grad();
  CHECK(gw.isZero(0));
  CHECK(gv.isZero(0));
}
