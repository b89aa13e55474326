// RAdam (rectified Adam, Liu et al. 2020), as torch.optim.RAdam, plus
// inverse-time learning-rate decay and PyTorch 2.1's decoupled weight decay.
//
// For each parameter w with gradient g, at its t-th update (t = 1, 2, ...):
//
//   lr_t  = lr / (1 + decay * (t - 1))
//   g     = -g                                          if maximize, first
//   if decoupled_weight_decay:  w = w - lr_t * weight_decay * w     (w (1 - lr_t λ))
//   else:                       g = g + weight_decay * w            (L2, if != 0)
//   m     = beta1 * m + (1 - beta1) * g
//   v     = beta2 * v + (1 - beta2) * g^2
//   m^    = m / (1 - beta1^t)
//   rho_inf = 2 / (1 - beta2) - 1
//   rho_t   = rho_inf - 2 t beta2^t / (1 - beta2^t)
//   if rho_t > 5:
//     r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
//     w = w - m^ * lr_t * (sqrt(1 - beta2^t) / (sqrt(v) + eps)) * r
//   else:
//     w = w - m^ * lr_t                                (no second moment, no eps)
//
// As PyTorch 1.13's code (torch/optim/radam.py, _single_tensor_radam):
// rho_t, the switch rho_t > 5 and r are computed in double from the Python
// expressions, in their order; eps is added to the raw sqrt(v), not to the
// bias-corrected sqrt(v / (1 - beta2^t)) as in Adam — the step divides by
// sqrt(v) + eps and multiplies by sqrt(1 - beta2^t) — and the products are
// formed in torch's order, ((m^ * lr_t) * adaptive) * r. With the default
// beta2 0.999 the first 5 updates are unrectified (rho_5 = 4.99, rho_6 = 5.99);
// a beta2 with rho_inf <= 5 (beta2 <= 2/3) never rectifies.
// decoupled_weight_decay is PyTorch 2.1's option (param.mul_(1 - lr * wd)
// before the update); 1.13 has only the L2 form; maximize, PyTorch 2.0's,
// negates the gradient first.
// Defaults (PyTorch): lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-8,
// weight_decay 0. eps must be > 0 (torch accepts 0: a rectified step of a
// coefficient whose gradients were all 0 would be 0 / 0).
// State per parameter: "exp_avg" (m), "exp_avg_sq" (v).
#pragma once

#include <cmath>

#include "descend/optim/detail/adam_family.hpp"
#include "descend/optim/groups.hpp"

namespace descend {

struct RadamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool decoupled_weight_decay = false;
  double decay = 0;
  bool maximize = false;
};

// The options as a checkpoint stores a group's (PyTorch's names, then descend's own).
inline void visit_options(RadamOptions& o, StateFields& f) {
  detail::visit_adam_options(o, f);  // lr, betas, eps, weight_decay
  f.field("maximize", o.maximize);
  f.field("decoupled_weight_decay", o.decoupled_weight_decay);
  f.field("decay", o.decay);
}

template <class Scalar>
class Radam : public GroupedOptimizer<Scalar, RadamOptions> {
 public:
  explicit Radam(const RadamOptions& options = {})
      : GroupedOptimizer<Scalar, RadamOptions>("descend::RAdam", options) {
    this->validate(options);
  }

  const char* momentum_name() const override { return "beta1"; }

 protected:
  using typename Optimizer<Scalar>::Work;

  DESCEND_COLD void check_options(const RadamOptions& options) const override {
    detail::check_adam_options<Scalar>(this->check_, options);
  }
  DESCEND_COLD detail::BufferNames names_of(const RadamOptions&) const override {
    return {"exp_avg", "exp_avg_sq"};
  }
  bool same_buffers(const RadamOptions&, const RadamOptions&) const override { return true; }
  double group_momentum(std::size_t group) const override { return this->groups_[group].beta1; }
  void set_group_momentum(std::size_t group, double beta1) override {
    this->template set_member<&RadamOptions::beta1>(group, beta1);
  }

