// Rprop (resilient backpropagation, Riedmiller & Braun 1993), as
// torch.optim.Rprop in PyTorch 1.13 (torch/optim/rprop.py,
// _single_tensor_rprop): each coefficient keeps its own step size, grown
// while its gradient keeps its sign and shrunk when the sign flips; only the
// gradient's sign moves the weight.
//
// For each coefficient w with gradient g, at every update:
//
//   g    = -g                                      if maximize, first
//   s    = sign(g * prev)                          sign as torch.sign: sign(NaN) = 0
//   eta  = etaplus if s > 0,  etaminus if s < 0,  1 otherwise
//   step = clamp(step * eta, step_size_min, step_size_max)
//   g    = 0                                       where s < 0 (the sign flipped)
//   w    = w - sign(g) * step
//   prev = g
//
// `step` starts at lr when the parameter's state is made (its first update;
// PyTorch: step_size = grad.new().resize_as_(grad).fill_(lr)) and `prev` at 0.
// lr is read there and nowhere else, as in PyTorch: a learning rate changed
// later (set_lr, a schedule) reaches only parameters whose state is made
// after the change. For the same reason `decay` has nothing to act on, and
// Rprop refuses any but 0 rather than ignore it.
//
// torch.sign, and so this, gives 0 for a NaN: a NaN gradient leaves its weight
// and step size unchanged and becomes `prev`, where the next update's sign
// test reads it as 0 (step size kept, weight moved by the new gradient's
// sign). The step size is multiplied, rounded to Scalar, then clamped, as
// PyTorch's step_size.mul_(sign).clamp_(min, max).
//
// Defaults (PyTorch): lr 1e-2, etas (etaminus, etaplus) = (0.5, 1.2),
// step_sizes (step_size_min, step_size_max) = (1e-6, 50), maximize false.
// Checked as PyTorch checks them (0 < etaminus < 1 < etaplus), and
// 0 <= step_size_min <= step_size_max, finite in Scalar.
// State per parameter: "prev", "step_size" (PyTorch's names).
#pragma once

#include <algorithm>

#include "descend/optim/groups.hpp"

namespace descend {

struct RpropOptions {
  double lr = 1e-2;
  double etaminus = 0.5;
  double etaplus = 1.2;
  double step_size_min = 1e-6;
  double step_size_max = 50;
  double decay = 0;  // must stay 0: lr only seeds step_size (see above)
  bool maximize = false;
};

// The options as a checkpoint stores a group's (PyTorch's names, then descend's own).
inline void visit_options(RpropOptions& o, StateFields& f) {
  f.field("lr", o.lr);
  f.field("etas", o.etaminus, o.etaplus);
  f.field("step_sizes", o.step_size_min, o.step_size_max);
  f.field("maximize", o.maximize);
  f.field("decay", o.decay);
}

template <class Scalar>
class Rprop : public GroupedOptimizer<Scalar, RpropOptions> {
 public:
  explicit Rprop(const RpropOptions& options = {})
      : GroupedOptimizer<Scalar, RpropOptions>("descend::Rprop", options) {
    this->validate(options);
  }

 protected:
  using typename Optimizer<Scalar>::Work;

  DESCEND_COLD void check_options(const RpropOptions& options) const override {
    const detail::Check& check = this->check_;
    // In Scalar too: an etaminus that rounds to 1 could not be told from "no
    // sign change".
    const Scalar etaminus = static_cast<Scalar>(options.etaminus);
    const Scalar etaplus = static_cast<Scalar>(options.etaplus);
    if (!(options.etaminus > 0 && options.etaminus < 1 && etaminus > 0 && etaminus < 1))
      detail::fail<std::invalid_argument>(
          this->who_, ": etaminus = ", options.etaminus, " must be in (0, 1), also as ",
          detail::scalar_name<Scalar>(), " (etas: 0 < etaminus < 1 < etaplus)");
    if (!(options.etaplus > 1 && etaplus > 1))
      detail::fail<std::invalid_argument>(this->who_, ": etaplus = ", options.etaplus,
                                          " must be > 1, also as ", detail::scalar_name<Scalar>(),
                                          " (etas: 0 < etaminus < 1 < etaplus)");
    check.template representable<Scalar>("etaplus", options.etaplus);
    check.template representable<Scalar>("step_size_min", options.step_size_min);
    check.template representable<Scalar>("step_size_max", options.step_size_max);
    if (!(options.step_size_min <= options.step_size_max))
      detail::fail<std::invalid_argument>(this->who_, ": step_size_min = ", options.step_size_min,
                                          " must be <= step_size_max = ", options.step_size_max);
    if (options.decay != 0)
      detail::fail<std::invalid_argument>(
          this->who_, ": decay = ", options.decay,
          " would have no effect: Rprop's lr only sets a parameter's first step_size (as "
          "PyTorch's); use 0");
  }
  DESCEND_COLD detail::BufferNames names_of(const RpropOptions&) const override {
    return {"prev", "step_size"};
  }
  bool same_buffers(const RpropOptions&, const RpropOptions&) const override { return true; }

  // prev = 0, step_size = lr (in Scalar), as PyTorch's fill_(group['lr']).
  void init_state(Scalar* buffers, Eigen::Index n, std::size_t group) const override {
    std::fill(buffers + n, buffers + 2 * n, static_cast<Scalar>(this->groups_[group].lr));
  }

  DESCEND_NOINLINE double apply(const Work* work, std::size_t count) override {
    Kernel k;
    for (std::size_t i = 0; i < count; ++i) {
      const Work& item = work[i];
      if (i == 0 || item.group != work[i - 1].group) {
        const RpropOptions& o = this->groups_[item.group];
        k.etaminus = static_cast<Scalar>(o.etaminus);
        k.etaplus = static_cast<Scalar>(o.etaplus);
        k.step_min = static_cast<Scalar>(o.step_size_min);
        k.step_max = static_cast<Scalar>(o.step_size_max);
      }
      this->run(k, item);
    }
    return work[count - 1].lr;
  }

 private:
  struct Kernel {
    Scalar etaminus, etaplus, step_min, step_max;

    template <class V>
    DESCEND_ALWAYS_INLINE void apply(Scalar* pw, const Scalar* pg, Scalar* s,
                                     Eigen::Index n) const {
      using detail::broadcast;
      const V zero = broadcast<V>(0);
      V g = V::load(pg);
      const V prod = g * V::load(s);  // g prev
      const V flipped = lt(prod, zero);
      const V eta = select(gt(prod, zero), broadcast<V>(etaplus),  // η+, η-, or 1
                           select(flipped, broadcast<V>(etaminus), broadcast<V>(1)));
      const V step = clamp(V::load(s + n) * eta, step_min, step_max);  // clamp(step η, min, max)
      g = select(flipped, zero, g);                                    // g = 0 where it flipped
      const V w = V::load(pw) - sign(g) * step;                        // w = w - sign(g) step
      w.store(pw);
      g.store(s);  // prev = g
      step.store(s + n);
    }
  };
};

#ifdef DESCEND_PRECOMPILED
extern template class GroupedOptimizer<float, RpropOptions>;
extern template class GroupedOptimizer<double, RpropOptions>;
extern template class Rprop<float>;
extern template class Rprop<double>;
#endif

}  // namespace descend
