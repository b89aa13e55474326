// Fits y = a x^2 + b x + c to 200 noisy samples by least squares, once with
// each optimizer, driving them the PyTorch way: register (parameter, gradient)
// once, then zero_grad(), compute the gradient, step(). It takes no flags but
// --help.
#include <Eigen/Core>
#include <Eigen/QR>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "descend/descend.hpp"

namespace {

struct Data {
  Eigen::MatrixXd features;  // n x 3: x^2, x, 1
  Eigen::VectorXd y;
};

Data make_data(int n) {
  Data d{Eigen::MatrixXd(n, 3), Eigen::VectorXd(n)};
  for (int i = 0; i < n; ++i) {
    const double x = -2.0 + 4.0 * i / (n - 1);
    const double noise = 0.05 * std::sin(12.9898 * i);  // deterministic "noise"
    d.features.row(i) << x * x, x, 1.0;
    d.y(i) = 2.0 * x * x - 3.0 * x + 0.5 + noise;
  }
  return d;
}

struct Run {
  std::string name;
  std::unique_ptr<descend::Optimizer<double>> optimizer;
  int steps;
};

// Fits with each optimizer; 0 when all come within 0.05 of the exact solution.
int fit_all() {
  const Data data = make_data(200);
  // The exact least-squares solution, to judge the optimizers against.
  const Eigen::Vector3d best = data.features.colPivHouseholderQr().solve(data.y);

  std::vector<Run> runs;
  {
    descend::SgdOptions o;
    o.lr = 0.05;
    o.momentum = 0.9;
    runs.push_back({"sgd+momentum", std::make_unique<descend::Sgd<double>>(o), 2000});
  }
  {
    descend::AdagradOptions o;
    o.lr = 0.5;
    runs.push_back({"adagrad", std::make_unique<descend::Adagrad<double>>(o), 2000});
  }
  {
    descend::RmspropOptions o;
    o.lr = 0.01;
    o.decay = 1e-3;
    runs.push_back({"rmsprop", std::make_unique<descend::Rmsprop<double>>(o), 2000});
  }
  {
    descend::AdadeltaOptions o;
    o.rho = 0.95;
    runs.push_back({"adadelta", std::make_unique<descend::Adadelta<double>>(o), 2000});
  }
  {
    descend::AdamOptions o;
    o.lr = 0.05;
    runs.push_back({"adam", std::make_unique<descend::Adam<double>>(o), 2000});
  }

  std::printf("least squares: a = %.4f, b = %.4f, c = %.4f\n", best(0), best(1), best(2));
  std::printf("%-14s %8s %10s %10s %10s %12s\n", "optimizer", "steps", "a", "b", "c",
              "|theta-best|");
  bool all_close = true;
  for (Run& run : runs) {
    Eigen::Vector3d theta = Eigen::Vector3d::Zero();
    Eigen::Vector3d grad;
    run.optimizer->add(theta, grad);
    const double n = static_cast<double>(data.y.size());
    for (int t = 0; t < run.steps; ++t) {
      run.optimizer->zero_grad();
      // d/dtheta of mean((X theta - y)^2) = 2/n X^T (X theta - y)
      grad.noalias() += (2.0 / n) * data.features.transpose() * (data.features * theta - data.y);
      run.optimizer->step();
    }
    const double error = (theta - best).norm();
    all_close = all_close && error < 0.05;
    std::printf("%-14s %8d %10.4f %10.4f %10.4f %12.2e\n", run.name.c_str(), run.steps, theta(0),
                theta(1), theta(2), error);
  }
  if (!all_close) {
    std::printf("some optimizers did not reach the least-squares solution\n");
    return 1;
  }
  std::printf("all optimizers recovered the coefficients\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  example::Cli cli("Fits a quadratic by least squares with every optimizer, PyTorch's way.",
                   "quadratic");
  return cli.run(argc, argv, fit_all);
}
