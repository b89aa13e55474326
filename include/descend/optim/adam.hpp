// Adam, AMSGrad and AdamW, as torch.optim.Adam / torch.optim.AdamW, plus
// inverse-time learning-rate decay.
//
// For each parameter w with gradient g, at its t-th update (t = 1, 2, ...):
//
//   lr_t = lr / (1 + decay * (t - 1))
//   g    = -g                                          if maximize, first
//   if decoupled_weight_decay:  w = w - lr_t * weight_decay * w     (AdamW)
//   else:                       g = g + weight_decay * w            (L2, if != 0)
//   m    = beta1 * m + (1 - beta1) * g
//   v    = beta2 * v + (1 - beta2) * g^2
//   if amsgrad:  v_max = max(v_max, v);  r = v_max
//   else:        r = v
//   m^   = m / (1 - beta1^t)
//   r^   = r / (1 - beta2^t)
//   w    = w - lr_t * m^ / (sqrt(r^) + eps)          EpsPlacement::outside_sqrt (PyTorch)
//   w    = w - lr_t * m^ / sqrt(r^ + eps)            EpsPlacement::inside_sqrt (NNDL book)
//
// AMSGrad keeps the running maximum of the raw v and bias-corrects it, as
// PyTorch's implementation does (the torch 1.13 docs wrote the maximum of the
// corrected v^ instead; the two differ, and the code is what users ran).
// Defaults (PyTorch): lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-8,
// weight_decay 0, amsgrad false. AdamW (AdamWOptions) is Adam with decoupled
// weight decay and weight_decay 1e-2 by default, as torch.optim.AdamW.
// State per parameter: "exp_avg" (m), "exp_avg_sq" (v), and "max_exp_avg_sq"
// (v_max) if amsgrad.
#pragma once

#include <cmath>

#include "descend/optim/conventions.hpp"
#include "descend/optim/detail/adam_family.hpp"
#include "descend/optim/groups.hpp"

namespace descend {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
  bool decoupled_weight_decay = false;
  double decay = 0;
  EpsPlacement eps_placement = EpsPlacement::outside_sqrt;
  bool maximize = false;
};

// The options as a checkpoint stores a group's (PyTorch's names, then descend's own).
inline void visit_options(AdamOptions& o, StateFields& f) {
  detail::visit_adam_options(o, f);  // lr, betas, eps, weight_decay
  f.field("amsgrad", o.amsgrad);
  f.field("maximize", o.maximize);
  f.field("decoupled_weight_decay", o.decoupled_weight_decay);
  f.field("decay", o.decay);
  f.choice("eps_placement", o.eps_placement, kEpsPlacementNames);
}

template <class Scalar>
class Adam : public GroupedOptimizer<Scalar, AdamOptions> {
 public:
  explicit Adam(const AdamOptions& options = {}) : Adam("descend::Adam", options) {}

  const char* momentum_name() const override { return "beta1"; }

 protected:
  // `adamw`: every group must have decoupled weight decay (an AdamW reached
  // through an Adam& gets no coupled group either).
  Adam(const char* who, const AdamOptions& options, bool adamw = false)
      : GroupedOptimizer<Scalar, AdamOptions>(who, options), adamw_(adamw) {
    this->validate(options);
  }

  using typename Optimizer<Scalar>::Work;

  DESCEND_COLD void check_options(const AdamOptions& options) const override {
    detail::check_adam_options<Scalar>(this->check_, options);
    this->check_.that(!adamw_ || options.decoupled_weight_decay,
                      "an AdamW group needs decoupled_weight_decay (give AdamW AdamWOptions)");
  }
  DESCEND_COLD detail::BufferNames names_of(const AdamOptions& options) const override {
    if (options.amsgrad) return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    return {"exp_avg", "exp_avg_sq"};
  }
  bool same_buffers(const AdamOptions& a, const AdamOptions& b) const override {
    return a.amsgrad == b.amsgrad;
  }
  double group_momentum(std::size_t group) const override { return this->groups_[group].beta1; }
  void set_group_momentum(std::size_t group, double beta1) override {
    this->template set_member<&AdamOptions::beta1>(group, beta1);
  }

