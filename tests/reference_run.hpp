// Runs a reference case on any 2x3 parameter view and reports how far it
// strays from the reference trajectory.
#pragma once

#include "helpers.hpp"

namespace testing {

enum class GradientForm { evaluated, expression };

// Coefficient k of the reference problem lives at (k % 2, k / 2) of a 2x3 view.
template <class Param>
void set_reference_start(Param&& param) {
  for (int k = 0; k < 6; ++k)
    param(k % 2, k / 2) = static_cast<typename std::decay_t<Param>::Scalar>(kX0[k]);
}

template <class Scalar>
constexpr double error_floor();

template <class Scalar, class Param>
double run_reference(descend::Optimizer<Scalar>& opt, Param&& param, const ReferenceCase& c,
                     GradientForm form = GradientForm::evaluated) {
  using Array = Eigen::Array<Scalar, 2, 3>;
  Array scale, target;
  for (int k = 0; k < 6; ++k) {
    scale(k % 2, k / 2) = static_cast<Scalar>(kC[k]);
    target(k % 2, k / 2) = static_cast<Scalar>(kXStar[k]);
  }
  set_reference_start(param);
  const double new_lr = lr_at_25(c);
  double worst = 0;
  for (int t = 1; t <= 50; ++t) {
    if (t == 26 && new_lr >= 0) opt.set_lr(new_lr);
    auto&& x = param.array();
    if (form == GradientForm::expression) {
      opt.update(param, scale * (x - target) + Scalar(0.3) * (Scalar(2) * x).sin());
    } else {
      const Array g = scale * (x - target) + Scalar(0.3) * (Scalar(2) * x).sin();
      opt.update(param, g);
    }
    double actual[6];
    for (int k = 0; k < 6; ++k) actual[k] = static_cast<double>(param(k % 2, k / 2));
    worst = std::max(worst, relative_error(c.trajectory[t - 1], actual, 6, error_floor<Scalar>()));
  }
  return worst;
}

// Double must match the double reference to 1e-12 relative (|x| below 1e-3
// counts as 1e-3). Float runs stray by rounding, and the gradient
// c (x - x*) loses digits as x nears x*, which Adam's normalisation turns into
// O(1) relative changes of tiny steps: the worst deviation over all cases,
// measured, is 9e-6 absolute on parameters of size O(1). Float therefore
// compares |error| / max(|x|, 1) against 5e-5: a 5x margin, and 100x below
// the smallest step-size difference the cases distinguish (lr 0.05 vs 0.01).
template <class Scalar>
constexpr double reference_tolerance() {
  return std::is_same<Scalar, float>::value ? 5e-5 : 1e-12;
}
template <class Scalar>
constexpr double error_floor() {
  return std::is_same<Scalar, float>::value ? 1.0 : 1e-3;
}

}  // namespace testing
