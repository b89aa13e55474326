// SGD with momentum, dampening, Nesterov momentum and L2 weight decay, as
// torch.optim.SGD, plus inverse-time learning-rate decay.
//
// For each parameter w with gradient g, at its t-th update (t = 1, 2, ...):
//
//   lr_t = lr / (1 + decay * (t - 1))                inverse-time decay
//   g    = -g                                        if maximize, first
//   g    = g + weight_decay * w                      L2 penalty, if weight_decay != 0
//   if momentum != 0:
//     b  = g                                         t = 1 (no dampening, as PyTorch)
//     b  = momentum * b + (1 - dampening) * g        t > 1
//     d  = nesterov ? g + momentum * b : b
//   else d = g
//   w    = w - lr_t * d
//
// With momentum_style = MomentumStyle::lr_inside the learning rate moves into
// the buffer (cute-dl, Paddle NNDL book): every g above is read as lr_t * g and
// the last line is w = w - d. Identical to the default while lr_t is constant.
//
// Defaults (PyTorch 2.x): lr 1e-3, momentum 0, dampening 0, nesterov false, maximize false,
// weight_decay 0; decay 0. Seed 000's "SGD with momentum" (v = g + mu * v,
// w -= lr_t * v, lr_t = lr / (1 + decay * iteration)) is this class with
// momentum = mu and decay set. Nesterov needs momentum > 0 and dampening 0.
// State per parameter: "momentum_buffer" (only when momentum != 0).
#pragma once

#include "descend/optim/conventions.hpp"
#include "descend/optim/groups.hpp"

namespace descend {

struct SgdOptions {
  double lr = 1e-3;
  double momentum = 0;
  double dampening = 0;
  bool nesterov = false;
  double weight_decay = 0;
  double decay = 0;
  MomentumStyle momentum_style = MomentumStyle::lr_outside;
  bool maximize = false;
};

// The options as a checkpoint stores a group's (PyTorch's names, then descend's own).
inline void visit_options(SgdOptions& o, StateFields& f) {
  f.field("lr", o.lr);
  f.field("momentum", o.momentum);
  f.field("dampening", o.dampening);
  f.field("weight_decay", o.weight_decay);
  f.field("nesterov", o.nesterov);
  f.field("maximize", o.maximize);
  f.field("decay", o.decay);
  f.choice("momentum_style", o.momentum_style, kMomentumStyleNames);
}

template <class Scalar>
class Sgd : public GroupedOptimizer<Scalar, SgdOptions> {
 public:
  explicit Sgd(const SgdOptions& options = {})
      : GroupedOptimizer<Scalar, SgdOptions>("descend::Sgd", options) {
    this->validate(options);
  }

  const char* momentum_name() const override { return "momentum"; }

 protected:
  using typename Optimizer<Scalar>::Work;

  DESCEND_COLD void check_options(const SgdOptions& options) const override {
    const detail::Check& check = this->check_;
    check.in_range("momentum", options.momentum, 0, 1, true);
    check.in_range("dampening", options.dampening, 0, 1, false);
    check.template representable<Scalar>("weight_decay", options.weight_decay);
    if (options.nesterov && !(options.momentum > 0 && options.dampening == 0))
      detail::fail<std::invalid_argument>(
          this->who_,
          ": nesterov needs momentum > 0 and dampening = 0 (momentum = ", options.momentum,
          ", dampening = ", options.dampening, ")");
  }
  DESCEND_COLD detail::BufferNames names_of(const SgdOptions& options) const override {
    if (options.momentum == 0) return {};
    return {"momentum_buffer"};
  }
  bool same_buffers(const SgdOptions& a, const SgdOptions& b) const override {
    return (a.momentum == 0) == (b.momentum == 0);
  }
  double group_momentum(std::size_t group) const override { return this->groups_[group].momentum; }
  void set_group_momentum(std::size_t group, double momentum) override {
    this->template set_member<&SgdOptions::momentum>(group, momentum);
  }

  DESCEND_NOINLINE double apply(const Work* work, std::size_t count) override {
    const SgdOptions* o = nullptr;
    bool inside = false, plain = false;
    Kernel k;
    for (std::size_t i = 0; i < count; ++i) {
      const Work& item = work[i];
      if (i == 0 || item.group != work[i - 1].group) {
        o = &this->groups_[item.group];
        inside = o->momentum_style == MomentumStyle::lr_inside;
        k.weight_decay = static_cast<Scalar>(o->weight_decay);
        k.decays = o->weight_decay != 0;
        k.momentum = static_cast<Scalar>(o->momentum);
        k.has_momentum = o->momentum != 0;
        k.nesterov = o->nesterov;
        // The most common SGD has a loop of its own: in cache, the two tests
        // per packet would cost as much as its arithmetic.
        plain = !k.has_momentum && !k.decays;
      }
      k.lr = static_cast<Scalar>(item.lr);
      // Scale of the gradient entering the buffer, and of the step leaving it.
      k.in = inside ? k.lr : Scalar(1);
      k.out = inside ? Scalar(1) : k.lr;
      // The buffer starts at zero, so at t = 1 this makes b = g, undampened.
      const double damped = item.step == 1 ? 1.0 : 1.0 - o->dampening;
      k.damped = static_cast<Scalar>(inside ? damped * item.lr : damped);
      if (plain)
        this->run(PlainKernel{k.lr}, item);
      else
        this->run(k, item);
    }
    return work[count - 1].lr;
  }

 private:
  struct PlainKernel {
    Scalar lr;

    template <class V>
    DESCEND_ALWAYS_INLINE void apply(Scalar* pw, const Scalar* pg, Scalar* /*s*/,
                                     Eigen::Index /*n*/) const {
      (V::load(pw) - lr * V::load(pg)).store(pw);  // w = w - lr g
    }
  };

  struct Kernel {
    Scalar weight_decay, momentum, lr, in, out, damped;
    bool decays, has_momentum, nesterov;

    template <class V>
    DESCEND_ALWAYS_INLINE void apply(Scalar* pw, const Scalar* pg, Scalar* s,
                                     Eigen::Index /*n*/) const {
      V w = V::load(pw);
      V g = V::load(pg);
      if (decays) g = g + weight_decay * w;  // g = g + λ w
      if (!has_momentum) {
        w = w - lr * g;  // w = w - lr g
      } else {
        const V b = momentum * V::load(s) + damped * g;  // b = μ b + (1 - τ) g
        b.store(s);
        if (nesterov)
          w = w - out * (in * g + momentum * b);  // w = w - lr (g + μ b)
        else
          w = w - out * b;  // w = w - lr b
      }
      w.store(pw);
    }
  };
};

// PyTorch's spellings.
template <class Scalar>
using SGD = Sgd<Scalar>;
using SGDOptions = SgdOptions;

#ifdef DESCEND_PRECOMPILED
extern template class GroupedOptimizer<float, SgdOptions>;
extern template class GroupedOptimizer<double, SgdOptions>;
extern template class Sgd<float>;
extern template class Sgd<double>;
#endif

}  // namespace descend
