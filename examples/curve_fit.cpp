// A scientific fit with L-BFGS: a damped oscillation
//   y = A exp(-lambda t) cos(omega t + phi)
// fitted by least squares (loss = mean of r^2 / 2) to noisy samples drawn
// with a seed, the parameters held as two Eigen vectors, (A, lambda) and
// (omega, phi). descend::Lbfgs (strong-Wolfe line search by default) runs
// step() until a step makes no more progress; Adam then starts from the same
// point and runs until its loss is within 0.1% of L-BFGS's, or its budget is
// spent. Each optimizer prints what it fitted, its final loss and how many
// times it evaluated the loss and gradient. `curve_fit --help` lists the flags.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "cli.hpp"
#include "descend/data/random.hpp"
#include "descend/descend.hpp"
#include "descend/optim/lbfgs.hpp"

namespace {

const double kTrue[4] = {2.0, 0.3, 2.0, 0.5};   // A, lambda, omega, phi
const double kStart[4] = {1.0, 0.1, 1.8, 0.0};  // where every optimizer starts

struct Data {
  std::vector<double> t, y;
};

Data damped_oscillation(int points, double noise, std::uint64_t seed) {
  descend::data::Random random(seed);
  Data d;
  for (int i = 0; i < points; ++i) {
    const double t = 10.0 * i / (points - 1);
    const double clean = kTrue[0] * std::exp(-kTrue[1] * t) * std::cos(kTrue[2] * t + kTrue[3]);
    d.t.push_back(t);
    d.y.push_back(clean + noise * random.normal());
  }
  return d;
}

// The model's parameters and gradients, and the loss that writes them.
struct Fit {
  explicit Fit(const Data& d) : data(d) {}

  const Data& data;
  Eigen::Vector2d envelope{kStart[0], kStart[1]}, wave{kStart[2], kStart[3]};
  Eigen::Vector2d d_envelope, d_wave;
  long evaluations = 0;

