// AdaGrad, as torch.optim.Adagrad, plus inverse-time learning-rate decay.
//
// For each parameter w with gradient g, at its t-th update (t = 1, 2, ...):
//
//   lr_t = lr / (1 + decay * (t - 1)) / (1 + lr_decay * (t - 1))
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
#include "descend/optim/detail/sqrt.hpp"
#include "descend/optim/optimizer.hpp"

namespace descend {

struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0;
  double weight_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;
  double decay = 0;
  EpsPlacement eps_placement = EpsPlacement::outside_sqrt;
};

template <class Scalar>
class Adagrad : public Optimizer<Scalar> {
 public:
  explicit Adagrad(const AdagradOptions& options = {})
      : Optimizer<Scalar>("descend::Adagrad", options.lr, options.decay), options_(options) {
    const detail::Check check{this->who_};
    check.finite_non_negative("lr_decay", options.lr_decay);
    check.finite_non_negative("weight_decay", options.weight_decay);
    check.finite_non_negative("initial_accumulator_value", options.initial_accumulator_value);
    check.positive("eps", options.eps);
  }

  const AdagradOptions& options() const { return options_; }

  std::vector<std::string> buffer_names() const override { return {"sum"}; }

 protected:
  void init_state(Scalar* buffers, Eigen::Index n) const override {
    std::fill(buffers, buffers + n, static_cast<Scalar>(options_.initial_accumulator_value));
  }

  using typename Optimizer<Scalar>::Work;

  double apply(const Work* work, std::size_t count) override {
    const Scalar wd = static_cast<Scalar>(options_.weight_decay);
    const Scalar eps = static_cast<Scalar>(options_.eps);
    double clr = 0;

    detail::with_flags(
        [&](auto eps_inside) {
          for (std::size_t i = 0; i < count; ++i) {
            const Work& item = work[i];
            clr = item.lr / (1.0 + static_cast<double>(item.step - 1) * options_.lr_decay);
            const Scalar lr_s = static_cast<Scalar>(clr);

            detail::for_each_chunk(item.param, item.grad, item.state, [&](auto& c) {
              auto w = c.param;
              auto s = c.state(0);
              detail::with_weight_decay(c, wd, [&](const auto& g) {
                s += g.square();  // s = s + g²
                if constexpr (eps_inside)
                  w -= lr_s * g / detail::sqrt(s + eps);  // w = w - lr g / √(s + ε)
                else
                  w -= lr_s * g / (detail::sqrt(s) + eps);  // w = w - lr g / (√s + ε)
              });
            });
          }
        },
        options_.eps_placement == EpsPlacement::inside_sqrt);
    return clr;
  }

 private:
  AdagradOptions options_;
};

}  // namespace descend
