// Cyclical schedules, as PyTorch 1.13's CyclicLR and OneCycleLR: the lr (and,
// inversely, the momentum or Adam's beta1) moves between two bounds once per
// step. Neither is chainable: each sets the lr from its formula at every step.
// See schedule.hpp for what every schedule shares (attaching, step(),
// last_epoch, one group).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <stdexcept>
#include <vector>

#include "descend/optim/schedule.hpp"

namespace descend {

enum class CyclicMode { triangular, triangular2, exp_range };
enum class ScaleMode { cycle, iterations };

// Defaults as torch.optim.lr_scheduler.CyclicLR; base_lr and max_lr are
// required (one value, or one per group).
struct CyclicLROptions {
  PerGroup base_lr;
  PerGroup max_lr;
  double step_size_up = 2000;
  std::optional<double> step_size_down;  // step_size_up when unset
  CyclicMode mode = CyclicMode::triangular;
  double gamma = 1.0;
  std::function<double(double)> scale_fn;   // when set, mode is ignored
  ScaleMode scale_mode = ScaleMode::cycle;  // read only with scale_fn
  bool cycle_momentum = true;
  PerGroup base_momentum = 0.8;
  PerGroup max_momentum = 0.9;
};

// CyclicLR (Smith 2017, "Cyclical Learning Rates for Training Neural
// Networks"), with e = last_epoch, S = step_size_up + step_size_down:
//   cycle = floor(1 + e / S),  x = 1 + e / S - cycle
//   f     = x / r  if x <= r, else (x - 1) / (r - 1),   r = step_size_up / S
//   lr       = base_lr + (max_lr - base_lr) f s
//   momentum = max_momentum - (max_momentum - base_momentum) f s
// with s = scale_fn(cycle) (triangular: 1; triangular2: 1 / 2^(cycle - 1)) or
// s = scale_fn(e) (exp_range: gamma^e; a scale_fn with ScaleMode::iterations).
// The docs say exp_range scales by gamma^(cycle iterations) and
// "iterations" counts from the start of the cycle; the code (followed) uses
// e, the iterations since the start of training.
//
// As PyTorch's constructor: the groups' lrs become base_lr (and their
// initial_lr, where not yet set), and the lr after construction is the
// groups' initial_lr, which is base_lr unless an earlier schedule set it.
// cycle_momentum needs an update rule whose momentum_name() is "momentum":
// PyTorch 1.13 raises for Adam (2.x cycles beta1). Validated: base_lr, max_lr,
// momenta finite and >= 0; step_size_up > 0; step_size_down >= 0; gamma > 0.
class CyclicLR : public StepSchedule {
 public:
  CyclicLR(const ScheduleTarget& target, CyclicLROptions options)
      : StepSchedule(target, "descend::CyclicLR"), o_(std::move(options)) {
    check_.that(!o_.base_lr.values.empty(), "base_lr is required");
    check_.that(!o_.max_lr.values.empty(), "max_lr is required");
    base_lr_ = per_group("base_lr", o_.base_lr);
    max_lr_ = per_group("max_lr", o_.max_lr);
    check_.positive("step_size_up", o_.step_size_up);
    const double down = o_.step_size_down.value_or(o_.step_size_up);
    check_.finite_non_negative("step_size_down", down);
    total_size_ = o_.step_size_up + down;
    step_ratio_ = o_.step_size_up / total_size_;
    check_.positive("gamma", o_.gamma);
    if (!o_.scale_fn) {
      scale_mode_ = o_.mode == CyclicMode::exp_range ? ScaleMode::iterations : ScaleMode::cycle;
    } else {
      scale_mode_ = o_.scale_mode;
    }
    if (o_.cycle_momentum) {
      const char* name = param_groups().momentum_name();
      check_.that(name != nullptr && std::strcmp(name, "momentum") == 0,
                  "cycle_momentum needs an update rule with momentum (PyTorch 1.13 does not "
                  "cycle Adam's beta1 here); set cycle_momentum = false");
      base_momentum_ = per_group("base_momentum", o_.base_momentum);
      max_momentum_ = per_group("max_momentum", o_.max_momentum);
      set_momenta();
    }
    start(base_lr_);
    base_lrs_ = base_lr_;
  }

