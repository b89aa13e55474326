// NAdam (Adam with Nesterov momentum, Dozat 2016), as torch.optim.NAdam with
// the corrections of later PyTorch, plus inverse-time learning-rate decay.
//
// For each parameter w with gradient g, at its t-th update (t = 1, 2, ...):
//
//   lr_t  = lr / (1 + decay * (t - 1))
//   g     = -g                                          if maximize, first
//   if decoupled_weight_decay:  w = w - lr_t * weight_decay * w     (w (1 - lr_t λ))
//   else:                       g = g + weight_decay * w            (L2, if != 0)
//   mu_i  = beta1 * (1 - 0.5 * 0.96^(i * momentum_decay))           (i = t, t + 1)
//   P_t   = mu_1 * mu_2 * ... * mu_t                    (PyTorch's mu_product)
//   m     = beta1 * m + (1 - beta1) * g
//   v     = beta2 * v + (1 - beta2) * g^2
//   d     = sqrt(v / (1 - beta2^t)) + eps
//   w     = w - lr_t (1 - mu_t) / (1 - P_t) * g / d
//   w     = w - lr_t mu_{t+1} / (1 - P_t mu_{t+1}) * m / d
//
// Defaults (PyTorch): lr 2e-3, beta1 0.9, beta2 0.999, eps 1e-8,
// weight_decay 0, momentum_decay 4e-3. The two updates of w are applied one
// after the other, each rounded, as PyTorch's two addcdiv_ calls.
//
// Differences from PyTorch 1.13's code (torch/optim/nadam.py, _single_tensor_nadam):
//  * 1.13 forms the next product as mu_product * mu * mu_next, with mu_t twice
//    (mu_product already holds it). PyTorch 2.0 corrected it to
//    P_t * mu_{t+1}, as above and as the paper and 1.13's own documentation
//    write it; descend follows the correction. Only the second update's
//    factor differs.
//  * PyTorch keeps P_t as a float32 tensor whatever the parameter's dtype
//    (torch.tensor(1.) at the first step, then mu_product *= mu): for double
//    parameters descend forms the product in double, each factor mu_i rounded
//    to the parameter's Scalar and the running product rounded after each
//    multiplication — for float parameters that is PyTorch's own arithmetic.
//  * P_t is a function of the step count, not a state buffer: the optimizer
//    caches the running product of the last step count it served, extends it
//    by one factor when a parameter's count is one more (the same
//    multiplications in the same order as from t = 1, so the same bits), and
//    recomputes it from t = 1 otherwise; parameters at different step counts,
//    and a run resumed from a checkpoint (step count and buffers), get
//    exactly the product of an uninterrupted run. A schedule that changes
//    beta1 or momentum_decay (OneCycleLR cycling beta1) therefore gets the
//    product of the current beta1's factors, where PyTorch's running product
//    keeps the factors of earlier betas. A product that underflows to 0 stays
//    0, so the recomputation stops there (about 7000 steps for beta1 0.9 in
//    double, 900 in float).
//  * decoupled_weight_decay (PyTorch 2.1) and maximize (PyTorch 2.0) are
//    options; 1.13 has neither.
// eps must be > 0 (torch accepts 0: the step of a coefficient whose gradients
// were all 0 would be 0 / 0), and mu_1 must be < 1 once rounded to Scalar
// (else 1 - P_t is 0).
// State per parameter: "exp_avg" (m), "exp_avg_sq" (v).
#pragma once

#include <cmath>

#include "descend/optim/detail/adam_family.hpp"
#include "descend/optim/groups.hpp"

namespace descend {

struct NadamOptions {
  double lr = 2e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum_decay = 4e-3;
  bool decoupled_weight_decay = false;
  double decay = 0;
  bool maximize = false;
};

// The options as a checkpoint stores a group's (PyTorch's names, then descend's own).
inline void visit_options(NadamOptions& o, StateFields& f) {
  detail::visit_adam_options(o, f);  // lr, betas, eps, weight_decay
  f.field("momentum_decay", o.momentum_decay);
  f.field("decoupled_weight_decay", o.decoupled_weight_decay);
  f.field("maximize", o.maximize);
  f.field("decay", o.decay);
}

template <class Scalar>
class Nadam : public GroupedOptimizer<Scalar, NadamOptions> {
 public:
  explicit Nadam(const NadamOptions& options = {})
      : GroupedOptimizer<Scalar, NadamOptions>("descend::NAdam", options) {
    this->validate(options);
  }

  const char* momentum_name() const override { return "beta1"; }

 protected:
  using typename Optimizer<Scalar>::Work;

