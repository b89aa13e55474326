// Adam, AMSGrad and AdamW, as torch.optim.Adam / torch.optim.AdamW, plus
// inverse-time learning-rate decay.
//
// For each parameter w with gradient g, at its t-th update (t = 1, 2, ...):
//
//   lr_t = lr / (1 + decay * (t - 1))
//   if decoupled_weight_decay:  w = w - lr_t * weight_decay * w     (AdamW)
//   else:                       g = g + weight_decay * w            (L2, if != 0)
//   m    = beta1 * m + (1 - beta1) * g
//   v    = beta2 * v + (1 - beta2) * g^2
//   if amsgrad:  v_max = max(v_max, v);  r = v_max
//   else:        r = v
//   m^   = m / (1 - beta1^t)
//   r^   = r / (1 - beta2^t)
//   w    = w - lr_t * m^ / (sqrt(r^) + eps)          EpsPlacement::outside_sqrt (PyTorch)
//   w    = w - lr_t * m^ / sqrt(r^ + eps)            EpsPlacement::inside_sqrt (NNDL book)
//
// AMSGrad keeps the running maximum of the raw v and bias-corrects it, as
// PyTorch's implementation does (the torch 1.13 docs wrote the maximum of the
// corrected v^ instead; the two differ, and the code is what users ran).
// Defaults (PyTorch): lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-8,
// weight_decay 0, amsgrad false. AdamW is Adam with decoupled weight decay and
// weight_decay 1e-2 by default.
// State per parameter: "exp_avg" (m), "exp_avg_sq" (v), and "max_exp_avg_sq"
// (v_max) if amsgrad.
#pragma once

#include <cmath>

#include "descend/optim/conventions.hpp"
#include "descend/optim/detail/sqrt.hpp"
#include "descend/optim/optimizer.hpp"

namespace descend {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
  bool decoupled_weight_decay = false;
  double decay = 0;
  EpsPlacement eps_placement = EpsPlacement::outside_sqrt;
};

template <class Scalar>
class Adam : public Optimizer<Scalar> {
 public:
  explicit Adam(const AdamOptions& options = {}) : Adam("descend::Adam", options) {}

  const AdamOptions& options() const { return options_; }

  std::vector<std::string> buffer_names() const override {
    if (options_.amsgrad) return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    return {"exp_avg", "exp_avg_sq"};
  }

 protected:
  Adam(const char* who, const AdamOptions& options)
      : Optimizer<Scalar>(who, options.lr, options.decay), options_(options) {
    const detail::Check check{this->who_};
    check.in_range("beta1", options.beta1, 0, 1, true);
    check.in_range("beta2", options.beta2, 0, 1, true);
    check.positive("eps", options.eps);
    check.finite_non_negative("weight_decay", options.weight_decay);
  }

  using typename Optimizer<Scalar>::Work;

  double apply(const Work* work, std::size_t count) override {
    const Scalar b1 = static_cast<Scalar>(options_.beta1);
    const Scalar b2 = static_cast<Scalar>(options_.beta2);
    const Scalar eps = static_cast<Scalar>(options_.eps);
    const Scalar wd = static_cast<Scalar>(options_.weight_decay);
    const bool inside = options_.eps_placement == EpsPlacement::inside_sqrt;
    const bool decoupled = options_.decoupled_weight_decay && options_.weight_decay != 0;

    return detail::with_flags(
        [&](auto amsgrad, auto eps_inside, auto decoupled_wd) {
          for (std::size_t i = 0; i < count; ++i) {
            const Work& item = work[i];
            set_bias_corrections(item.step);
            const Scalar step_size = static_cast<Scalar>(item.lr * inv_bc1_);  // lr / (1 - β1^t)
            const Scalar inv_bc2 = static_cast<Scalar>(inv_bc2_);
            const Scalar inv_sqrt_bc2 = static_cast<Scalar>(inv_sqrt_bc2_);
            // AdamW's w = w - lr λ w, folded into the last statement.
            const Scalar shrink = static_cast<Scalar>(1.0 - item.lr * options_.weight_decay);

            auto adam_chunk = [&](auto& c, const auto& g) {
              auto w = c.param;
              auto m = c.state(0);
              auto v = c.state(1);
              m = b1 * m + (1 - b1) * g;           // m = β1 m + (1 - β1) g
              v = b2 * v + (1 - b2) * g.square();  // v = β2 v + (1 - β2) g²
              auto r = c.state(amsgrad ? 2 : 1);   // what the step divides by
              if constexpr (amsgrad) r = r.max(v);  // v_max = max(v_max, v)
              auto finish = [&](const auto& denom) {
                if constexpr (decoupled_wd)
                  w = shrink * w - step_size * m / denom;  // w = (1 - lr λ) w - lr m^ / denom
                else
                  w -= step_size * m / denom;  // w = w - lr m^ / denom
              };
              if constexpr (eps_inside)
                finish(detail::sqrt(r * inv_bc2 + eps));  // denom = √(r^ + ε)
              else
                finish(detail::sqrt(r) * inv_sqrt_bc2 + eps);  // denom = √r^ + ε
            };
            detail::for_each_chunk(item.param, item.grad, item.state, [&](auto& c) {
              if constexpr (decoupled_wd)
                adam_chunk(c, c.grad);
              else
                detail::with_weight_decay(c, wd, [&](const auto& g) { adam_chunk(c, g); });
            });
          }
          return work[count - 1].lr;
        },
        options_.amsgrad, inside, decoupled);
  }

 private:
  // Parameters at the same step share these.
  void set_bias_corrections(std::int64_t step) {
    if (step == cached_step_) return;
    cached_step_ = step;
    const double bias_correction1 = 1.0 - std::pow(options_.beta1, static_cast<double>(step));
    const double bias_correction2 = 1.0 - std::pow(options_.beta2, static_cast<double>(step));
    inv_bc1_ = 1.0 / bias_correction1;
    inv_bc2_ = 1.0 / bias_correction2;
    inv_sqrt_bc2_ = 1.0 / std::sqrt(bias_correction2);
  }

  AdamOptions options_;
  std::int64_t cached_step_ = 0;  // the step count the next three belong to
  double inv_bc1_ = 0;            // 1 / (1 - β1^t)
  double inv_bc2_ = 0;            // 1 / (1 - β2^t)
  double inv_sqrt_bc2_ = 0;       // 1 / √(1 - β2^t)
};

// Adam with decoupled weight decay (Loshchilov & Hutter), with PyTorch's AdamW
// defaults. Its options always have decoupled_weight_decay = true.
template <class Scalar>
class AdamW : public Adam<Scalar> {
 public:
  // PyTorch's AdamW defaults: Adam's, with weight_decay 1e-2, decoupled.
  static AdamOptions defaults() {
    AdamOptions options;
    options.weight_decay = 1e-2;
    options.decoupled_weight_decay = true;
    return options;
  }

  explicit AdamW(const AdamOptions& options = defaults())
      : Adam<Scalar>("descend::AdamW", decoupled(options)) {}

 private:
  static AdamOptions decoupled(AdamOptions options) {
    options.decoupled_weight_decay = true;
    return options;
  }
};

}  // namespace descend
