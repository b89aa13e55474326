// RMSProp, as torch.optim.RMSprop, plus inverse-time learning-rate decay.
//
// For each parameter w with gradient g, at its t-th update (t = 1, 2, ...):
//
//   lr_t  = lr / (1 + decay * (t - 1))
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
#include "descend/optim/detail/sqrt.hpp"
#include "descend/optim/optimizer.hpp"

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
};

template <class Scalar>
class Rmsprop : public Optimizer<Scalar> {
 public:
  explicit Rmsprop(const RmspropOptions& options = {})
      : Optimizer<Scalar>("descend::Rmsprop", options.lr, options.decay), options_(options) {
    const detail::Check check{this->who_};
    check.in_range("alpha", options.alpha, 0, 1, false);
    check.positive("eps", options.eps);
    check.finite_non_negative("weight_decay", options.weight_decay);
    check.in_range("momentum", options.momentum, 0, 1, true);
  }

  const RmspropOptions& options() const { return options_; }

  std::vector<std::string> buffer_names() const override {
    std::vector<std::string> names{"square_avg"};
    if (options_.centered) names.push_back("grad_avg");
    if (options_.momentum > 0) names.push_back("momentum_buffer");
    return names;
  }

 protected:
  using typename Optimizer<Scalar>::Work;

  double apply(const Work* work, std::size_t count) override {
    const Scalar wd = static_cast<Scalar>(options_.weight_decay);
    const Scalar alpha = static_cast<Scalar>(options_.alpha);
    const Scalar eps = static_cast<Scalar>(options_.eps);
    const Scalar mu = static_cast<Scalar>(options_.momentum);
    const bool lr_inside = options_.momentum_style == MomentumStyle::lr_inside;
    const Eigen::Index momentum_buffer = options_.centered ? 2 : 1;

    return detail::with_flags(
        [&](auto centered, auto eps_inside, auto momentum) {
          for (std::size_t i = 0; i < count; ++i) {
            const Work& item = work[i];
            const Scalar lr_s = static_cast<Scalar>(item.lr);

            detail::for_each_chunk(item.param, item.grad, item.state, [&](auto& c) {
              using Array = typename std::decay_t<decltype(c)>::Array;
              auto w = c.param;
              auto v = c.state(0);
              detail::with_weight_decay(c, wd, [&](const auto& g) {
                v = alpha * v + (1 - alpha) * g.square();  // v = α v + (1 - α) g²
                Array q = v;
                if constexpr (centered) {
                  auto a = c.state(1);
                  a = alpha * a + (1 - alpha) * g;  // a = α a + (1 - α) g
                  q -= a.square();                  // v~ = v - a²
                }
                if constexpr (eps_inside)
                  q = detail::sqrt(q + eps);  // q = √(v~ + ε)
                else
                  q = detail::sqrt(q) + eps;  // q = √v~ + ε
                if constexpr (momentum) {
                  auto b = c.state(momentum_buffer);
                  if (lr_inside) {
                    b = mu * b + lr_s * g / q;  // b = μ b + lr g / q
                    w -= b;                     // w = w - b
                  } else {
                    b = mu * b + g / q;  // b = μ b + g / q
                    w -= lr_s * b;       // w = w - lr b
                  }
                } else {
                  w -= lr_s * g / q;  // w = w - lr g / q
                }
              });
            });
          }
          return work[count - 1].lr;
        },
        options_.centered, options_.eps_placement == EpsPlacement::inside_sqrt,
        options_.momentum > 0);
  }

 private:
  RmspropOptions options_;
};

}  // namespace descend