  DESCEND_NOINLINE double apply(const Work* work, std::size_t count) override {
    Kernel k;
    for (std::size_t i = 0; i < count; ++i) {
      const Work& item = work[i];
      const AdamOptions& o = this->groups_[item.group];
      if (detail::starts_group(work, i)) {
        detail::set_adam_group<Scalar>(k, o);
        k.amsgrad = o.amsgrad;
        k.eps_inside = o.eps_placement == EpsPlacement::inside_sqrt;
      }
      set_bias_corrections(o, item.step);
      k.step_size = static_cast<Scalar>(item.lr * inv_bc1_);  // lr / (1 - β1^t)
      k.inv_bc2 = static_cast<Scalar>(inv_bc2_);
      k.inv_sqrt_bc2 = static_cast<Scalar>(inv_sqrt_bc2_);
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
    Scalar step_size, inv_bc2, inv_sqrt_bc2, shrink;
    bool amsgrad, eps_inside, decoupled, coupled;

    template <class V>
    DESCEND_ALWAYS_INLINE void apply(Scalar* pw, const Scalar* pg, Scalar* s,
                                     Eigen::Index n) const {
      V w = V::load(pw);
      V g = V::load(pg);
      if (coupled) g = g + weight_decay * w;                           // g = g + λ w
      const V m = beta1 * V::load(s) + one_minus_beta1 * g;            // m = β1 m + (1 - β1) g
      const V v = beta2 * V::load(s + n) + one_minus_beta2 * (g * g);  // v = β2 v + (1 - β2) g²
      m.store(s);
      v.store(s + n);
      V r = v;  // what the step divides by
      if (amsgrad) {
        r = max(V::load(s + 2 * n), v);  // v_max = max(v_max, v)
        r.store(s + 2 * n);
      }
      const V denom = eps_inside ? sqrt(r * inv_bc2 + eps)        // √(r^ + ε)
                                 : sqrt(r) * inv_sqrt_bc2 + eps;  // √r^ + ε
      if (decoupled) w = shrink * w;                              // w = (1 - lr λ) w
      w = w - step_size * m / denom;                              // w = w - lr m^ / denom
      w.store(pw);
    }
  };
  // Parameters at the same step with the same betas share these.
  void set_bias_corrections(const AdamOptions& o, std::int64_t step) {
    if (!key_.renew(step, o.beta1, o.beta2)) return;
    const double bias_correction1 = 1.0 - std::pow(o.beta1, static_cast<double>(step));
    const double bias_correction2 = 1.0 - std::pow(o.beta2, static_cast<double>(step));
    inv_bc1_ = 1.0 / bias_correction1;
    inv_bc2_ = 1.0 / bias_correction2;
    inv_sqrt_bc2_ = 1.0 / std::sqrt(bias_correction2);
  }

  bool adamw_ = false;
  detail::StepKey key_;      // the step count and betas the next three belong to
  double inv_bc1_ = 0;       // 1 / (1 - β1^t)
  double inv_bc2_ = 0;       // 1 / (1 - β2^t)
  double inv_sqrt_bc2_ = 0;  // 1 / √(1 - β2^t)
};

// AdamW's options: Adam's, with PyTorch's AdamW defaults (weight_decay 1e-2),
// and always decoupled. A type of its own, so that no AdamOptions whose
// weight_decay was left at Adam's 0 can silently turn AdamW into Adam.
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
  double decay = 0;
  EpsPlacement eps_placement = EpsPlacement::outside_sqrt;
  bool maximize = false;
};

// Adam with decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW.
template <class Scalar>
class AdamW : public Adam<Scalar> {
 public:
  explicit AdamW(const AdamWOptions& options = {})
      : Adam<Scalar>("descend::AdamW", as_adam(options), true) {}
  // Adam's options would bring Adam's weight_decay of 0 with them.
  template <class Options, std::enable_if_t<std::is_same<Options, AdamOptions>::value, int> = 0>
  explicit AdamW(const Options&) : AdamW() {
    static_assert(!std::is_same<Options, AdamOptions>::value,
                  "descend: AdamW takes AdamWOptions (weight_decay 1e-2 by default, as "
                  "torch.optim.AdamW), not AdamOptions");
  }

  // A group of AdamW has AdamW's options (weight_decay 1e-2 by default).
  DESCEND_COLD std::size_t add_group(const AdamWOptions& options) {
    return Adam<Scalar>::add_group(as_adam(options));
  }
  DESCEND_COLD void set_options(const AdamWOptions& options, std::size_t group = 0) {
    Adam<Scalar>::set_options(as_adam(options), group);
  }
  template <class Options, std::enable_if_t<std::is_same<Options, AdamOptions>::value, int> = 0>
  std::size_t add_group(const Options&) {
    static_assert(!std::is_same<Options, AdamOptions>::value,
                  "descend: AdamW's groups take AdamWOptions, not AdamOptions");
    return 0;
  }
  template <class Options, std::enable_if_t<std::is_same<Options, AdamOptions>::value, int> = 0>
  void set_options(const Options&, std::size_t = 0) {
    static_assert(!std::is_same<Options, AdamOptions>::value,
                  "descend: AdamW's groups take AdamWOptions, not AdamOptions");
  }

 private:
  static AdamOptions as_adam(const AdamWOptions& w) {
    AdamOptions options;
    options.lr = w.lr;
    options.beta1 = w.beta1;
    options.beta2 = w.beta2;
    options.eps = w.eps;
    options.weight_decay = w.weight_decay;
    options.amsgrad = w.amsgrad;
    options.decoupled_weight_decay = true;
    options.decay = w.decay;
    options.eps_placement = w.eps_placement;
    options.maximize = w.maximize;
    return options;
  }
};

#ifdef DESCEND_PRECOMPILED
extern template class GroupedOptimizer<float, AdamOptions>;
extern template class GroupedOptimizer<double, AdamOptions>;
extern template class Adam<float>;
extern template class Adam<double>;
extern template class AdamW<float>;
extern template class AdamW<double>;
#endif

}  // namespace descend
