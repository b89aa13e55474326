// AdaGrad, as torch.optim.Adagrad, plus inverse-time learning-rate decay.
//
// For each parameter w with gradient g, at its t-th update (t = 1, 2, ...):
//
//   lr_t = lr / (1 + decay * (t - 1)) / (1 + lr_decay * (t - 1))
//   g    = -g                                        if maximize, first
//   g    = g + weight_decay * w                      if weight_decay != 0
//   s    = s + g^2                                   s starts at initial_accumulator_value
//   w    = w - lr_t * g / (sqrt(s) + eps)            EpsPlacement::outside_sqrt (PyTorch)
//   w    = w - lr_t * g / sqrt(s + eps)              EpsPlacement::inside_sqrt (NNDL book)
//
// `decay` and `lr_decay` are the same schedule (seed 000's name and PyTorch's);
// setting both applies both. Defaults (PyTorch): lr 1e-2, lr_decay 0,
// weight_decay 0, initial_accumulator_value 0, eps 1e-10.
// State per parameter: "sum".
#pragma once

#include "descend/optim/conventions.hpp"
#include "descend/optim/groups.hpp"

namespace descend {

struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0;
  double weight_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;
  double decay = 0;
  EpsPlacement eps_placement = EpsPlacement::outside_sqrt;
  bool maximize = false;
};

// The options as a checkpoint stores a group's (PyTorch's names, then descend's own).
inline void visit_options(AdagradOptions& o, StateFields& f) {
  f.field("lr", o.lr);
  f.field("lr_decay", o.lr_decay);
  f.field("weight_decay", o.weight_decay);
  f.field("initial_accumulator_value", o.initial_accumulator_value);
  f.field("eps", o.eps);
  f.field("maximize", o.maximize);
  f.field("decay", o.decay);
  f.choice("eps_placement", o.eps_placement, kEpsPlacementNames);
}

template <class Scalar>
class Adagrad : public GroupedOptimizer<Scalar, AdagradOptions> {
 public:
  explicit Adagrad(const AdagradOptions& options = {})
      : GroupedOptimizer<Scalar, AdagradOptions>("descend::Adagrad", options) {
    this->validate(options);
  }

 protected:
  using typename Optimizer<Scalar>::Work;

  DESCEND_COLD void check_options(const AdagradOptions& options) const override {
    const detail::Check& check = this->check_;
    check.finite_non_negative("lr_decay", options.lr_decay);
    check.template representable<Scalar>("weight_decay", options.weight_decay);
    check.template representable<Scalar>("initial_accumulator_value",
                                         options.initial_accumulator_value);
    check.template positive_representable<Scalar>("eps", options.eps);
  }
  bool same_buffers(const AdagradOptions& /*a*/, const AdagradOptions& /*b*/) const override {
    return true;
  }
  DESCEND_COLD detail::BufferNames names_of(const AdagradOptions& /*options*/) const override {
    return {"sum"};
  }

  void init_state(Scalar* buffers, Eigen::Index n, std::size_t group) const override {
    std::fill(buffers, buffers + n,
              static_cast<Scalar>(this->groups_[group].initial_accumulator_value));
  }

  DESCEND_NOINLINE double apply(const Work* work, std::size_t count) override {
    const AdagradOptions* o = nullptr;
    Kernel k;
    double clr = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const Work& item = work[i];
      if (i == 0 || item.group != work[i - 1].group) {
        o = &this->groups_[item.group];
        k.weight_decay = static_cast<Scalar>(o->weight_decay);
        k.decays = o->weight_decay != 0;
        k.eps = static_cast<Scalar>(o->eps);
        k.eps_inside = o->eps_placement == EpsPlacement::inside_sqrt;
      }
      clr = item.lr / (1.0 + static_cast<double>(item.step - 1) * o->lr_decay);
      k.lr = static_cast<Scalar>(clr);
      this->run(k, item);
    }
    return clr;
  }

 private:
  struct Kernel {
    Scalar weight_decay, eps, lr;
    bool decays, eps_inside;

    template <class V>
    DESCEND_ALWAYS_INLINE void apply(Scalar* pw, const Scalar* pg, Scalar* s,
                                     Eigen::Index /*n*/) const {
      V w = V::load(pw);
      V g = V::load(pg);
      if (decays) g = g + weight_decay * w;  // g = g + λ w
      const V sum = V::load(s) + g * g;      // s = s + g²
      sum.store(s);
      if (eps_inside)
        w = w - lr * g / sqrt(sum + eps);  // w = w - lr g / √(s + ε)
      else
        w = w - lr * g / (sqrt(sum) + eps);  // w = w - lr g / (√s + ε)
      w.store(pw);
    }
  };
};

#ifdef DESCEND_PRECOMPILED
extern template class GroupedOptimizer<float, AdagradOptions>;
extern template class GroupedOptimizer<double, AdagradOptions>;
extern template class Adagrad<float>;
extern template class Adagrad<double>;
#endif

}  // namespace descend
