// The training toolkit and L-BFGS, for tools/check_native_warnings.sh: every
// gradient transform (clipping by each norm, by value, per parameter, the
// non-finite guard), a schedule and L-BFGS, in float and double, compiled as
// a user building with -march=native -Werror would.
#include <Eigen/Core>
#include <cmath>

#include "descend/training.hpp"

namespace {

template <class Scalar>
Scalar train() {
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  Matrix w = Matrix::Ones(4, 3), g = Matrix::Constant(4, 3, Scalar(0.5));
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> b = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>::Ones(5);
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> db = b;
  descend::Adam<Scalar> opt;
  opt.add(w, g);
  opt.add(b, db);
  for (const double p : {1.0, 2.0, 3.0, double(INFINITY)})
    opt.add_transform(descend::ClipGradNorm{1.0, p});
  opt.add_transform(descend::ClipGradValue{0.25});
  opt.add_transform(descend::ClipNormPerParameter{0.5});
  opt.add_transform(descend::NonFiniteGuard{});
  descend::StepLR schedule(opt, 2, 0.5);
  for (int k = 0; k < 3; ++k) {
    if (opt.step().applied) schedule.step();
  }

  descend::Lbfgs<Scalar> lbfgs;
  Eigen::Matrix<Scalar, 2, 1> x(Scalar(-1.2), Scalar(1)), dx;
  lbfgs.add(x, dx);
  const auto rosenbrock = [&] {
    const Scalar a = 1 - x(0), c = x(1) - x(0) * x(0);
    dx << -2 * a - 400 * x(0) * c, 200 * c;
    return a * a + 100 * c * c;
  };
  return w(0, 0) + b(0) + static_cast<Scalar>(lbfgs.step(rosenbrock));
}

}  // namespace

double toolkit_float() { return train<float>(); }
double toolkit_double() { return train<double>(); }