 protected:
  void rates(std::int64_t e, bool, Rates& out) const override {
    const double ed = static_cast<double>(e);
    const double cycle = std::floor(1 + ed / total_size_);
    const double x = 1. + ed / total_size_ - cycle;
    const double scale_factor = x <= step_ratio_ ? x / step_ratio_ : (x - 1) / (step_ratio_ - 1);
    const double s = scale(scale_mode_ == ScaleMode::cycle ? cycle : ed);
    for (std::size_t i = 0; i < size(); ++i) {
      const double base_height = (max_lr_[i] - base_lrs_[i]) * scale_factor;
      out.lr[i] = base_lrs_[i] + base_height * s;
    }
    for (std::size_t i = 0; i < base_momentum_.size(); ++i) {
      const double base_height = (max_momentum_[i] - base_momentum_[i]) * scale_factor;
      out.momentum[i] = max_momentum_[i] - base_height * s;
    }
  }

 private:
  double scale(double x) const {
    if (o_.scale_fn) return o_.scale_fn(x);
    switch (o_.mode) {
      case CyclicMode::triangular:
        return 1.;
      case CyclicMode::triangular2:
        return 1 / std::pow(2., x - 1);
      case CyclicMode::exp_range:
        return std::pow(o_.gamma, x);
    }
    return 1.;
  }

  CyclicLROptions o_;
  std::vector<double> base_lr_, max_lr_, base_momentum_, max_momentum_;
  double total_size_ = 0, step_ratio_ = 0;
  ScaleMode scale_mode_ = ScaleMode::cycle;
};

enum class AnnealStrategy { cos, linear };

// Defaults as torch.optim.lr_scheduler.OneCycleLR; max_lr is required, and
// total_steps or both epochs and steps_per_epoch.
struct OneCycleLROptions {
  PerGroup max_lr;
  std::optional<std::int64_t> total_steps;
  std::optional<std::int64_t> epochs;
  std::optional<std::int64_t> steps_per_epoch;
  double pct_start = 0.3;
  AnnealStrategy anneal_strategy = AnnealStrategy::cos;
  bool cycle_momentum = true;
  PerGroup base_momentum = 0.85;
  PerGroup max_momentum = 0.95;
  double div_factor = 25.;
  double final_div_factor = 1e4;
  bool three_phase = false;
};

// OneCycleLR (Smith & Topin, "Super-Convergence"), T = total_steps (or
// epochs * steps_per_epoch), initial = max_lr / div_factor,
// min = initial / final_div_factor, p = pct_start:
//   two phases:   e in [0, pT - 1]:        initial -> max_lr,  max_m -> base_m
//                 then up to T - 1:        max_lr -> min,      base_m -> max_m
//   three phases: e in [0, pT - 1]:        initial -> max_lr,  max_m -> base_m
//                 up to 2pT - 2:           max_lr -> initial,  base_m -> max_m
//                 then up to T - 1:        initial -> min,     max_m
// each phase annealed over pct = (e - start) / (end - start) by
//   cos:    end + (start - end) / 2 (cos(pi pct) + 1)     linear: start + (end - start) pct
// The momentum is the group's momentum, or beta1 when momentum_name() is
// "beta1" (Adam). The groups' initial_lr is set to initial.
//
// As PyTorch's code, T steps are allowed after construction, the last one
// extrapolating the last phase to e = T; the next step throws
// std::out_of_range and changes nothing (PyTorch raises ValueError, with
// last_epoch already advanced). That extrapolated lr is below min with
// linear annealing, usually negative: PyTorch sets it (no update uses it in
// the usual loop); descend's groups refuse negative lrs, so it is set to 0.
// Rejected at construction: a pct_start that makes a phase that some step
// reaches zero steps long (PyTorch divides by zero at that step), pct_start
// outside [0, 1], div_factor or final_div_factor not positive.
class OneCycleLR : public StepSchedule {
 public:
  OneCycleLR(const ScheduleTarget& target, OneCycleLROptions options)
      : StepSchedule(target, "descend::OneCycleLR"), o_(std::move(options)) {
    check_.that(!o_.max_lr.values.empty(), "max_lr is required");
    if (o_.total_steps) {
      check_.at_least("total_steps", static_cast<double>(*o_.total_steps), 1);
      total_steps_ = *o_.total_steps;
    } else {
      check_.that(o_.epochs && o_.steps_per_epoch,
                  "give total_steps, or epochs and steps_per_epoch");
      check_.at_least("epochs", static_cast<double>(*o_.epochs), 1);
      check_.at_least("steps_per_epoch", static_cast<double>(*o_.steps_per_epoch), 1);
      total_steps_ = *o_.epochs * *o_.steps_per_epoch;
    }
    check_.in_range("pct_start", o_.pct_start, 0, 1, false);
    check_.positive("div_factor", o_.div_factor);
    check_.positive("final_div_factor", o_.final_div_factor);
    const double t = static_cast<double>(total_steps_);
    const double end1 = o_.pct_start * t - 1;
    if (o_.three_phase) {
      const double end2 = 2 * o_.pct_start * t - 2;
      phases_ = {{end1, kInitial, kMax, kMaxM, kBaseM},
                 {end2, kMax, kInitial, kBaseM, kMaxM},
                 {t - 1, kInitial, kMin, kMaxM, kMaxM}};
    } else {
      phases_ = {{end1, kInitial, kMax, kMaxM, kBaseM}, {t - 1, kMax, kMin, kBaseM, kMaxM}};
    }
    const double before_last = phases_[phases_.size() - 2].end_step;
    check_.that(end1 != 0 && before_last != t - 1,
                detail::concat("pct_start = ", o_.pct_start, " with total_steps = ", total_steps_,
                               " makes a phase zero steps long"));
    const std::vector<double> max_lr = per_group("max_lr", o_.max_lr);
    for (std::size_t i = 0; i < size(); ++i) {
      const double initial = max_lr[i] / o_.div_factor;
      values_.push_back({initial, max_lr[i], initial / o_.final_div_factor, 0, 0});
    }
    if (o_.cycle_momentum) {
      check_.that(param_groups().momentum_name() != nullptr,
                  "cycle_momentum needs an update rule with momentum or beta1; set "
                  "cycle_momentum = false");
      const std::vector<double> base = per_group("base_momentum", o_.base_momentum);
      const std::vector<double> max = per_group("max_momentum", o_.max_momentum);
      for (std::size_t i = 0; i < size(); ++i) {
        values_[i][kBaseM] = base[i];
        values_[i][kMaxM] = max[i];
      }
      set_momenta();
    }
    start();
    for (std::size_t i = 0; i < size(); ++i) {
      base_lrs_[i] = values_[i][kInitial];
      param_groups().set_initial_lr(values_[i][kInitial], index(i));
    }
  }

