// Adadelta, as torch.optim.Adadelta, plus inverse-time learning-rate decay.
//
// For each parameter w with gradient g, at its t-th update (t = 1, 2, ...):
//
//   lr_t = lr / (1 + decay * (t - 1))
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
#include "descend/optim/optimizer.hpp"

namespace descend {

struct AdadeltaOptions {
  double lr = 1.0;
  double rho = 0.9;
  double eps = 1e-6;
  double weight_decay = 0;
  double decay = 0;
  EpsPlacement eps_placement = EpsPlacement::inside_sqrt;
};

template <class Scalar>
class Adadelta : public Optimizer<Scalar> {
 public:
  explicit Adadelta(const AdadeltaOptions& options = {})
      : Optimizer<Scalar>("descend::Adadelta", options.lr, options.decay), options_(options) {
    const detail::Check& check = this->check_;
    check.in_range("rho", options.rho, 0, 1, false);
    check.template positive_representable<Scalar>("eps", options.eps);
    check.template representable<Scalar>("weight_decay", options.weight_decay);
  }

  const AdadeltaOptions& options() const { return options_; }

  DESCEND_NOINLINE std::vector<std::string> buffer_names() const override {
    return {"square_avg", "acc_delta"};
  }

 protected:
  using typename Optimizer<Scalar>::Work;

  DESCEND_NOINLINE double apply(const Work* work, std::size_t count) override {
    Kernel k;
    k.weight_decay = static_cast<Scalar>(options_.weight_decay);
    k.decays = options_.weight_decay != 0;
    k.rho = static_cast<Scalar>(options_.rho);
    k.one_minus_rho = static_cast<Scalar>(1.0 - options_.rho);
    k.eps = static_cast<Scalar>(options_.eps);
    k.eps_inside = options_.eps_placement == EpsPlacement::inside_sqrt;
    for (std::size_t i = 0; i < count; ++i) {
      const Work& item = work[i];
      k.lr = static_cast<Scalar>(item.lr);
      detail::for_each_coefficient(k, item.param, item.grad, item.state);
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

  AdadeltaOptions options_;
};

#ifdef DESCEND_PRECOMPILED
extern template class Adadelta<float>;
extern template class Adadelta<double>;
#endif

}  // namespace descend
