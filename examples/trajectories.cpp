// The Paddle NNDL book's optimizer trajectories (the PaddlePaddle practice
// companion of Qiu Xipeng's "Neural Networks and Deep Learning") on two 2-D
// functions, with the book's hyper-parameters and conventions (eps = 1e-7
// inside the square root, the learning rate inside the momentum):
//   sphere  f = 0.2 x0^2 + 2 x1^2   (w^T x^2, w = (0.2, 2)) from (3, 4)
//   saddle  f = x0^2 + x1^2 + x1^3 + x0 x1                  from (2, 3), 150 steps
// Writes DIR/sphere.csv and DIR/saddle.csv with columns
// problem,optimizer,step,x0,x1,f (step 0 is the start). A trajectory stops at
// its first non-finite value and is reported as diverged. `trajectories
// --help` lists the flags.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "descend/descend.hpp"

namespace {

using Point = Eigen::Vector2d;

struct Problem {
  std::string name;
  Point start;
  std::function<double(const Point&)> f;
  std::function<Point(const Point&)> grad;
};

struct Run {
  std::string optimizer;
  std::unique_ptr<descend::Optimizer<double>> make;
  int steps;
};

constexpr double kEps = 1e-7;

std::unique_ptr<descend::Optimizer<double>> sgd(double lr) {
  descend::SgdOptions o;
  o.lr = lr;
  return std::make_unique<descend::Sgd<double>>(o);
}
std::unique_ptr<descend::Optimizer<double>> adagrad(double lr) {
  descend::AdagradOptions o;
  o.lr = lr, o.eps = kEps, o.eps_placement = descend::EpsPlacement::inside_sqrt;
  return std::make_unique<descend::Adagrad<double>>(o);
}
std::unique_ptr<descend::Optimizer<double>> rmsprop(double lr, double beta) {
  descend::RmspropOptions o;
  o.lr = lr, o.alpha = beta, o.eps = kEps, o.eps_placement = descend::EpsPlacement::inside_sqrt;
  return std::make_unique<descend::Rmsprop<double>>(o);
}
std::unique_ptr<descend::Optimizer<double>> momentum(double lr, double rho) {
  descend::SgdOptions o;
  o.lr = lr, o.momentum = rho, o.momentum_style = descend::MomentumStyle::lr_inside;
  return std::make_unique<descend::Sgd<double>>(o);
}
std::unique_ptr<descend::Optimizer<double>> adam(double lr, double beta1, double beta2) {
  descend::AdamOptions o;
  o.lr = lr, o.beta1 = beta1, o.beta2 = beta2, o.eps = kEps;
  o.eps_placement = descend::EpsPlacement::inside_sqrt;
  return std::make_unique<descend::Adam<double>>(o);
}

void trace(const Problem& problem, std::vector<Run> runs, const std::string& path) {
  std::ofstream out = example::open_csv(path, "problem,optimizer,step,x0,x1,f");
  const auto row = [&](const Run& run, int step, const Point& x, double f) {
    out << problem.name << ',' << run.optimizer << ',' << step << ',' << example::exact(x(0)) << ','
        << example::exact(x(1)) << ',' << example::exact(f) << '\n';
  };
  std::printf("%s (start (%g, %g), f = %g)\n", problem.name.c_str(), problem.start(0),
              problem.start(1), problem.f(problem.start));
  for (Run& run : runs) {
    Point x = problem.start;
    row(run, 0, x, problem.f(x));
    int diverged_at = 0;
    for (int step = 1; step <= run.steps; ++step) {
      run.make->update(x, problem.grad(x));
      const double f = problem.f(x);
      if (!x.allFinite() || !std::isfinite(f)) {
        diverged_at = step;
        break;
      }
      row(run, step, x, f);
    }
    if (diverged_at)
      std::printf("  %-9s diverged at step %d\n", run.optimizer.c_str(), diverged_at);
    else
      std::printf("  %-9s %3d steps  x = (%10.4g, %10.4g)  f = %.6g\n", run.optimizer.c_str(),
                  run.steps, x(0), x(1), problem.f(x));
  }
  example::close_csv(out, path);
}

// The book's two problems, each with its five runs.
int trace_book_runs(const std::string& dir) {
  const Problem sphere{"sphere", Point(3, 4),
                       [](const Point& x) { return 0.2 * x(0) * x(0) + 2 * x(1) * x(1); },
                       [](const Point& x) { return Point(0.4 * x(0), 4 * x(1)); }};
  const Problem saddle{
      "saddle", Point(2, 3),
      [](const Point& x) { return x(0) * x(0) + x(1) * x(1) + x(1) * x(1) * x(1) + x(0) * x(1); },
      [](const Point& x) { return Point(2 * x(0) + x(1), 2 * x(1) + 3 * x(1) * x(1) + x(0)); }};

  std::vector<Run> sphere_runs;
  sphere_runs.push_back({"sgd", sgd(0.2), 20});
  sphere_runs.push_back({"adagrad", adagrad(0.5), 50});
  sphere_runs.push_back({"rmsprop", rmsprop(0.1, 0.9), 50});
  sphere_runs.push_back({"momentum", momentum(0.01, 0.9), 50});
  sphere_runs.push_back({"adam", adam(0.2, 0.9, 0.99), 20});
  trace(sphere, std::move(sphere_runs), dir + "/sphere.csv");

  std::vector<Run> saddle_runs;
  saddle_runs.push_back({"sgd", sgd(0.01), 150});
  saddle_runs.push_back({"adagrad", adagrad(0.5), 150});
  saddle_runs.push_back({"rmsprop", rmsprop(0.1, 0.9), 150});
  saddle_runs.push_back({"momentum", momentum(0.01, 0.9), 150});
  saddle_runs.push_back({"adam", adam(0.1, 0.9, 0.99), 150});
  trace(saddle, std::move(saddle_runs), dir + "/saddle.csv");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  example::Cli cli("Traces the Paddle NNDL book's optimizers on a sphere and a saddle.",
                   "trajectories");
  std::string dir = ".";
  cli.add_string("--out-dir", dir, "DIR", "write sphere.csv and saddle.csv into DIR");
  return cli.run(argc, argv, [&] { return trace_book_runs(dir); });
}
