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
#include "descend/optim/detail/sqrt.hpp"
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
    const detail::Check check{this->who_};
    check.in_range("rho", options.rho, 0, 1, false);
    check.positive("eps", options.eps);
    check.finite_non_negative("weight_decay", options.weight_decay);
  }

  const AdadeltaOptions& options() const { return options_; }

  std::vector<std::string> buffer_names() const override { return {"square_avg", "acc_delta"}; }

 protected:
  using typename Optimizer<Scalar>::Work;

  double apply(const Work* work, std::size_t count) override {
    const Scalar wd = static_cast<Scalar>(options_.weight_decay);
    const Scalar rho = static_cast<Scalar>(options_.rho);
    const Scalar eps = static_cast<Scalar>(options_.eps);

    return detail::with_flags(
        [&](auto eps_inside) {
          for (std::size_t i = 0; i < count; ++i) {
            const Work& item = work[i];
            const Scalar lr_s = static_cast<Scalar>(item.lr);

            detail::for_each_chunk(item.param, item.grad, item.state, [&](auto& c) {
              using Array = typename std::decay_t<decltype(c)>::Array;
              auto w = c.param;
              auto v = c.state(0);
              auto u = c.state(1);
              detail::with_weight_decay(c, wd, [&](const auto& g) {
                v = rho * v + (1 - rho) * g.square();  // v = ρ v + (1 - ρ) g²
                Array d(g.size());
                if constexpr (eps_inside)
                  d = detail::sqrt((u + eps) / (v + eps)) * g;  // d = √(u + ε) / √(v + ε) g
                else                                            // d = (√u + ε) / (√v + ε) g
                  d = (detail::sqrt(u) + eps) / (detail::sqrt(v) + eps) * g;
                u = rho * u + (1 - rho) * d.square();  // u = ρ u + (1 - ρ) d²
                w -= lr_s * d;                         // w = w - lr d
              });
            });
          }
          return work[count - 1].lr;
        },
        options_.eps_placement == EpsPlacement::inside_sqrt);
  }

 private:
  AdadeltaOptions options_;
};

}  // namespace descend