  DESCEND_NOINLINE double apply(const Work* work, std::size_t count) override {
    Kernel k;
    for (std::size_t i = 0; i < count; ++i) {
      const Work& item = work[i];
      const RadamOptions& o = this->groups_[item.group];
      if (detail::starts_group(work, i)) detail::set_adam_group<Scalar>(k, o);
      set_constants(o, item.step);
      k.bias_correction1 = static_cast<Scalar>(bias_correction1_);
      k.sqrt_bias_correction2 = static_cast<Scalar>(sqrt_bias_correction2_);
      k.rect = static_cast<Scalar>(rect_);
      k.rectified = rectified_;
      k.lr = static_cast<Scalar>(item.lr);
      k.shrink = static_cast<Scalar>(1.0 - item.lr * o.weight_decay);
      this->run(k, item);
    }
    return work[count - 1].lr;
  }

 private:
  // Every constant formed in double and rounded to Scalar once, as PyTorch
  // forms them (in Python floats) before it multiplies a float tensor. The
  // first line, decoupled and coupled are a group's (detail::set_adam_group).
  struct Kernel {
    Scalar beta1, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay;
    Scalar bias_correction1, sqrt_bias_correction2, rect, lr, shrink;
    bool rectified, decoupled, coupled;

    template <class V>
    DESCEND_ALWAYS_INLINE void apply(Scalar* pw, const Scalar* pg, Scalar* s,
                                     Eigen::Index n) const {
      const auto filled = [](Scalar x) { return detail::splat<decltype(V::v)>(x); };
      V w = V::load(pw);
      V g = V::load(pg);
      if (decoupled) w = shrink * w;                                 // w = (1 - lr λ) w
      if (coupled) g = g + weight_decay * w;                         // g = g + λ w
      const V m = V::load(s) * beta1 + one_minus_beta1 * g;          // m = β1 m + (1 - β1) g
      const V v = V::load(s + n) * beta2 + one_minus_beta2 * g * g;  // v = β2 v + (1 - β2) g²
      m.store(s);
      v.store(s + n);
      V step = m / filled(bias_correction1) * lr;  // m^ lr
      if (rectified) {
        step =
            step * (filled(sqrt_bias_correction2) / (sqrt(v) + eps));  // · √(1 - β2^t) / (√v + ε)
        step = step * rect;                                            // · r
      }
      w = w - step;
      w.store(pw);
    }
  };

  // Parameters at the same step with the same betas share these.
  void set_constants(const RadamOptions& o, std::int64_t step) {
    if (!key_.renew(step, o.beta1, o.beta2)) return;
    const double t = static_cast<double>(step);
    const double beta2_t = std::pow(o.beta2, t);
    bias_correction1_ = 1.0 - std::pow(o.beta1, t);
    const double bias_correction2 = 1.0 - beta2_t;
    sqrt_bias_correction2_ = std::sqrt(bias_correction2);
    const double rho_inf = 2 / (1 - o.beta2) - 1;
    const double rho_t = rho_inf - 2 * t * beta2_t / bias_correction2;
    rectified_ = rho_t > 5.0;
    rect_ = rectified_ ? std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf /
                                   ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                       : 0.0;
  }

  detail::StepKey key_;               // the step count and betas the constants belong to
  double bias_correction1_ = 0;       // 1 - β1^t
  double sqrt_bias_correction2_ = 0;  // √(1 - β2^t)
  double rect_ = 0;                   // r
  bool rectified_ = false;            // rho_t > 5
};

#ifdef DESCEND_PRECOMPILED
extern template class GroupedOptimizer<float, RadamOptions>;
extern template class GroupedOptimizer<double, RadamOptions>;
extern template class Radam<float>;
extern template class Radam<double>;
#endif

}  // namespace descend