  std::int64_t total_steps() const { return total_steps_; }

  // Its state is the base's: every other member follows from the options.
  // last_epoch <= total_steps (the step past it throws).
  void check_state() const override {
    StepSchedule::check_state();
    check_count("last_epoch", last_epoch_, first_epoch_, total_steps_);
  }

 protected:
  void rates(std::int64_t e, bool, Rates& out) const override {
    if (e > total_steps_)
      detail::fail<std::out_of_range>("descend::OneCycleLR: tried to step ", e + 1,
                                      " times; total_steps is ", total_steps_);
    const double step_num = static_cast<double>(e);
    for (std::size_t i = 0; i < size(); ++i) {
      const auto& v = values_[i];
      double start_step = 0, lr = 0, momentum = 0;
      for (std::size_t k = 0; k < phases_.size(); ++k) {
        const Phase& phase = phases_[k];
        if (step_num <= phase.end_step || k == phases_.size() - 1) {
          const double pct = (step_num - start_step) / (phase.end_step - start_step);
          lr = anneal(v[phase.start_lr], v[phase.end_lr], pct);
          momentum = anneal(v[phase.start_momentum], v[phase.end_momentum], pct);
          break;
        }
        start_step = phase.end_step;
      }
      out.lr[i] = e == total_steps_ && lr < 0 ? 0.0 : lr;
      if (o_.cycle_momentum) out.momentum[i] = momentum;
    }
  }

 private:
  enum Value { kInitial, kMax, kMin, kBaseM, kMaxM };
  struct Phase {
    double end_step;
    Value start_lr, end_lr, start_momentum, end_momentum;
  };

  double anneal(double start, double end, double pct) const {
    if (o_.anneal_strategy == AnnealStrategy::linear) return (end - start) * pct + start;
    const double cos_out = std::cos(detail::kPi * pct) + 1;
    return end + (start - end) / 2.0 * cos_out;
  }

  OneCycleLROptions o_;
  std::int64_t total_steps_ = 0;
  std::vector<Phase> phases_;
  std::vector<std::array<double, 5>> values_;  // per group, indexed by Value
};

}  // namespace descend
