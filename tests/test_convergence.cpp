// Every optimizer, in float and double, reaches the minimum of a convex
// quadratic and of the Rosenbrock function from a standard start. Adaptive
// methods take steps of size ~lr even near the minimum, so most settings decay
// the learning rate to settle.
#include "catch.hpp"

#include "helpers.hpp"

namespace {

// f(x) = 1/2 sum_i h_i (x_i - 1)^2 with curvatures 1 .. 10; minimum 0 at x = 1.
template <class Scalar>
double quadratic_after(descend::Optimizer<Scalar>& opt, int steps) {
  using Vector = Eigen::Matrix<Scalar, 8, 1>;
  const Vector h = Vector::LinSpaced(1, 10);
  Vector x = Vector::LinSpaced(-3, 3);
  for (int t = 0; t < steps; ++t) opt.update(x, h.cwiseProduct(x - Vector::Ones()));
  return 0.5 * (h.array() * (x.array() - 1).square()).template cast<double>().sum();
}

// f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 from (-1.5, 2); minimum 0 at (1, 1).
template <class Scalar>
double rosenbrock_after(descend::Optimizer<Scalar>& opt, int steps) {
  Eigen::Matrix<Scalar, 2, 1> p(-1.5, 2.0);
  for (int t = 0; t < steps; ++t) {
    const Scalar x = p(0), y = p(1);
    const Eigen::Matrix<Scalar, 2, 1> g(-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x));
    opt.update(p, g);
  }
  const double x = p(0), y = p(1);
  return (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x);
}

struct Setting {
  const char* optimizer;
  const char* options;
  int steps;
};

}  // namespace

TEMPLATE_TEST_CASE("every optimizer minimises a convex quadratic", "[convergence]", float, double) {
  const Setting settings[] = {
      {"sgd", "lr=0.1", 300},
      {"sgd", "lr=0.05 momentum=0.9 nesterov=1", 300},
      {"adagrad", "lr=0.5", 2000},
      {"rmsprop", "lr=0.05 decay=0.01", 5000},
      {"rmsprop", "lr=0.02 centered=1 momentum=0.5 decay=0.002", 5000},
      {"adadelta", "lr=1", 6000},
      {"adam", "lr=0.05 decay=0.005", 3000},
      {"adam", "lr=0.05 amsgrad=1 decay=0.005", 3000},
      {"adamw", "lr=0.05 weight_decay=0 decay=0.005", 3000},
  };
  for (const Setting& s : settings) {
    auto opt = testing::make_optimizer<TestType>(s.optimizer, s.options);
    INFO(s.optimizer << " " << s.options);
    CHECK(quadratic_after(*opt, s.steps) < 1e-6);
  }
}

TEMPLATE_TEST_CASE("every optimizer minimises the Rosenbrock function", "[convergence]", float,
                   double) {
  const Setting settings[] = {
      {"sgd", "lr=0.0005 momentum=0.9", 20000},    {"adagrad", "lr=0.5", 20000},
      {"rmsprop", "lr=0.002 decay=0.0005", 20000}, {"adadelta", "lr=2 rho=0.95 decay=0.001", 50000},
      {"adam", "lr=0.01 decay=0.0005", 20000},     {"adam", "lr=0.01 amsgrad=1", 20000},
  };
  for (const Setting& s : settings) {
    auto opt = testing::make_optimizer<TestType>(s.optimizer, s.options);
    INFO(s.optimizer << " " << s.options);
    CHECK(rosenbrock_after(*opt, s.steps) < 1e-3);  // from f = 12.5
  }
}
