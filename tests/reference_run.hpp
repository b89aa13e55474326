// Runs a reference case on any 2x3 parameter view and reports how far it
// strays from the reference trajectory.
#pragma once

#include <algorithm>
#include <cmath>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "catch.hpp"
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

// The trajectory files (toolkit.inc, adam_family.inc): several parameters,
// of the shapes a text such as "2x3 3x1 2x2" names, their coefficients
// row-major one after another; the gradient sign (c (x - x*) + 0.3 sin(2x));
// each step's row holds per parameter its values, then its buffers.

template <class Scalar>
using RowMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

inline std::vector<std::string> split(const std::string& text, const std::string& separator) {
  std::vector<std::string> parts;
  std::size_t begin = 0, end;
  while ((end = text.find(separator, begin)) != std::string::npos) {
    parts.push_back(text.substr(begin, end - begin));
    begin = end + separator.size();
  }
  parts.push_back(text.substr(begin));
  return parts;
}

inline std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

template <class Scalar>
std::vector<RowMatrix<Scalar>> matrices(const std::string& shapes) {
  std::vector<RowMatrix<Scalar>> out;
  for (const std::string& s : words(shapes)) {
    const auto x = s.find('x');
    out.emplace_back(std::stoi(s.substr(0, x)), std::stoi(s.substr(x + 1)));
  }
  return out;
}

// |actual - expected| / max(|expected|, floor), the largest over n values;
// NaN where a value is NaN (std::max alone would pass over it).
template <class Values>
double error(const Values& actual, const double* expected, Eigen::Index n, double floor) {
  double worst = 0;
  for (Eigen::Index k = 0; k < n; ++k) {
    const double e = std::abs(static_cast<double>(actual[k]) - expected[k]) /
                     std::max(std::abs(expected[k]), floor);
    if (std::isnan(e)) return e;
    worst = std::max(worst, e);
  }
  return worst;
}

// The optimizer's groups hold the buffers named, " | " between groups.
template <class Scalar>
void require_buffers(const descend::Optimizer<Scalar>& opt, const std::string& buffers) {
  const std::vector<std::string> groups = split(buffers, " | ");
  REQUIRE(opt.num_groups() == groups.size());
  for (std::size_t g = 0; g < groups.size(); ++g) REQUIRE(opt.buffer_names(g) == words(groups[g]));
}

// A trajectory file's parameters, their gradients and the field's constants,
// all allocated here, before add(): registered objects must stay where they are.
template <class Scalar>
struct TrajectoryProblem {
  std::vector<RowMatrix<Scalar>> params, grads, scale, target;

  TrajectoryProblem(const std::string& shapes, const double* x0, const double* c,
                    const double* x_star)
      : params(matrices<Scalar>(shapes)), grads(params), scale(params), target(params) {
    Eigen::Index offset = 0;
    for (std::size_t i = 0; i < params.size(); ++i) {
      for (Eigen::Index k = 0; k < params[i].size(); ++k) {
        params[i].data()[k] = static_cast<Scalar>(x0[offset + k]);
        scale[i].data()[k] = static_cast<Scalar>(c[offset + k]);
        target[i].data()[k] = static_cast<Scalar>(x_star[offset + k]);
      }
      offset += params[i].size();
    }
  }

  // Parameter i joins the group the i-th word of membership names.
  void add_to(descend::Optimizer<Scalar>& opt, const std::string& membership) {
    const std::vector<std::string> group = words(membership);
    REQUIRE(group.size() == params.size());
    for (std::size_t i = 0; i < params.size(); ++i)
      opt.add(params[i], grads[i], std::stoul(group[i]));
  }

  void gradients(double sign) {
    const Scalar s = static_cast<Scalar>(sign);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const auto x = params[i].array();
      grads[i] =
          s * (scale[i].array() * (x - target[i].array()) + Scalar(0.3) * (Scalar(2) * x).sin());
    }
  }
};

// Where a step's row strays most.
struct RowError {
  double worst = 0;
  std::size_t parameter = 0;
  std::string what;  // "values", or the buffer's name
};

inline std::ostream& operator<<(std::ostream& out, const RowError& e) {
  return out << "worst " << e.worst << " at parameter " << e.parameter << ", " << e.what;
}

// Compares each parameter's values, then its buffers, with the row from
// expected on; returns where the row ends.
template <class Scalar>
const double* compare_row(const descend::Optimizer<Scalar>& opt,
                          const std::vector<RowMatrix<Scalar>>& params, const double* expected,
                          double floor, RowError& e) {
  const auto note = [&](double error, std::size_t i, const std::string& what) {
    if (!std::isnan(e.worst) && (error > e.worst || std::isnan(error))) e = {error, i, what};
  };
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Eigen::Index n = params[i].size();
    note(error(params[i].data(), expected, n, floor), i, "values");
    expected += n;
    for (const std::string& name : opt.buffer_names(opt.group_of(params[i]))) {
      note(error(opt.state(params[i], name), expected, n, floor), i, name);
      expected += n;
    }
  }
  return expected;
}

}  // namespace testing