  double operator()() {
    ++evaluations;
    const double a = envelope[0], lambda = envelope[1], omega = wave[0], phi = wave[1];
    const double n = static_cast<double>(data.t.size());
    double loss = 0;
    d_envelope.setZero();
    d_wave.setZero();
    for (std::size_t i = 0; i < data.t.size(); ++i) {
      const double t = data.t[i];
      const double e = std::exp(-lambda * t), c = std::cos(omega * t + phi);
      const double s = std::sin(omega * t + phi);
      const double r = a * e * c - data.y[i];  // residual
      loss += r * r;
      d_envelope[0] += r * e * c;           // dr/dA
      d_envelope[1] += r * -t * a * e * c;  // dr/dlambda
      d_wave[0] += r * -t * a * e * s;      // dr/domega
      d_wave[1] += r * -a * e * s;          // dr/dphi
    }
    d_envelope /= n;
    d_wave /= n;
    return 0.5 * loss / n;
  }
  void print(const char* name, double loss) const {
    std::printf("%-6s A %.4f  lambda %.4f  omega %.4f  phi %.4f  loss %.6g  evaluations %ld\n",
                name, envelope[0], envelope[1], wave[0], wave[1], loss, evaluations);
  }
};

struct Settings {
  std::string optimizer = "both";
  std::uint64_t seed = 0;
  int points = 60;
  double noise = 0.05;
  std::string line_search = "strong_wolfe";
  int history = 10;
  double adam_lr = 0.01;
  long adam_budget = 100000;
};

// L-BFGS until a step() makes no iteration or no longer lowers the loss.
double run_lbfgs(Fit& fit, const Settings& s) {
  descend::LbfgsOptions o;
  o.max_iter = 100;
  o.history_size = s.history;
  o.line_search =
      s.line_search == "none" ? descend::LineSearch::none : descend::LineSearch::strong_wolfe;
  descend::Lbfgs<double> lbfgs(o);
  lbfgs.add(fit.envelope, fit.d_envelope);
  lbfgs.add(fit.wave, fit.d_wave);
  double before = std::numeric_limits<double>::infinity();
  int steps = 0;
  while (steps < 50) {
    const std::int64_t iterations = lbfgs.n_iter();
    const double loss = lbfgs.step([&] { return fit(); });
    ++steps;
    if (lbfgs.n_iter() == iterations || !(loss < before)) break;
    before = loss;
  }
  const double loss = fit();  // at the final parameters (not counted)
  --fit.evaluations;
  fit.print("lbfgs", loss);
  std::printf("       %d step() calls, %lld iterations, line search %s\n", steps,
              static_cast<long long>(lbfgs.n_iter()), s.line_search.c_str());
  return loss;
}

// Adam until its loss is at most `target` (one evaluation per step), or,
// with target 0, for its whole budget.
double run_adam(Fit& fit, const Settings& s, double target) {
  descend::AdamOptions o;
  o.lr = s.adam_lr;
  descend::Adam<double> adam(o);
  adam.add(fit.envelope, fit.d_envelope);
  adam.add(fit.wave, fit.d_wave);
  double loss = fit();
  while (loss > target && fit.evaluations < s.adam_budget) {
    adam.step();
    loss = fit();
  }
  fit.print("adam", loss);
  if (target == 0)
    std::printf("       ran its budget of %ld evaluations (lr %g)\n", fit.evaluations, s.adam_lr);
  else if (loss <= target)
    std::printf("       reached L-BFGS's loss within 0.1%% after %ld evaluations (lr %g)\n",
                fit.evaluations, s.adam_lr);
  else
    std::printf("       did not reach L-BFGS's loss within 0.1%% in %ld evaluations (lr %g)\n",
                fit.evaluations, s.adam_lr);
  return loss;
}

int curve_fit(const Settings& s) {
  const Data data = damped_oscillation(s.points, s.noise, s.seed);
  std::printf(
      "y = A exp(-lambda t) cos(omega t + phi) + N(0, %g^2), %d points on [0, 10], "
      "seed %llu\n",
      s.noise, s.points, static_cast<unsigned long long>(s.seed));
  std::printf("true   A %.4f  lambda %.4f  omega %.4f  phi %.4f\n", kTrue[0], kTrue[1], kTrue[2],
              kTrue[3]);
  std::printf("start  A %.4f  lambda %.4f  omega %.4f  phi %.4f\n", kStart[0], kStart[1], kStart[2],
              kStart[3]);
  double target = 0;  // Adam alone: run its budget out
  if (s.optimizer != "adam") {
    Fit fit(data);
    target = run_lbfgs(fit, s) * 1.001;
  }
  if (s.optimizer != "lbfgs") {
    Fit fit(data);
    run_adam(fit, s, target);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  example::Cli cli("Fits a damped oscillation with L-BFGS, and with Adam for comparison.",
                   "curve_fit");
  Settings s;
  cli.add_choice("--optimizer", s.optimizer, {"lbfgs", "adam", "both"}, "lbfgs, adam or both");
  cli.add_number("--seed", s.seed, std::uint64_t{0}, std::numeric_limits<std::uint64_t>::max(),
                 "draws the noise");
  cli.add_number("--points", s.points, 2, 1000000, "samples on [0, 10]");
  cli.add_number("--noise", s.noise, 0.0, 1e6, "standard deviation of the noise");
  cli.add_choice("--line-search", s.line_search, {"strong_wolfe", "none"},
                 "L-BFGS's line search: strong_wolfe or none");
  cli.add_number("--history", s.history, 1, 100000, "L-BFGS's history_size");
  cli.add_number("--adam-lr", s.adam_lr, "Adam's learning rate");
  cli.add_number("--adam-budget", s.adam_budget, 1L, 1000000000L, "Adam's most evaluations");
  return cli.run(argc, argv, [&] { return curve_fit(s); });
}
