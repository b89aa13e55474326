// RMSProp, as torch.optim.RMSprop, plus inverse-time learning-rate decay.
//
// For each parameter w with gradient g, at its t-th update (t = 1, 2, ...):
//
//   lr_t  = lr / (1 + decay * (t - 1))
//   g     = -g                                       if maximize, first
//   g     = g + weight_decay * w                     if weight_decay != 0
//   v     = alpha * v + (1 - alpha) * g^2
//   if centered:
//     a   = alpha * a + (1 - alpha) * g
//     v~  = v - a^2
//   else v~ = v
//   q     = sqrt(v~) + eps                           EpsPlacement::outside_sqrt (PyTorch)
//   q     = sqrt(v~ + eps)                           EpsPlacement::inside_sqrt (NNDL book)
//   if momentum > 0:
//     b   = momentum * b + g / q
//     w   = w - lr_t * b
//   else
//     w   = w - lr_t * g / q
//
// With momentum_style = MomentumStyle::lr_inside the buffer takes the learning
// rate: b = momentum * b + lr_t * g / q and w = w - b.
// Defaults (PyTorch): lr 1e-2, alpha 0.99, eps 1e-8, weight_decay 0,
// momentum 0, centered false. Seed 000 and the NNDL book call alpha "rho"/"beta".
// State per parameter: "square_avg", then "grad_avg" if centered, then
// "momentum_buffer" if momentum > 0.
#pragma once

#include "descend/optim/conventions.hpp"
#include "descend/optim/groups.hpp"

namespace descend {

struct RmspropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;
  double decay = 0;
  EpsPlacement eps_placement = EpsPlacement::outside_sqrt;
  MomentumStyle momentum_style = MomentumStyle::lr_outside;
  bool maximize = false;
};

// The options as a checkpoint stores a group's (PyTorch's names, then descend's own).
inline void visit_options(RmspropOptions& o, StateFields& f) {
  f.field("lr", o.lr);
  f.field("alpha", o.alpha);
  f.field("eps", o.eps);
  f.field("weight_decay", o.weight_decay);
  f.field("momentum", o.momentum);
  f.field("centered", o.centered);
  f.field("maximize", o.maximize);
  f.field("decay", o.decay);
  f.choice("eps_placement", o.eps_placement, kEpsPlacementNames);
  f.choice("momentum_style", o.momentum_style, kMomentumStyleNames);
}

template <class Scalar>
class Rmsprop : public GroupedOptimizer<Scalar, RmspropOptions> {
 public:
  explicit Rmsprop(const RmspropOptions& options = {})
      : GroupedOptimizer<Scalar, RmspropOptions>("descend::Rmsprop", options) {
    this->validate(options);
  }

  const char* momentum_name() const override { return "momentum"; }

 protected:
  using typename Optimizer<Scalar>::Work;

  DESCEND_COLD void check_options(const RmspropOptions& options) const override {
    const detail::Check& check = this->check_;
    check.in_range("alpha", options.alpha, 0, 1, false);
    check.template positive_representable<Scalar>("eps", options.eps);
    check.template representable<Scalar>("weight_decay", options.weight_decay);
    check.in_range("momentum", options.momentum, 0, 1, true);
  }
  DESCEND_COLD detail::BufferNames names_of(const RmspropOptions& options) const override {
    detail::BufferNames names{"square_avg"};
    if (options.centered) names.push_back("grad_avg");
    if (options.momentum > 0) names.push_back("momentum_buffer");
    return names;
  }
  bool same_buffers(const RmspropOptions& a, const RmspropOptions& b) const override {
    return a.centered == b.centered && (a.momentum > 0) == (b.momentum > 0);
  }
  double group_momentum(std::size_t group) const override { return this->groups_[group].momentum; }
  void set_group_momentum(std::size_t group, double momentum) override {
    this->template set_member<&RmspropOptions::momentum>(group, momentum);
  }

  DESCEND_NOINLINE double apply(const Work* work, std::size_t count) override {
    Kernel k;
    for (std::size_t i = 0; i < count; ++i) {
      const Work& item = work[i];
      if (i == 0 || item.group != work[i - 1].group) {
        const RmspropOptions& o = this->groups_[item.group];
        k.weight_decay = static_cast<Scalar>(o.weight_decay);
        k.decays = o.weight_decay != 0;
        k.alpha = static_cast<Scalar>(o.alpha);
        k.one_minus_alpha = static_cast<Scalar>(1.0 - o.alpha);
        k.eps = static_cast<Scalar>(o.eps);
        k.momentum = static_cast<Scalar>(o.momentum);
        k.centered = o.centered;
        k.eps_inside = o.eps_placement == EpsPlacement::inside_sqrt;
        k.has_momentum = o.momentum > 0;
        k.lr_inside = o.momentum_style == MomentumStyle::lr_inside;
        k.momentum_buffer = o.centered ? 2 : 1;
      }
      k.lr = static_cast<Scalar>(item.lr);
      this->run(k, item);
    }
    return work[count - 1].lr;
  }

 private:
  struct Kernel {
    Scalar weight_decay, alpha, one_minus_alpha, eps, momentum, lr;
    bool decays, centered, eps_inside, has_momentum, lr_inside;
    Eigen::Index momentum_buffer;  // which state buffer holds b

    template <class V>
    DESCEND_ALWAYS_INLINE void apply(Scalar* pw, const Scalar* pg, Scalar* s,
                                     Eigen::Index n) const {
      V w = V::load(pw);
      V g = V::load(pg);
      if (decays) g = g + weight_decay * w;                        // g = g + λ w
      const V v = alpha * V::load(s) + one_minus_alpha * (g * g);  // v = α v + (1 - α) g²
      v.store(s);
      V q = v;
      if (centered) {
        const V a = alpha * V::load(s + n) + one_minus_alpha * g;  // a = α a + (1 - α) g
        a.store(s + n);
        q = q - a * a;  // v~ = v - a²
      }
      q = eps_inside ? sqrt(q + eps)   // q = √(v~ + ε)
                     : sqrt(q) + eps;  // q = √v~ + ε
      if (has_momentum) {
        Scalar* pb = s + momentum_buffer * n;
        if (lr_inside) {
          const V b = momentum * V::load(pb) + lr * g / q;  // b = μ b + lr g / q
          b.store(pb);
          w = w - b;  // w = w - b
        } else {
          const V b = momentum * V::load(pb) + g / q;  // b = μ b + g / q
          b.store(pb);
          w = w - lr * b;  // w = w - lr b
        }
      } else {
        w = w - lr * g / q;  // w = w - lr g / q
      }
      w.store(pw);
    }
  };
};

// PyTorch's spelling.
template <class Scalar>
using RMSprop = Rmsprop<Scalar>;
using RMSpropOptions = RmspropOptions;

#ifdef DESCEND_PRECOMPILED
extern template class GroupedOptimizer<float, RmspropOptions>;
extern template class GroupedOptimizer<double, RmspropOptions>;
extern template class Rmsprop<float>;
extern template class Rmsprop<double>;
#endif

}  // namespace descend
