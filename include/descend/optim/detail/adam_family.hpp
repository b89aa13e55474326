// What Adam, NAdam, RAdam, Adamax and Lion share around their kernels: the
// checks of the options they have in common, the options a checkpoint stores
// first, a group's constants, and the key under which parameters at the same
// step share their bias corrections. Each update rule, with its equations,
// stays in its own header.
#pragma once

#include <cstddef>
#include <cstdint>

#include "descend/optim/errors.hpp"
#include "descend/optim/state_fields.hpp"

namespace descend {
namespace detail {

// beta1 and beta2 in [0, 1), as PyTorch checks them.
inline void check_betas(const Check& check, double beta1, double beta2) {
  check.in_range("beta1", beta1, 0, 1, true);
  check.in_range("beta2", beta2, 0, 1, true);
}

// The betas, eps > 0 and weight_decay >= 0, both finite once rounded to Scalar.
template <class Scalar, class Options>
void check_adam_options(const Check& check, const Options& o) {
  check_betas(check, o.beta1, o.beta2);
  check.template positive_representable<Scalar>("eps", o.eps);
  check.template representable<Scalar>("weight_decay", o.weight_decay);
}

// The fields a checkpoint stores first for a group, by PyTorch's names (each
// optimizer's own follow).
template <class Options>
void visit_adam_options(Options& o, StateFields& f) {
  f.field("lr", o.lr);
  f.field("betas", o.beta1, o.beta2);
  f.field("eps", o.eps);
  f.field("weight_decay", o.weight_decay);
}

// Whether work[i] is the first item or in another group than the item before
// it: where a kernel's per-group constants change.
template <class Item>
bool starts_group(const Item* work, std::size_t i) {
  return i == 0 || work[i].group != work[i - 1].group;
}

// A group's constants in a kernel, each formed in double and rounded to
// Scalar once, as PyTorch forms them (in Python floats) before it multiplies
// a float tensor.

// Sets k.beta1, k.one_minus_beta1, k.beta2, k.one_minus_beta2.
template <class Scalar, class Kernel, class Options>
void set_betas(Kernel& k, const Options& o) {
  k.beta1 = static_cast<Scalar>(o.beta1);
  k.one_minus_beta1 = static_cast<Scalar>(1.0 - o.beta1);
  k.beta2 = static_cast<Scalar>(o.beta2);
  k.one_minus_beta2 = static_cast<Scalar>(1.0 - o.beta2);
}
// The betas, and k.eps, k.weight_decay, k.decoupled, k.coupled: weight decay
// is decoupled (w = (1 - lr λ) w) or coupled (g = g + λ w), and neither when
// λ is 0.
template <class Scalar, class Kernel, class Options>
void set_adam_group(Kernel& k, const Options& o) {
  set_betas<Scalar>(k, o);
  k.eps = static_cast<Scalar>(o.eps);
  k.weight_decay = static_cast<Scalar>(o.weight_decay);
  k.decoupled = o.decoupled_weight_decay && o.weight_decay != 0;
  k.coupled = !o.decoupled_weight_decay && o.weight_decay != 0;
}

// The step count and betas that an optimizer's cached per-step constants
// (bias corrections) were formed for: parameters at the same step with the
// same betas share them.
struct StepKey {
  std::int64_t step = 0;  // none: steps count from 1
  double beta1 = 0, beta2 = 0;

  // Whether the constants need forming for this step and these betas; if so,
  // the key becomes theirs.
  bool renew(std::int64_t t, double b1, double b2) {
    if (t == step && b1 == beta1 && b2 == beta2) return false;
    step = t;
    beta1 = b1;
    beta2 = b2;
    return true;
  }
};

}  // namespace detail
}  // namespace descend
