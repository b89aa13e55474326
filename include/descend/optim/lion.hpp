// Lion (EvoLved Sign Momentum; Chen et al. 2023, "Symbolic Discovery of
// Optimization Algorithms", arXiv:2302.06675), as the authors' PyTorch code
// (github.com/google/automl, lion/lion_pytorch.py; lucidrains/lion-pytorch is
// the same update), plus inverse-time learning-rate decay. PyTorch 1.13 has
// no Lion.
//
// For each parameter w with gradient g, at its t-th update (t = 1, 2, ...):
//
//   lr_t = lr / (1 + decay * (t - 1))
//   g    = -g                                   if maximize, first (descend's)
//   w    = (1 - lr_t * weight_decay) * w        decoupled weight decay, first
//   c    = beta1 * m + (1 - beta1) * g
//   w    = w - lr_t * sign(c)                   sign as torch.sign: sign(0) = sign(NaN) = 0
//   m    = beta2 * m + (1 - beta2) * g
//
// Every step moves each weight by exactly lr_t (or not at all where c is 0 or
// NaN), so Lion wants a smaller lr than Adam (the authors suggest 3-10x
// smaller, and a weight_decay larger by the same factor). A NaN gradient makes
// m NaN for good, and with it c, so that coefficient stops moving (as in the
// authors' code).
// Defaults (the authors'): lr 1e-4, beta1 0.9, beta2 0.99, weight_decay 0;
// betas in [0, 1), as the authors check them.
// State per parameter: "exp_avg" (m).
#pragma once

#include "descend/optim/detail/adam_family.hpp"
#include "descend/optim/groups.hpp"

namespace descend {

struct LionOptions {
  double lr = 1e-4;
  double beta1 = 0.9;
  double beta2 = 0.99;
  double weight_decay = 0;
  double decay = 0;
  bool maximize = false;
};

// The options as a checkpoint stores a group's (the authors' names, then descend's own).
inline void visit_options(LionOptions& o, StateFields& f) {
  f.field("lr", o.lr);
  f.field("betas", o.beta1, o.beta2);
  f.field("weight_decay", o.weight_decay);
  f.field("maximize", o.maximize);
  f.field("decay", o.decay);
}

template <class Scalar>
class Lion : public GroupedOptimizer<Scalar, LionOptions> {
 public:
  explicit Lion(const LionOptions& options = {})
      : GroupedOptimizer<Scalar, LionOptions>("descend::Lion", options) {
    this->validate(options);
  }

  const char* momentum_name() const override { return "beta1"; }

 protected:
  using typename Optimizer<Scalar>::Work;

  DESCEND_COLD void check_options(const LionOptions& options) const override {
    detail::check_betas(this->check_, options.beta1, options.beta2);
    this->check_.template representable<Scalar>("weight_decay", options.weight_decay);
  }
  DESCEND_COLD detail::BufferNames names_of(const LionOptions&) const override {
    return {"exp_avg"};
  }
  bool same_buffers(const LionOptions&, const LionOptions&) const override { return true; }
  double group_momentum(std::size_t group) const override { return this->groups_[group].beta1; }
  void set_group_momentum(std::size_t group, double beta1) override {
    this->template set_member<&LionOptions::beta1>(group, beta1);
  }

  DESCEND_NOINLINE double apply(const Work* work, std::size_t count) override {
    Kernel k;
    for (std::size_t i = 0; i < count; ++i) {
      const Work& item = work[i];
      const LionOptions& o = this->groups_[item.group];
      if (detail::starts_group(work, i)) {
        detail::set_betas<Scalar>(k, o);
        k.decoupled = o.weight_decay != 0;
      }
      k.lr = static_cast<Scalar>(item.lr);
      k.shrink = static_cast<Scalar>(1.0 - item.lr * o.weight_decay);
      this->run(k, item);
    }
    return work[count - 1].lr;
  }

 private:
  // Every constant formed in double and rounded to Scalar once, as the
  // authors' code forms them from Python floats; the betas by detail::set_betas.
  struct Kernel {
    Scalar beta1, one_minus_beta1, beta2, one_minus_beta2, lr, shrink;
    bool decoupled;

    template <class V>
    DESCEND_ALWAYS_INLINE void apply(Scalar* pw, const Scalar* pg, Scalar* s,
                                     Eigen::Index /*n*/) const {
      V w = V::load(pw);
      const V g = V::load(pg);
      const V m = V::load(s);
      if (decoupled) w = shrink * w;                // w = (1 - lr λ) w
      const V c = beta1 * m + one_minus_beta1 * g;  // c = β1 m + (1 - β1) g
      w = w - times_sign(lr, c);                    // w = w - lr sign(c)
      w.store(pw);
      (beta2 * m + one_minus_beta2 * g).store(s);  // m = β2 m + (1 - β2) g
    }
  };
};

#ifdef DESCEND_PRECOMPILED
extern template class GroupedOptimizer<float, LionOptions>;
extern template class GroupedOptimizer<double, LionOptions>;
extern template class Lion<float>;
extern template class Lion<double>;
#endif

}  // namespace descend
