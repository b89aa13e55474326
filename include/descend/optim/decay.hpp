// Step-driven schedules from outside PyTorch: the step decay of SGD's
// lr_decay in the Mytorch tutorial (a Chinese-language PyTorch-from-scratch
// tutorial), in the compounding form its code has and the non-compounding
// form its formula reads as, and numpy-ml's NoamScheduler
// (numpy_ml/neural_nets/schedulers/schedulers.py). See schedule.hpp for what
// every schedule shares (attaching, step(), last_epoch, one group).
//
// Counting: these sources number updates from t = 1 and compute the lr of
// update t before making it. Here the constructor sets the lr of update 1
// and the k-th step() that of update k + 1: t = last_epoch + 1.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "descend/optim/schedule.hpp"

namespace descend {

// CompoundingStepDecay: Mytorch's SGD.step() exactly. Its code, at every
// update, does
//   epoch += 1;  lr = lr * (1 - lr_decay) ** (epoch // 100)
// and then updates with lr: the factor compounds, so after update t
//   lr_t = b * (1 - lr_decay)^(sum over k = 1..t of floor(k / period))
// (constant for t < 100, then falling by (1 - d) every update, by (1 - d)^2
// from t = 200, ...).
//   chainable: lr * (1 - lr_decay)^floor((e + 1) / period)
//   closed:    the product above with t = e + 1
// Defaults: period 100 (fixed in Mytorch). lr_decay in [0, 1], period >= 1.
class CompoundingStepDecay : public StepSchedule {
 public:
  CompoundingStepDecay(const ScheduleTarget& target, double lr_decay, std::int64_t period = 100)
      : StepSchedule(target, "descend::CompoundingStepDecay"), d_(lr_decay), period_(period) {
    check_.in_range("lr_decay", lr_decay, 0, 1, false);
    check_.at_least("period", static_cast<double>(period), 1);
    start();
  }

 protected:
  void rates(std::int64_t e, bool closed, Rates& out) const override {
    const std::int64_t t = e + 1, q = t / period_, r = t % period_;
    // sum_{k=1..t} floor(k / p) = p q (q - 1) / 2 + q (r + 1), computed only
    // for the closed form (at e = 0): for large e it overflows.
    const auto exponent =
        closed ? static_cast<double>(period_ * q * (q - 1) / 2 + q * (r + 1)) : 0.0;
    each(out, [&](std::size_t i, double lr) {
      if (closed) return base_lrs_[i] * std::pow(1 - d_, exponent);
      return lr * std::pow(1 - d_, static_cast<double>(t / period_));
    });
  }

 private:
  double d_;
  std::int64_t period_;
};

// StepDecay: the non-compounding reading of the same formula,
//   lr_t = b * (1 - lr_decay)^floor(t / period),   t = e + 1
// (StepLR(period, 1 - lr_decay) is the same one update later:
// b * gamma^floor(e / period)). Defaults: period 100. lr_decay in [0, 1].
class StepDecay : public StepSchedule {
 public:
  StepDecay(const ScheduleTarget& target, double lr_decay, std::int64_t period = 100)
      : StepSchedule(target, "descend::StepDecay"), d_(lr_decay), period_(period) {
    check_.in_range("lr_decay", lr_decay, 0, 1, false);
    check_.at_least("period", static_cast<double>(period), 1);
    start();
  }

 protected:
  void rates(std::int64_t e, bool, Rates& out) const override {
    each(out, [&](std::size_t i, double) {
      return base_lrs_[i] * std::pow(1 - d_, static_cast<double>((e + 1) / period_));
    });
  }

 private:
  double d_;
  std::int64_t period_;
};

// NoamScheduler (Vaswani et al. 2017, as numpy-ml has it): a linear warm-up
// then decay as 1 / sqrt(t), the same lr for every group (the groups' own
// lrs are not read):
//   lr_t = scale_factor * model_dim^-0.5 * min(t^-0.5, t * warmup_steps^-1.5),  t = e + 1
// numpy-ml passes the loss too but Noam does not read it, so here it is a
// step-driven schedule (it composes with SequentialLR and ChainedScheduler).
// Defaults: model_dim 512, scale_factor 1, warmup_steps 4000.
class NoamScheduler : public StepSchedule {
 public:
  explicit NoamScheduler(const ScheduleTarget& target, double model_dim = 512,
                         double scale_factor = 1, std::int64_t warmup_steps = 4000)
      : StepSchedule(target, "descend::NoamScheduler"),
        model_dim_(model_dim),
        scale_factor_(scale_factor),
        warmup_steps_(warmup_steps) {
    check_.positive("model_dim", model_dim);
    check_.finite_non_negative("scale_factor", scale_factor);
    check_.at_least("warmup_steps", static_cast<double>(warmup_steps), 1);
    start();
  }

 protected:
  void rates(std::int64_t e, bool, Rates& out) const override {
    const auto step = static_cast<double>(e + 1);
    const double new_lr =
        std::pow(model_dim_, -0.5) *
        std::min(std::pow(step, -0.5), step * std::pow(static_cast<double>(warmup_steps_), -1.5));
    each(out, [&](std::size_t, double) { return scale_factor_ * new_lr; });
  }

 private:
  double model_dim_, scale_factor_;
  std::int64_t warmup_steps_;
};

}  // namespace descend
