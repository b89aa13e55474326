// ASGD (averaged stochastic gradient descent, Polyak & Juditsky 1992), as
// torch.optim.ASGD in PyTorch 1.13 (torch/optim/asgd.py,
// _single_tensor_asgd), plus inverse-time learning-rate decay.
//
// For each parameter w with gradient g, at its t-th update (t = 1, 2, ...):
//
//   lr_t  = lr / (1 + decay * (t - 1))
//   eta_t = lr_t                                          t = 1
//           lr_t / (1 + lambd * lr_t * (t - 1))^alpha     t > 1
//   mu_t  = 1                                             t = 1
//           1 / max(1, (t - 1) - t0)                      t > 1
//   g     = -g                                            if maximize, first
//   g     = g + weight_decay * w                          if weight_decay != 0
//   w     = (1 - lambd * eta_t) * w
//   w     = w - eta_t * g
//   ax    = w                                             if mu_t == 1
//           ax + (w - ax) * mu_t                          otherwise
//
// PyTorch keeps eta and mu as per-parameter tensors that each step() uses and
// then recomputes from the step just taken (eta = lr / (1 + lambd lr t)^alpha,
// mu = 1 / max(1, t - t0)), so that update t uses the values of step t - 1,
// which is what eta_t and mu_t above are. descend computes them from the step
// count instead, so a parameter's state is its step count and "ax". Two
// differences follow, both documented and tested:
//  - PyTorch 1.13 makes eta and mu float32 tensors (torch.tensor(x), the
//    default dtype) even for float64 parameters, so its eta and mu are rounded
//    to float32; descend forms both in double and rounds them to the
//    parameter's Scalar once. For float parameters the eta and mu applied are
//    the same; for double ones descend's are the exact values.
//  - PyTorch computes the eta of update t with the lr of update t - 1; descend
//    with the lr of update t. They differ only after the lr changed (set_lr, a
//    schedule): PyTorch applies a new lr one update late, descend at once.
//
// Averaging starts once t - 1 > t0 + 1; until then ax is a copy of w. The
// averaged parameters are state("ax"); the optimizer trains w.
// Defaults (PyTorch): lr 1e-2, lambd 1e-4, alpha 0.75, t0 1e6, weight_decay 0.
// State per parameter: "ax".
#pragma once

#include <cmath>

#include "descend/optim/groups.hpp"

namespace descend {

struct AsgdOptions {
  double lr = 1e-2;
  double lambd = 1e-4;
  double alpha = 0.75;
  double t0 = 1e6;
  double weight_decay = 0;
  double decay = 0;
  bool maximize = false;
};

// The options as a checkpoint stores a group's (PyTorch's names, then descend's own).
inline void visit_options(AsgdOptions& o, StateFields& f) {
  f.field("lr", o.lr);
  f.field("lambd", o.lambd);
  f.field("alpha", o.alpha);
  f.field("t0", o.t0);
  f.field("weight_decay", o.weight_decay);
  f.field("maximize", o.maximize);
  f.field("decay", o.decay);
}

template <class Scalar>
class Asgd : public GroupedOptimizer<Scalar, AsgdOptions> {
 public:
  explicit Asgd(const AsgdOptions& options = {})
      : GroupedOptimizer<Scalar, AsgdOptions>("descend::Asgd", options) {
    this->validate(options);
  }

 protected:
  using typename Optimizer<Scalar>::Work;

  DESCEND_COLD void check_options(const AsgdOptions& options) const override {
    const detail::Check& check = this->check_;
    check.finite_non_negative("lambd", options.lambd);
    check.finite_non_negative("alpha", options.alpha);
    check.finite_non_negative("t0", options.t0);
    check.template representable<Scalar>("weight_decay", options.weight_decay);
  }
  DESCEND_COLD detail::BufferNames names_of(const AsgdOptions&) const override { return {"ax"}; }
  bool same_buffers(const AsgdOptions&, const AsgdOptions&) const override { return true; }

  DESCEND_NOINLINE double apply(const Work* work, std::size_t count) override {
    const AsgdOptions* o = nullptr;
    Kernel k;
    for (std::size_t i = 0; i < count; ++i) {
      const Work& item = work[i];
      if (i == 0 || item.group != work[i - 1].group) {
        o = &this->groups_[item.group];
        k.weight_decay = static_cast<Scalar>(o->weight_decay);
        k.coupled = o->weight_decay != 0;
      }
      const double prev = static_cast<double>(item.step - 1);  // the step PyTorch's eta, mu are of
      const double eta =
          item.step == 1 ? item.lr : item.lr / std::pow(1 + o->lambd * item.lr * prev, o->alpha);
      const double mu = item.step == 1 ? 1.0 : 1.0 / std::max(1.0, prev - o->t0);
      k.eta = static_cast<Scalar>(eta);
      k.shrink = static_cast<Scalar>(1 - o->lambd * eta);
      k.mu = static_cast<Scalar>(mu);
      k.average = mu != 1;
      this->run(k, item);
    }
    return work[count - 1].lr;
  }

 private:
  // Every constant formed in double and rounded to Scalar once.
  struct Kernel {
    Scalar weight_decay, eta, shrink, mu;
    bool coupled, average;

    template <class V>
    DESCEND_ALWAYS_INLINE void apply(Scalar* pw, const Scalar* pg, Scalar* s,
                                     Eigen::Index /*n*/) const {
      V w = V::load(pw);
      V g = V::load(pg);
      if (coupled) g = g + weight_decay * w;  // g = g + λ w
      w = shrink * w;                         // w = (1 - lambd η) w
      w = w - eta * g;                        // w = w - η g
      w.store(pw);
      if (average) {
        const V ax = V::load(s);
        (ax + (w - ax) * mu).store(s);  // ax = ax + (w - ax) μ
      } else {
        w.store(s);  // ax = w
      }
    }
  };
};

// PyTorch's spelling.
template <class Scalar>
using ASGD = Asgd<Scalar>;
using ASGDOptions = AsgdOptions;

#ifdef DESCEND_PRECOMPILED
extern template class GroupedOptimizer<float, AsgdOptions>;
extern template class GroupedOptimizer<double, AsgdOptions>;
extern template class Asgd<float>;
extern template class Asgd<double>;
#endif

}  // namespace descend