  DESCEND_COLD void check_options(const NadamOptions& options) const override {
    detail::check_adam_options<Scalar>(this->check_, options);
    this->check_.finite_non_negative("momentum_decay", options.momentum_decay);
    if (!(static_cast<Scalar>(mu(options, 1)) < 1))
      detail::fail<std::invalid_argument>(this->who_, ": beta1 = ", options.beta1,
                                          " with momentum_decay = ", options.momentum_decay,
                                          " makes mu_1 = 1 as ", detail::scalar_name<Scalar>(),
                                          " (the optimizer's Scalar): 1 - mu_product would be 0");
  }
  DESCEND_COLD detail::BufferNames names_of(const NadamOptions&) const override {
    return {"exp_avg", "exp_avg_sq"};
  }
  bool same_buffers(const NadamOptions&, const NadamOptions&) const override { return true; }
  double group_momentum(std::size_t group) const override { return this->groups_[group].beta1; }
  void set_group_momentum(std::size_t group, double beta1) override {
    this->template set_member<&NadamOptions::beta1>(group, beta1);
  }

  DESCEND_NOINLINE double apply(const Work* work, std::size_t count) override {
    Kernel k;
    for (std::size_t i = 0; i < count; ++i) {
      const Work& item = work[i];
      const NadamOptions& o = this->groups_[item.group];
      if (detail::starts_group(work, i)) detail::set_adam_group<Scalar>(k, o);
      set_constants(o, item.step);
      const double lr = item.lr;
      k.bias_correction2 = static_cast<Scalar>(bias_correction2_);
      // -lr (1 - mu_t) / (1 - P_t)  and  -lr mu_{t+1} / (1 - P_t mu_{t+1})
      k.grad_step = static_cast<Scalar>(-lr * (1.0 - mu_) / (1.0 - product_));
      k.momentum_step = static_cast<Scalar>(-lr * mu_next_ / (1.0 - product_ * mu_next_));
      k.shrink = static_cast<Scalar>(1.0 - lr * o.weight_decay);
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
    Scalar bias_correction2, grad_step, momentum_step, shrink;
    bool decoupled, coupled;

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
      const V d = sqrt(v / filled(bias_correction2)) + eps;  // d = √(v / (1 - β2^t)) + ε
      w = w + grad_step * g / d;                             // w -= lr (1 - μ_t)/(1 - P_t) g / d
      w = w + momentum_step * m / d;  // w -= lr μ_{t+1}/(1 - P_t μ_{t+1}) m / d
      w.store(pw);
    }
  };

  // mu_i = β1 (1 - 0.5 · 0.96^(i ψ)), as PyTorch's Python expression.
  static double mu(const NadamOptions& o, std::int64_t i) {
    return o.beta1 * (1.0 - 0.5 * std::pow(0.96, static_cast<double>(i) * o.momentum_decay));
  }

  // Parameters at the same step with the same options share these; the
  // running product is extended from the cached step when it can be.
  void set_constants(const NadamOptions& o, std::int64_t step) {
    // Whether the cached product's factors mu_i are this group's.
    const bool same_mu = o.beta1 == key_.beta1 && o.momentum_decay == momentum_decay_;
    if (!key_.renew(step, o.beta1, o.beta2) && same_mu) return;
    if (!(same_mu && product_step_ <= step)) {
      product_step_ = 0;  // P_0 = 1
      running_product_ = 1;
    }
    for (; product_step_ < step && running_product_ != 0; ++product_step_)
      running_product_ = running_product_ * static_cast<Scalar>(mu(o, product_step_ + 1));
    product_step_ = step;  // a product of 0 stays 0
    momentum_decay_ = o.momentum_decay;
    bias_correction2_ = 1.0 - std::pow(o.beta2, static_cast<double>(step));
    mu_ = mu(o, step);
    mu_next_ = mu(o, step + 1);
    product_ = static_cast<double>(running_product_);
  }

  // The step count and options the constants below belong to.
  detail::StepKey key_;
  double momentum_decay_ = -1;
  double bias_correction2_ = 0;  // 1 - β2^t
  double mu_ = 0, mu_next_ = 0;  // μ_t, μ_{t+1}
  double product_ = 1;           // P_t, as a double
  // P at product_step_, in Scalar, for key_.beta1 and momentum_decay_.
  std::int64_t product_step_ = 0;
  Scalar running_product_ = 1;
};

#ifdef DESCEND_PRECOMPILED
extern template class GroupedOptimizer<float, NadamOptions>;
extern template class GroupedOptimizer<double, NadamOptions>;
extern template class Nadam<float>;
extern template class Nadam<double>;
#endif

}  // namespace descend
