// Adadelta, as torch.optim.Adadelta, plus inverse-time learning-rate decay.
//
// For each parameter w with gradient g, at its t-th update (t = 1, 2, ...):
//
//   lr_t = lr / (1 + decay * (t - 1))
//   g    = -g                                        if maximize, first
//   g    = g + weight_decay * w                      if weight_decay != 0
//   v    = rho * v + (1 - rho) * g^2
//   d    = sqrt(u + eps) / sqrt(v + eps) * g         EpsPlacement::inside_sqrt (PyTorch)
//   d    = (sqrt(u) + eps) / (sqrt(v) + eps) * g     EpsPlacement::outside_sqrt (cute-dl)
//   u    = rho * u + (1 - rho) * d^2
//   w    = w - lr_t * d
//
// The PyTorch form is computed as sqrt((u + eps) / (v + eps)) * g: one square
// root instead of two, equal up to rounding.
// Defaults (PyTorch): lr 1.0, rho 0.9, eps 1e-6, weight_decay 0. The original
// Adadelta and cute-dl have no learning rate: that is lr = 1.
// State per parameter: "square_avg" (v), "acc_delta" (u).
#pragma once

#include "descend/optim/conventions.hpp"
#include "descend/optim/groups.hpp"

namespace descend {

struct AdadeltaOptions {
  double lr = 1.0;
  double rho = 0.9;
  double eps = 1e-6;
  double weight_decay = 0;
  double decay = 0;
  EpsPlacement eps_placement = EpsPlacement::inside_sqrt;
  bool maximize = false;
};

// The options as a checkpoint stores a group's (PyTorch's names, then descend's own).
inline void visit_options(AdadeltaOptions& o, StateFields& f) {
  f.field("lr", o.lr);
  f.field("rho", o.rho);
  f.field("eps", o.eps);
  f.field("weight_decay", o.weight_decay);
  f.field("maximize", o.maximize);
  f.field("decay", o.decay);
  f.choice("eps_placement", o.eps_placement, kEpsPlacementNames);
}

template <class Scalar>
class Adadelta : public GroupedOptimizer<Scalar, AdadeltaOptions> {
 public:
  explicit Adadelta(const AdadeltaOptions& options = {})
      : GroupedOptimizer<Scalar, AdadeltaOptions>("descend::Adadelta", options) {
    this->validate(options);
  }

 protected:
  using typename Optimizer<Scalar>::Work;

  DESCEND_COLD void check_options(const AdadeltaOptions& options) const override {
    const detail::Check& check = this->check_;
    check.in_range("rho", options.rho, 0, 1, false);
    check.template positive_representable<Scalar>("eps", options.eps);
    check.template representable<Scalar>("weight_decay", options.weight_decay);
  }
  bool same_buffers(const AdadeltaOptions& /*a*/, const AdadeltaOptions& /*b*/) const override {
    return true;
  }
  DESCEND_COLD detail::BufferNames names_of(const AdadeltaOptions& /*options*/) const override {
    return {"square_avg", "acc_delta"};
  }

  DESCEND_NOINLINE double apply(const Work* work, std::size_t count) override {
    Kernel k;
    for (std::size_t i = 0; i < count; ++i) {
      const Work& item = work[i];
      if (i == 0 || item.group != work[i - 1].group) {
        const AdadeltaOptions& o = this->groups_[item.group];
        k.weight_decay = static_cast<Scalar>(o.weight_decay);
        k.decays = o.weight_decay != 0;
        k.rho = static_cast<Scalar>(o.rho);
        k.one_minus_rho = static_cast<Scalar>(1.0 - o.rho);
        k.eps = static_cast<Scalar>(o.eps);
        k.eps_inside = o.eps_placement == EpsPlacement::inside_sqrt;
      }
      k.lr = static_cast<Scalar>(item.lr);
      this->run(k, item);
    }
    return work[count - 1].lr;
  }

 private:
  struct Kernel {
    Scalar weight_decay, rho, one_minus_rho, eps, lr;
    bool decays, eps_inside;

    template <class V>
    DESCEND_ALWAYS_INLINE void apply(Scalar* pw, const Scalar* pg, Scalar* s,
                                     Eigen::Index n) const {
      V w = V::load(pw);
      V g = V::load(pg);
      if (decays) g = g + weight_decay * w;                    // g = g + λ w
      const V v = rho * V::load(s) + one_minus_rho * (g * g);  // v = ρ v + (1 - ρ) g²
      v.store(s);
      const V u = V::load(s + n);
      const V d = eps_inside ? sqrt((u + eps) / (v + eps)) * g  // d = √(u + ε) / √(v + ε) g
                             : (sqrt(u) + eps) / (sqrt(v) + eps) * g;  // d = (√u + ε) / (√v + ε) g
      (rho * u + one_minus_rho * (d * d)).store(s + n);                // u = ρ u + (1 - ρ) d²
      w = w - lr * d;                                                  // w = w - lr d
      w.store(pw);
    }
  };
};

#ifdef DESCEND_PRECOMPILED
extern template class GroupedOptimizer<float, AdadeltaOptions>;
extern template class GroupedOptimizer<double, AdadeltaOptions>;
extern template class Adadelta<float>;
extern template class Adadelta<double>;
#endif

}  // namespace descend
