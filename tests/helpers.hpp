// Shared by the tests: the reference problem, and optimizers built from the
// option strings of tests/reference/generate.py.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "descend/descend.hpp"

namespace testing {

struct ReferenceCase {
  const char* optimizer;
  const char* options;
  double trajectory[50][6];
};

inline const std::vector<ReferenceCase>& reference_cases() {
  static const std::vector<ReferenceCase> cases = {
#include "reference/trajectories.inc"
  };
  return cases;
}

// The reference problem of generate.py: x in R^6, g = c (x - x*) + 0.3 sin(2x).
inline const double kX0[6] = {1.5, -0.8, 0.3, -2.0, 0.05, 1.1};
inline const double kC[6] = {1.0, 3.0, 0.5, 2.0, 10.0, 0.1};
inline const double kXStar[6] = {0.5, 0.2, -0.4, 0.1, -0.3, 0.7};

// Coefficient k of the reference problem sits at param(k % rows, k / rows)
// for a column-major view; the optimizer is element-wise, so any fixed
// assignment of coefficients to positions works if grad uses the same one.
template <class X>
auto reference_gradient(const Eigen::DenseBase<X>& x, const Eigen::DenseBase<X>& c,
                        const Eigen::DenseBase<X>& x_star) {
  return (c.derived().array() * (x.derived().array() - x_star.derived().array()) +
          0.3 * (2 * x.derived().array()).sin());
}

using Options = std::map<std::string, std::string>;

inline Options parse_options(const std::string& text) {
  Options options;
  std::istringstream in(text);
  std::string item;
  while (in >> item) {
    const auto eq = item.find('=');
    options[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return options;
}

inline double number(const Options& o, const std::string& key, double fallback) {
  const auto it = o.find(key);
  return it == o.end() ? fallback : std::stod(it->second);
}
inline bool flag(const Options& o, const std::string& key, bool fallback = false) {
  return number(o, key, fallback) != 0;
}
inline descend::EpsPlacement eps_at(const Options& o, descend::EpsPlacement fallback) {
  const auto it = o.find("eps_at");
  if (it == o.end()) return fallback;
  return it->second == "inside" ? descend::EpsPlacement::inside_sqrt
                                : descend::EpsPlacement::outside_sqrt;
}
inline descend::MomentumStyle style(const Options& o) {
  const auto it = o.find("style");
  return it != o.end() && it->second == "inside" ? descend::MomentumStyle::lr_inside
                                                 : descend::MomentumStyle::lr_outside;
}

// The fields Adam and its family share, read over `s` (a key the text leaves
// out keeps s's value).
template <class AdamLike>
void read_adam_like(const Options& o, AdamLike& s) {
  s.lr = number(o, "lr", s.lr);
  s.beta1 = number(o, "beta1", s.beta1);
  s.beta2 = number(o, "beta2", s.beta2);
  s.eps = number(o, "eps", s.eps);
  s.weight_decay = number(o, "weight_decay", s.weight_decay);
  s.maximize = flag(o, "maximize", s.maximize);
}

template <class Scalar>
std::unique_ptr<descend::Optimizer<Scalar>> make_optimizer(const std::string& name,
                                                           const std::string& text) {
  const Options o = parse_options(text);
  if (name == "sgd") {
    descend::SgdOptions s;
    s.lr = number(o, "lr", s.lr);
    s.momentum = number(o, "momentum", s.momentum);
    s.dampening = number(o, "dampening", s.dampening);
    s.nesterov = flag(o, "nesterov");
    s.weight_decay = number(o, "weight_decay", s.weight_decay);
    s.decay = number(o, "decay", s.decay);
    s.momentum_style = style(o);
    return std::make_unique<descend::Sgd<Scalar>>(s);
  }
  if (name == "adagrad") {
    descend::AdagradOptions s;
    s.lr = number(o, "lr", s.lr);
    s.lr_decay = number(o, "lr_decay", s.lr_decay);
    s.weight_decay = number(o, "weight_decay", s.weight_decay);
    s.initial_accumulator_value = number(o, "initial_accumulator_value", 0);
    s.eps = number(o, "eps", s.eps);
    s.decay = number(o, "decay", s.decay);
    s.eps_placement = eps_at(o, s.eps_placement);
    return std::make_unique<descend::Adagrad<Scalar>>(s);
  }
  if (name == "rmsprop") {
    descend::RmspropOptions s;
    s.lr = number(o, "lr", s.lr);
    s.alpha = number(o, "alpha", s.alpha);
    s.eps = number(o, "eps", s.eps);
    s.weight_decay = number(o, "weight_decay", s.weight_decay);
    s.momentum = number(o, "momentum", s.momentum);
    s.centered = flag(o, "centered");
    s.decay = number(o, "decay", s.decay);
    s.eps_placement = eps_at(o, s.eps_placement);
    s.momentum_style = style(o);
    return std::make_unique<descend::Rmsprop<Scalar>>(s);
  }
  if (name == "adadelta") {
    descend::AdadeltaOptions s;
    s.lr = number(o, "lr", s.lr);
    s.rho = number(o, "rho", s.rho);
    s.eps = number(o, "eps", s.eps);
    s.weight_decay = number(o, "weight_decay", s.weight_decay);
    s.decay = number(o, "decay", s.decay);
    s.eps_placement = eps_at(o, s.eps_placement);
    return std::make_unique<descend::Adadelta<Scalar>>(s);
  }
  auto adam_like = [&](auto s) {
    read_adam_like(o, s);
    s.amsgrad = flag(o, "amsgrad");
    s.decay = number(o, "decay", s.decay);
    s.eps_placement = eps_at(o, s.eps_placement);
    return s;
  };
  if (name == "adamw")
    return std::make_unique<descend::AdamW<Scalar>>(adam_like(descend::AdamWOptions{}));
  if (name == "adam") {
    descend::AdamOptions s = adam_like(descend::AdamOptions{});
    s.decoupled_weight_decay = flag(o, "decoupled");
    return std::make_unique<descend::Adam<Scalar>>(s);
  }
  throw std::invalid_argument("unknown optimizer " + name);
}

// The options a text names over `s`, for the optimizers make_optimizer does
// not build (the keys of generate_adam_family.py, generate_rprop_asgd_lion.py
// and checkpoint_interop.py): a key the text leaves out keeps s's value.
inline void read_options(const Options& o, descend::NadamOptions& s) {
  read_adam_like(o, s);
  s.decoupled_weight_decay = flag(o, "decoupled", s.decoupled_weight_decay);
  s.momentum_decay = number(o, "momentum_decay", s.momentum_decay);
}
inline void read_options(const Options& o, descend::RadamOptions& s) {
  read_adam_like(o, s);
  s.decoupled_weight_decay = flag(o, "decoupled", s.decoupled_weight_decay);
}
inline void read_options(const Options& o, descend::AdamaxOptions& s) { read_adam_like(o, s); }
inline void read_options(const Options& o, descend::RpropOptions& s) {
  s.lr = number(o, "lr", s.lr);
  s.etaminus = number(o, "etaminus", s.etaminus);
  s.etaplus = number(o, "etaplus", s.etaplus);
  s.step_size_min = number(o, "step_size_min", s.step_size_min);
  s.step_size_max = number(o, "step_size_max", s.step_size_max);
  s.maximize = flag(o, "maximize", s.maximize);
}
inline void read_options(const Options& o, descend::AsgdOptions& s) {
  s.lr = number(o, "lr", s.lr);
  s.lambd = number(o, "lambd", s.lambd);
  s.alpha = number(o, "alpha", s.alpha);
  s.t0 = number(o, "t0", s.t0);
  s.weight_decay = number(o, "weight_decay", s.weight_decay);
  s.maximize = flag(o, "maximize", s.maximize);
}
inline void read_options(const Options& o, descend::LionOptions& s) {
  s.lr = number(o, "lr", s.lr);
  s.beta1 = number(o, "beta1", s.beta1);
  s.beta2 = number(o, "beta2", s.beta2);
  s.weight_decay = number(o, "weight_decay", s.weight_decay);
  s.maximize = flag(o, "maximize", s.maximize);
}
// The same over the defaults.
template <class OptionsType>
OptionsType options_from(const std::string& text) {
  OptionsType s;
  read_options(parse_options(text), s);
  return s;
}

// The optimizer an options type belongs to.
template <class Scalar, class Options>
std::unique_ptr<descend::Optimizer<Scalar>> make_for(const Options& o) {
  using namespace descend;
  if constexpr (std::is_same<Options, NadamOptions>::value)
    return std::make_unique<Nadam<Scalar>>(o);
  else if constexpr (std::is_same<Options, RadamOptions>::value)
    return std::make_unique<Radam<Scalar>>(o);
  else if constexpr (std::is_same<Options, AdamaxOptions>::value)
    return std::make_unique<Adamax<Scalar>>(o);
  else if constexpr (std::is_same<Options, AsgdOptions>::value)
    return std::make_unique<Asgd<Scalar>>(o);
  else if constexpr (std::is_same<Options, LionOptions>::value)
    return std::make_unique<Lion<Scalar>>(o);
  else {
    static_assert(std::is_same<Options, RpropOptions>::value, "make_for: an options type it knows");
    return std::make_unique<Rprop<Scalar>>(o);
  }
}

template <class Scalar>
using Maker = std::function<std::unique_ptr<descend::Optimizer<Scalar>>()>;

// Every kernel of descend::precompiled, with each option that changes its
// arithmetic (test_isa, test_arena): the reference cases' option sets (SGD
// to AdamW) and the other optimizers with their defaults, weight decay and
// maximize (which scales the gradient, the out-of-line path).
template <class Scalar>
std::vector<std::pair<std::string, Maker<Scalar>>> every_kernel() {
  std::vector<std::pair<std::string, Maker<Scalar>>> out;
  for (const auto& c : reference_cases()) {
    const std::string name = c.optimizer, options = c.options;
    out.push_back({name + " " + options,
                   [name, options] { return make_optimizer<Scalar>(name, options); }});
  }
  out.push_back({"sgd maximize", [] {
                   descend::SgdOptions o;
                   o.lr = 0.01;
                   o.momentum = 0.9;
                   o.maximize = true;
                   return std::make_unique<descend::Sgd<Scalar>>(o);
                 }});
  auto add = [&out](const std::string& name, auto options) {
    using Options = decltype(options);
    out.push_back({name, [options] { return make_for<Scalar>(options); }});
    Options decays = options;
    decays.weight_decay = 0.1;
    out.push_back({name + " weight_decay", [decays] {
                     return make_for<Scalar>(decays);
                   }});
    Options maximizes = options;
    maximizes.maximize = true;
    out.push_back({name + " maximize", [maximizes] {
                     return make_for<Scalar>(maximizes);
                   }});
  };
  add("nadam", descend::NadamOptions{});
  add("radam", descend::RadamOptions{});
  add("adamax", descend::AdamaxOptions{});
  add("asgd", descend::AsgdOptions{});
  add("lion", descend::LionOptions{});
  descend::RpropOptions rprop;
  out.push_back({"rprop", [rprop] { return make_for<Scalar>(rprop); }});
  rprop.maximize = true;
  out.push_back({"rprop maximize", [rprop] { return make_for<Scalar>(rprop); }});
  return out;
}

// The learning rate a reference case switches to before update 26, or < 0.
inline double lr_at_25(const ReferenceCase& c) {
  return number(parse_options(c.options), "lr_at_25", -1);
}

// Largest |a - b| / max(|b|, floor) over a trajectory row.
inline double relative_error(const double* expected, const double* actual, int n,
                             double floor = 1e-3) {
  double worst = 0;
  for (int k = 0; k < n; ++k)
    worst =
        std::max(worst, std::abs(actual[k] - expected[k]) / std::max(std::abs(expected[k]), floor));
  return worst;
}

}  // namespace testing
