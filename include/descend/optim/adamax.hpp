// Adamax (Adam with the infinity norm, Kingma & Ba, section 7.1), as
// torch.optim.Adamax, plus inverse-time learning-rate decay.
//
// For each parameter w with gradient g, at its t-th update (t = 1, 2, ...):
//
//   lr_t = lr / (1 + decay * (t - 1))
//   g    = -g                                         if maximize, first
//   g    = g + weight_decay * w                       (L2, if != 0)
//   m    = beta1 * m + (1 - beta1) * g
//   u    = maximum(beta2 * u, |g| + eps)
//   w    = w - (lr_t / (1 - beta1^t)) * m / u
//
// As PyTorch 1.13's code: eps is added to |g| before the maximum (so u >= eps
// from the first step on and never divides by zero), not to u afterwards;
// torch stacks beta2 * u and |g| + eps and takes their amax, which is
// torch.maximum: a NaN on either side gives NaN (descend's `maximum` does the
// same, where std::max would drop a NaN gradient from u).
// Defaults (PyTorch): lr 2e-3, beta1 0.9, beta2 0.999, eps 1e-8,
// weight_decay 0. eps must be > 0 (torch accepts 0, which makes the step of
// a coefficient whose gradients were all 0 a 0 / 0).
// State per parameter: "exp_avg" (m), "exp_inf" (u).
#pragma once

#include <cmath>

#include "descend/optim/detail/adam_family.hpp"
#include "descend/optim/groups.hpp"

namespace descend {

struct AdamaxOptions {
  double lr = 2e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  double decay = 0;
  bool maximize = false;
};

// The options as a checkpoint stores a group's (PyTorch's names, then descend's own).
inline void visit_options(AdamaxOptions& o, StateFields& f) {
  detail::visit_adam_options(o, f);  // lr, betas, eps, weight_decay
  f.field("maximize", o.maximize);
  f.field("decay", o.decay);
}

template <class Scalar>
class Adamax : public GroupedOptimizer<Scalar, AdamaxOptions> {
 public:
  explicit Adamax(const AdamaxOptions& options = {})
      : GroupedOptimizer<Scalar, AdamaxOptions>("descend::Adamax", options) {
    this->validate(options);
  }

  const char* momentum_name() const override { return "beta1"; }

 protected:
  using typename Optimizer<Scalar>::Work;

  DESCEND_COLD void check_options(const AdamaxOptions& options) const override {
    detail::check_adam_options<Scalar>(this->check_, options);
  }
  DESCEND_COLD detail::BufferNames names_of(const AdamaxOptions&) const override {
    return {"exp_avg", "exp_inf"};
  }
  bool same_buffers(const AdamaxOptions&, const AdamaxOptions&) const override { return true; }
  double group_momentum(std::size_t group) const override { return this->groups_[group].beta1; }
  void set_group_momentum(std::size_t group, double beta1) override {
    this->template set_member<&AdamaxOptions::beta1>(group, beta1);
  }

  DESCEND_NOINLINE double apply(const Work* work, std::size_t count) override {
    Kernel k;
    for (std::size_t i = 0; i < count; ++i) {
      const Work& item = work[i];
      const AdamaxOptions& o = this->groups_[item.group];
      if (detail::starts_group(work, i)) {
        k.beta1 = static_cast<Scalar>(o.beta1);
        k.one_minus_beta1 = static_cast<Scalar>(1.0 - o.beta1);
        k.beta2 = static_cast<Scalar>(o.beta2);
        k.eps = static_cast<Scalar>(o.eps);
        k.weight_decay = static_cast<Scalar>(o.weight_decay);
        k.coupled = o.weight_decay != 0;
      }
      // Parameters at the same step with the same betas share it.
      if (key_.renew(item.step, o.beta1, o.beta2))
        bias_correction_ = 1.0 - std::pow(o.beta1, static_cast<double>(item.step));
      k.step_size = static_cast<Scalar>(item.lr / bias_correction_);  // clr = lr / (1 - β1^t)
      this->run(k, item);
    }
    return work[count - 1].lr;
  }

 private:
  // Every constant formed in double and rounded to Scalar once, as PyTorch
  // forms them (in Python floats) before it multiplies a float tensor.
  struct Kernel {
    Scalar beta1, one_minus_beta1, beta2, eps, weight_decay, step_size;
    bool coupled;

    template <class V>
    DESCEND_ALWAYS_INLINE void apply(Scalar* pw, const Scalar* pg, Scalar* s,
                                     Eigen::Index n) const {
      V w = V::load(pw);
      V g = V::load(pg);
      if (coupled) g = g + weight_decay * w;                      // g = g + λ w
      const V m = V::load(s) * beta1 + one_minus_beta1 * g;       // m = β1 m + (1 - β1) g
      const V u = maximum(V::load(s + n) * beta2, abs(g) + eps);  // u = max(β2 u, |g| + ε)
      m.store(s);
      u.store(s + n);
      w = w - step_size * m / u;  // w = w - clr m / u
      w.store(pw);
    }
  };

  detail::StepKey key_;         // the step count and betas bias_correction_ belongs to
  double bias_correction_ = 0;  // 1 - β1^t
};

#ifdef DESCEND_PRECOMPILED
extern template class GroupedOptimizer<float, AdamaxOptions>;
extern template class GroupedOptimizer<double, AdamaxOptions>;
extern template class Adamax<float>;
extern template class Adamax<double>;
#endif

}  // namespace descend
