// Learning-rate schedules driven by the step count: PyTorch 1.13's
// torch.optim.lr_scheduler (StepLR, MultiStepLR, ConstantLR, LinearLR,
// ExponentialLR, PolynomialLR, CosineAnnealingLR, CosineAnnealingWarmRestarts,
// LambdaLR, MultiplicativeLR, SequentialLR, ChainedScheduler), and the bases
// every schedule shares. CyclicLR and OneCycleLR are in cyclic.hpp, the
// schedules fed a metric or loss in plateau.hpp, numpy-ml's Noam and the
// step decays of the Mytorch tutorial in decay.hpp.
//
// A schedule attaches to a ParamGroups (an optimizer or an LrGroups) and
// drives all its groups, each from its own base lr, or one group:
//
//   descend::StepLR every_30(opt, 30, 0.1);                    // all groups
//   descend::StepLR only_1(descend::one_group(opt, 1), 30);    // group 1
//   for (...) { opt.update(...); every_30.step(); }             // once per update
//
// Conventions, as PyTorch's code (not its docs, where they differ):
//  * The constructor makes the initial step (last_epoch -1 -> 0) and sets the
//    lr of update 1. step() is PyTorch's scheduler.step() with no argument:
//    last_epoch += 1, then the *chainable* rule, which reads each group's
//    current lr (so schedules compose, and an lr set from outside carries on).
//    e below is last_epoch, lr the group's lr before the step, b its base lr.
//  * Base lrs are the groups' initial_lr, set to their lr by the first
//    schedule that attaches (PyTorch's param_group["initial_lr"]).
//  * The closed forms below are what the lr is when the schedule alone sets
//    it; PyTorch uses them only for step(epoch), which descend exposes only
//    through SequentialLR (its switch to the next schedule is step(0)).
//  * Options are validated in the constructor (std::invalid_argument naming
//    the option and value); a throw from a constructor or step() leaves the
//    groups' lrs, momenta and initial_lrs and the schedule as they were
//    (ChainedScheduler excepted: the schedules before the one that threw
//    have stepped, as in PyTorch).
//  * A schedule keeps a pointer to the optimizer (or LrGroups) it drives:
//    build it after the optimizer is where it will stay, and again if the
//    optimizer is moved.
//  * PyTorch 1.13's resuming (last_epoch != -1 in the constructor) and
//    step(epoch) are not offered. A checkpoint (checkpoint.hpp) resumes a
//    schedule instead: visit_state() lists what a step changes (last_epoch,
//    base_lrs, last_lr and each class's counters, under PyTorch's
//    state_dict names), check_state() rejects a loaded state this schedule
//    cannot be in. Options and functions are not state: the schedule is
//    built again with the same ones, then loaded.
//  * step() allocates nothing (unless a function given to the schedule
//    does): the buffers a step writes are sized in the constructor.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <tuple>
#include <utility>
#include <vector>

#include "descend/optim/param_groups.hpp"
#include "descend/optim/state_fields.hpp"

namespace descend {

// A per-group option: one value for every group the schedule drives, or one
// value per group (PyTorch's "float or list"): `o.max_lr = 0.1;` or
// `o.max_lr = {0.1, 0.05};`.
struct PerGroup {
  PerGroup() = default;
  PerGroup(double value) : values{value} {}
  PerGroup(std::initializer_list<double> list) : values(list) {}
  PerGroup(std::vector<double> list) : values(std::move(list)) {}
  std::vector<double> values;
};

// The groups a schedule drives: every group of `groups`, or the one `group`.
class ScheduleTarget {
 public:
  ScheduleTarget(ParamGroups& groups) : groups_(&groups) {
    for (std::size_t g = 0; g < groups.num_groups(); ++g) indices_.push_back(g);
  }
  // Throws std::out_of_range when the group does not exist.
  ScheduleTarget(ParamGroups& groups, std::size_t group) : groups_(&groups), indices_{group} {
    groups.lr(group);
  }
  ParamGroups& param_groups() const { return *groups_; }
  const std::vector<std::size_t>& groups() const { return indices_; }
  bool operator==(const ScheduleTarget& other) const {
    return groups_ == other.groups_ && indices_ == other.indices_;
  }

 private:
  ParamGroups* groups_;
  std::vector<std::size_t> indices_;
};

inline ScheduleTarget one_group(ParamGroups& groups, std::size_t group) { return {groups, group}; }

// What every schedule keeps: its groups, last_epoch (the number of steps
// taken; -1 before the initial step), base lrs and the lrs it last set, in
// the order of groups().
class ScheduleBase {
 public:
  virtual ~ScheduleBase() = default;

  std::int64_t last_epoch() const { return last_epoch_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  const std::vector<double>& last_lr() const { return last_lr_; }
  ParamGroups& param_groups() const { return target_.param_groups(); }
  const std::vector<std::size_t>& groups() const { return target_.groups(); }
  const ScheduleTarget& target() const { return target_; }

  // The class, e.g. "descend::StepLR": a checkpoint loads a state only into
  // the kind that saved it.
  const char* kind() const { return check_.who; }

  // Lists the state a run's future depends on: last_epoch, base_lrs and
  // last_lr (one per driven group), then each class's own, after its base's.
  virtual void visit_state(StateFields& f) {
    const auto n = static_cast<std::int64_t>(size());
    f.field("last_epoch", last_epoch_);
    f.field("base_lrs", base_lrs_, n);
    f.field("last_lr", last_lr_, n);
  }
  // Throws std::invalid_argument (naming the field and its value) when the
  // state, as loaded through visit_state(), is not one this schedule can be
  // in: whatever would make a later step() divide by zero, index out of
  // range or allocate, and what no run with these options reaches.
  virtual void check_state() const {
    check_count("last_epoch", last_epoch_, first_epoch_, kMaxEpoch);
    check_lrs("base_lrs", base_lrs_);
    check_lrs("last_lr", last_lr_);
  }

 protected:
  ScheduleBase(const ScheduleTarget& target, const char* who)
      : target_(target), check_{who}, last_lr_(size()), old_lr_(size()), old_momentum_(size()) {}
  ScheduleBase(const ScheduleBase&) = default;
  ScheduleBase& operator=(const ScheduleBase&) = default;

  std::size_t size() const { return groups().size(); }
  std::size_t index(std::size_t i) const { return groups()[i]; }
  double lr(std::size_t i) const { return param_groups().lr(index(i)); }
  std::vector<double> lrs() const {
    std::vector<double> out(size());
    read_lrs(out);
    return out;
  }
  // lrs() into `out`, which has size() values: no allocation.
  void read_lrs(std::vector<double>& out) const {
    for (std::size_t i = 0; i < size(); ++i) out[i] = lr(i);
  }

  // Sets the driven groups' lrs (and momenta, when given, at most size()):
  // all or none.
  void apply(const std::vector<double>& lr, const std::vector<double>& momentum = {}) {
    ParamGroups& p = param_groups();
    read_lrs(old_lr_);
    for (std::size_t i = 0; i < momentum.size(); ++i) old_momentum_[i] = p.momentum(index(i));
    std::size_t set_lrs = 0, set_momenta = 0;
    try {
      for (; set_lrs < size(); ++set_lrs) p.set_lr(lr[set_lrs], index(set_lrs));
      for (; set_momenta < momentum.size(); ++set_momenta)
        p.set_momentum(momentum[set_momenta], index(set_momenta));
    } catch (...) {
      for (std::size_t i = 0; i < set_momenta; ++i) p.set_momentum(old_momentum_[i], index(i));
      for (std::size_t i = 0; i < set_lrs; ++i) p.set_lr(old_lr_[i], index(i));
      throw;
    }
    read_lrs(last_lr_);
  }

  // A per-group option resolved to one finite value >= 0 per driven group.
  std::vector<double> per_group(const char* name, const PerGroup& option) const {
    const std::size_t n = option.values.size();
    if (n != 1 && n != size())
      detail::fail<std::invalid_argument>(check_.who, ": ", name, " has ", n, " values for ",
                                          size(), " groups (give one, or one per group)");
    for (double v : option.values) check_.finite_non_negative(name, v);
    return n == 1 ? std::vector<double>(size(), option.values[0]) : option.values;
  }

  // A loaded count: low <= value <= high.
  DESCEND_COLD void check_count(const char* name, std::int64_t value, std::int64_t low,
                                std::int64_t high) const {
    if (value < low || value > high)
      detail::fail<std::invalid_argument>(check_.who, ": ", name, " = ", value, " must be in [",
                                          low, ", ", high, "]");
  }
  // Loaded lrs: one per driven group, each finite and >= 0.
  DESCEND_COLD void check_lrs(const char* name, const std::vector<double>& values) const {
    if (values.size() != size())
      detail::fail<std::invalid_argument>(check_.who, ": ", name, " has ", values.size(),
                                          " values for ", size(), " groups");
    for (std::size_t i = 0; i < size(); ++i)
      if (!(values[i] >= 0) || std::isinf(values[i]))
        detail::fail<std::invalid_argument>(check_.who, ": ", name, "[", i, "] = ", values[i],
                                            " must be finite and >= 0");
  }

  // The most steps a loaded last_epoch may count: no run gets near it, and
  // below it every e + 1 and every conversion of e to double is exact.
  static constexpr std::int64_t kMaxEpoch = std::int64_t{1} << 53;

  ScheduleTarget target_;
  detail::Check check_;
  std::int64_t last_epoch_ = -1;
  std::vector<double> base_lrs_;
  std::vector<double> last_lr_;
  // The least last_epoch a state has: 0 (the constructor's initial step), or
  // -1 for a SequentialLR's later schedules, which wait for their milestone.
  std::int64_t first_epoch_ = 0;

 private:
  std::vector<double> old_lr_, old_momentum_;  // apply()'s undo, sized at construction
};

// A schedule stepped once per update: step() takes no argument.
class LrSchedule : public ScheduleBase {
 public:
  // PyTorch's scheduler.step(): call it after each optimizer update.
  virtual void step() = 0;

 protected:
  using ScheduleBase::ScheduleBase;
};

// A schedule whose rates are a function of last_epoch, its base lrs and the
// groups' current lrs (PyTorch's _LRScheduler with get_lr() and, for some,
// _get_closed_form_lr()). Derive from it to write a schedule of your own:
// implement rates() and call start() last in the constructor.
class StepSchedule : public LrSchedule {
 public:
  void step() override { advance(last_epoch_ + 1, false); }

 protected:
  StepSchedule(const ScheduleTarget& target, const char* who) : LrSchedule(target, who) {
    rates_.lr.resize(size());
  }

  struct Rates {
    std::vector<double> lr;        // one per driven group
    std::vector<double> momentum;  // empty, or one per driven group
  };
  // The rates of the step to `epoch` into `out`: PyTorch's get_lr()
  // (chainable), or its closed form when `closed` and the class has one
  // (PyTorch's step(epoch)). out.lr has one value per driven group, and so
  // has out.momentum after set_momenta() (else it is empty). Reads
  // last_epoch_ as the step before; changes nothing else.
  virtual void rates(std::int64_t epoch, bool closed, Rates& out) const = 0;
  // State that moves with a step, once the groups accepted its rates.
  virtual void moved(std::int64_t /*epoch*/, bool /*closed*/) {}

  // PyTorch's _LRScheduler.__init__: base lrs are the groups' initial_lr,
  // which is set to `lr_now` (default: the groups' lrs) where not yet set,
  // and the initial step, last_epoch -1 -> 0.
  void start(std::vector<double> lr_now = {}) {
    if (lr_now.empty()) lr_now = lrs();
    base_lrs_.resize(size());
    for (std::size_t i = 0; i < size(); ++i) {
      const double initial = param_groups().initial_lr(index(i));
      base_lrs_[i] = std::isnan(initial) ? lr_now[i] : initial;
    }
    advance(0, false);
    for (std::size_t i = 0; i < size(); ++i)
      if (std::isnan(param_groups().initial_lr(index(i))))
        param_groups().set_initial_lr(base_lrs_[i], index(i));
  }

  // For a schedule that sets momenta too (in its constructor, before start()).
  void set_momenta() { rates_.momentum.resize(size()); }

  void advance(std::int64_t epoch, bool closed) {
    rates(epoch, closed, rates_);
    apply(rates_.lr, rates_.momentum);
    moved(epoch, closed);
    last_epoch_ = epoch;
  }

  // out.lr_i = f(i, lr_i) for every driven group.
  template <class F>
  void each(Rates& out, F f) const {
    read_lrs(out.lr);
    for (std::size_t i = 0; i < size(); ++i) out.lr[i] = f(i, out.lr[i]);
  }

 private:
  friend class SequentialLR;

  Rates rates_;  // the step's rates, sized at construction
};

namespace detail {
constexpr double kPi = 3.141592653589793;  // Python's math.pi
}

// StepLR: multiplies the lr by gamma every step_size steps.
//   chainable: lr * gamma when e > 0 and e % step_size == 0, else lr
//   closed:    b * gamma^floor(e / step_size)
// Defaults: gamma 0.1. step_size >= 1.
class StepLR : public StepSchedule {
 public:
  StepLR(const ScheduleTarget& target, std::int64_t step_size, double gamma = 0.1)
      : StepSchedule(target, "descend::StepLR"), step_size_(step_size), gamma_(gamma) {
    check_.at_least("step_size", static_cast<double>(step_size), 1);
    check_.finite_non_negative("gamma", gamma);
    start();
  }

 protected:
  void rates(std::int64_t e, bool closed, Rates& out) const override {
    each(out, [&](std::size_t i, double lr) {
      if (closed) return base_lrs_[i] * std::pow(gamma_, static_cast<double>(e / step_size_));
      return (e == 0 || e % step_size_ != 0) ? lr : lr * gamma_;
    });
  }

 private:
  std::int64_t step_size_;
  double gamma_;
};

// MultiStepLR: multiplies the lr by gamma at each milestone.
//   chainable: lr * gamma^count(e), count(e) = how often e is in milestones
//   closed:    b * gamma^(number of milestones <= e)
// As PyTorch's code (a Counter), milestones may come in any order and a
// milestone listed k times multiplies by gamma^k; the docs ask for an
// increasing list. Defaults: gamma 0.1.
class MultiStepLR : public StepSchedule {
 public:
  MultiStepLR(const ScheduleTarget& target, std::vector<std::int64_t> milestones,
              double gamma = 0.1)
      : StepSchedule(target, "descend::MultiStepLR"),
        milestones_(std::move(milestones)),
        gamma_(gamma) {
    check_.finite_non_negative("gamma", gamma);
    std::sort(milestones_.begin(), milestones_.end());
    start();
  }

 protected:
  void rates(std::int64_t e, bool closed, Rates& out) const override {
    const auto range = std::equal_range(milestones_.begin(), milestones_.end(), e);
    const auto at_e = static_cast<double>(range.second - range.first);
    const auto up_to_e = static_cast<double>(range.second - milestones_.begin());
    each(out, [&](std::size_t i, double lr) {
      if (closed) return base_lrs_[i] * std::pow(gamma_, up_to_e);
      return at_e == 0 ? lr : lr * std::pow(gamma_, at_e);
    });
  }

 private:
  std::vector<std::int64_t> milestones_;  // sorted
  double gamma_;
};

// ConstantLR: the lr times factor until total_iters steps, then the lr.
//   chainable: lr * factor at e = 0; lr / factor (as lr * (1 / factor)) at
//              e = total_iters; lr otherwise
//   closed:    b * factor while e < total_iters, then b
// (With total_iters = 0 the chainable form keeps b * factor for ever, where
// the closed form gives b: PyTorch's code, followed.)
// Defaults: factor 1/3, total_iters 5. factor in (0, 1]: PyTorch 1.13 allows
// 0 and then divides by zero at total_iters.
class ConstantLR : public StepSchedule {
 public:
  explicit ConstantLR(const ScheduleTarget& target, double factor = 1.0 / 3,
                      std::int64_t total_iters = 5)
      : StepSchedule(target, "descend::ConstantLR"), factor_(factor), total_iters_(total_iters) {
    check_.in_range("factor", factor, 0, 1, false);
    check_.that(factor > 0, "factor = 0 would divide by zero at total_iters; it must be in (0, 1]");
    check_.at_least("total_iters", static_cast<double>(total_iters), 0);
    start();
  }

 protected:
  void rates(std::int64_t e, bool closed, Rates& out) const override {
    each(out, [&](std::size_t i, double lr) {
      if (closed) return base_lrs_[i] * (factor_ + (e >= total_iters_ ? 1.0 : 0.0) * (1 - factor_));
      if (e == 0) return lr * factor_;
      if (e != total_iters_) return lr;
      return lr * (1.0 / factor_);
    });
  }

 private:
  double factor_;
  std::int64_t total_iters_;
};

// LinearLR: the lr's factor moves linearly from start_factor to end_factor
// over total_iters steps.
//   chainable: lr * start_factor at e = 0; lr for e > total_iters; else
//              lr * (1 + (end - start) / (total_iters * start + (e - 1) * (end - start)))
//   closed:    b * (start + (end - start) * min(e, total_iters) / total_iters)
// Defaults: start_factor 1/3, end_factor 1, total_iters 5. start_factor in
// (0, 1] (PyTorch 2.x; 1.13 allows 0, which divides by zero at e = 1),
// end_factor in [0, 1], total_iters >= 1 (the closed form divides by it).
class LinearLR : public StepSchedule {
 public:
  explicit LinearLR(const ScheduleTarget& target, double start_factor = 1.0 / 3,
                    double end_factor = 1.0, std::int64_t total_iters = 5)
      : StepSchedule(target, "descend::LinearLR"),
        start_(start_factor),
        end_(end_factor),
        total_iters_(total_iters) {
    check_.in_range("start_factor", start_factor, 0, 1, false);
    check_.that(start_factor > 0,
                "start_factor = 0 would divide by zero at step 1; it must be "
                "in (0, 1]");
    check_.in_range("end_factor", end_factor, 0, 1, false);
    check_.at_least("total_iters", static_cast<double>(total_iters), 1);
    start();
  }

 protected:
  void rates(std::int64_t e, bool closed, Rates& out) const override {
    const auto total = static_cast<double>(total_iters_);
    each(out, [&](std::size_t i, double lr) {
      if (closed)
        return base_lrs_[i] *
               (start_ + (end_ - start_) * static_cast<double>(std::min(total_iters_, e)) / total);
      if (e == 0) return lr * start_;
      if (e > total_iters_) return lr;
      return lr * (1. + (end_ - start_) /
                            (total * start_ + static_cast<double>(e - 1) * (end_ - start_)));
    });
  }

 private:
  double start_, end_;
  std::int64_t total_iters_;
};

// ExponentialLR: multiplies the lr by gamma every step.
//   chainable: lr at e = 0, else lr * gamma          closed: b * gamma^e
class ExponentialLR : public StepSchedule {
 public:
  ExponentialLR(const ScheduleTarget& target, double gamma)
      : StepSchedule(target, "descend::ExponentialLR"), gamma_(gamma) {
    check_.finite_non_negative("gamma", gamma);
    start();
  }

 protected:
  void rates(std::int64_t e, bool closed, Rates& out) const override {
    each(out, [&](std::size_t i, double lr) {
      if (closed) return base_lrs_[i] * std::pow(gamma_, static_cast<double>(e));
      return e == 0 ? lr : lr * gamma_;
    });
  }

 private:
  double gamma_;
};

// PolynomialLR: decays the lr to 0 over total_iters steps.
//   chainable: lr at e = 0 and e > total_iters; else
//              lr * ((1 - e / total_iters) / (1 - (e - 1) / total_iters))^power
//   closed:    b * (1 - min(e, total_iters) / total_iters)^power
// Defaults: total_iters 5, power 1. total_iters >= 1, power >= 0 (a negative
// power divides by zero at total_iters).
class PolynomialLR : public StepSchedule {
 public:
  explicit PolynomialLR(const ScheduleTarget& target, std::int64_t total_iters = 5,
                        double power = 1.0)
      : StepSchedule(target, "descend::PolynomialLR"), total_iters_(total_iters), power_(power) {
    check_.at_least("total_iters", static_cast<double>(total_iters), 1);
    check_.finite_non_negative("power", power);
    start();
  }

 protected:
  void rates(std::int64_t e, bool closed, Rates& out) const override {
    const auto total = static_cast<double>(total_iters_);
    each(out, [&](std::size_t i, double lr) {
      if (closed)
        return base_lrs_[i] *
               std::pow(1.0 - static_cast<double>(std::min(total_iters_, e)) / total, power_);
      if (e == 0 || e > total_iters_) return lr;
      const double decay = std::pow(
          (1.0 - static_cast<double>(e) / total) / (1.0 - static_cast<double>(e - 1) / total),
          power_);
      return lr * decay;
    });
  }

 private:
  std::int64_t total_iters_;
  double power_;
};

// CosineAnnealingLR (the annealing of SGDR, without restarts).
//   closed:    eta_min + (b - eta_min) (1 + cos(pi e / T_max)) / 2
//   chainable: lr at e = 0;
//              lr + (b - eta_min) (1 - cos(pi / T_max)) / 2   when (e - 1 - T_max) % (2 T_max) = 0
//              eta_min + (lr - eta_min) (1 + cos(pi e / T_max)) / (1 + cos(pi (e - 1) / T_max))
//              otherwise.
// Past T_max both keep following the cosine, which climbs back to b at
// 2 T_max (period 2 T_max): the docs' "eta_t" formula read for T_cur > T_max.
// Defaults: eta_min 0. T_max >= 1.
class CosineAnnealingLR : public StepSchedule {
 public:
  CosineAnnealingLR(const ScheduleTarget& target, std::int64_t T_max, double eta_min = 0)
      : StepSchedule(target, "descend::CosineAnnealingLR"), t_max_(T_max), eta_min_(eta_min) {
    check_.at_least("T_max", static_cast<double>(T_max), 1);
    check_.finite_non_negative("eta_min", eta_min);
    start();
  }

 protected:
  void rates(std::int64_t e, bool closed, Rates& out) const override {
    using detail::kPi;
    const auto t = static_cast<double>(t_max_), ed = static_cast<double>(e);
    each(out, [&](std::size_t i, double lr) {
      if (closed) return eta_min_ + (base_lrs_[i] - eta_min_) * (1 + std::cos(kPi * ed / t)) / 2;
      // PyTorch's branch for _step_count == 1 and last_epoch > 0 is reached
      // only when resuming, which descend does not offer.
      if (e == 0) return lr;
      if ((e - 1 - t_max_) % (2 * t_max_) == 0)
        return lr + (base_lrs_[i] - eta_min_) * (1 - std::cos(kPi / t)) / 2;
      return (1 + std::cos(kPi * ed / t)) / (1 + std::cos(kPi * (ed - 1) / t)) * (lr - eta_min_) +
             eta_min_;
    });
  }

 private:
  std::int64_t t_max_;
  double eta_min_;
};

// CosineAnnealingWarmRestarts (SGDR):
//   lr = eta_min + (b - eta_min) (1 + cos(pi T_cur / T_i)) / 2
// T_cur counts steps since the last restart; when it reaches T_i it restarts
// at 0 and T_i becomes T_i * T_mult (T_i = T_0 at first). Not chainable: the
// lr is this formula at every step. The docs' "when T_cur = T_i, set
// eta_t = eta_min" never happens in the code (T_cur wraps to 0, the lr to b).
// Defaults: T_mult 1, eta_min 0. T_0 >= 1, T_mult >= 1.
class CosineAnnealingWarmRestarts : public StepSchedule {
 public:
  CosineAnnealingWarmRestarts(const ScheduleTarget& target, std::int64_t T_0,
                              std::int64_t T_mult = 1, double eta_min = 0)
      : StepSchedule(target, "descend::CosineAnnealingWarmRestarts"),
        t_0_(T_0),
        t_i_(T_0),
        t_mult_(T_mult),
        eta_min_(eta_min) {
    check_.at_least("T_0", static_cast<double>(T_0), 1);
    check_.at_least("T_mult", static_cast<double>(T_mult), 1);
    check_.finite_non_negative("eta_min", eta_min);
    start();
  }

  std::int64_t T_cur() const { return t_cur_; }
  std::int64_t T_i() const { return t_i_; }

  void visit_state(StateFields& f) override {
    StepSchedule::visit_state(f);
    f.field("T_cur", t_cur_);
    f.field("T_i", t_i_);
  }
  // T_i is T_0 T_mult^k (so >= 1: the cosine divides by it), 0 <= T_cur < T_i.
  void check_state() const override {
    StepSchedule::check_state();
    std::int64_t t = t_0_;
    while (t < t_i_ && t_mult_ > 1 && t <= std::numeric_limits<std::int64_t>::max() / t_mult_)
      t *= t_mult_;
    if (t != t_i_)
      detail::fail<std::invalid_argument>(check_.who, ": T_i = ", t_i_, " is not T_0 = ", t_0_,
                                          " times a power of T_mult = ", t_mult_);
    check_count("T_cur", t_cur_, 0, t_i_ - 1);
  }

 protected:
  void rates(std::int64_t e, bool closed, Rates& out) const override {
    const std::pair<std::int64_t, std::int64_t> at = position(e, closed);  // (T_cur, T_i)
    const auto t_cur = static_cast<double>(at.first), t_i = static_cast<double>(at.second);
    each(out, [&](std::size_t i, double) {
      return eta_min_ + (base_lrs_[i] - eta_min_) * (1 + std::cos(detail::kPi * t_cur / t_i)) / 2;
    });
  }
  void moved(std::int64_t e, bool closed) override { std::tie(t_cur_, t_i_) = position(e, closed); }

 private:
  // (T_cur, T_i) after the step to e. PyTorch's step() takes its step(epoch)
  // path at the initial step (epoch 0) and SequentialLR calls step(0): the
  // given epoch is always 0 < T_0 here, so T_cur = 0 and T_i = T_0.
  std::pair<std::int64_t, std::int64_t> position(std::int64_t e, bool closed) const {
    if (closed || last_epoch_ < 0) return {e, t_0_};
    std::int64_t t_cur = t_cur_ + 1, t_i = t_i_;
    if (t_cur >= t_i) {
      t_cur -= t_i;
      t_i *= t_mult_;
    }
    return {t_cur, t_i};
  }

  std::int64_t t_0_, t_i_, t_mult_;
  std::int64_t t_cur_ = -1;
  double eta_min_;
};

// A schedule's function of the step count: e -> factor.
using LrLambda = std::function<double(std::int64_t)>;

// LambdaLR: lr = b * f(e), one f for every group or one per group.
class LambdaLR : public StepSchedule {
 public:
  LambdaLR(const ScheduleTarget& target, LrLambda lr_lambda)
      : LambdaLR(target, std::vector<LrLambda>{std::move(lr_lambda)}) {}
  LambdaLR(const ScheduleTarget& target, std::vector<LrLambda> lr_lambdas)
      : StepSchedule(target, "descend::LambdaLR"), f_(std::move(lr_lambdas)) {
    check_lambdas(check_, f_, size());
    start();
  }

  static void check_lambdas(const detail::Check& check, const std::vector<LrLambda>& f,
                            std::size_t groups) {
    if (f.size() != 1 && f.size() != groups)
      detail::fail<std::invalid_argument>(check.who, ": lr_lambda has ", f.size(),
                                          " functions for ", groups, " groups");
    for (const auto& fn : f) check.that(static_cast<bool>(fn), "lr_lambda is empty");
  }

 protected:
  void rates(std::int64_t e, bool, Rates& out) const override {
    each(out, [&](std::size_t i, double) { return base_lrs_[i] * f_[f_.size() == 1 ? 0 : i](e); });
  }

 private:
  std::vector<LrLambda> f_;
};

// MultiplicativeLR: lr = lr * f(e) for e > 0 (lr at e = 0), one f for every
// group or one per group.
class MultiplicativeLR : public StepSchedule {
 public:
  MultiplicativeLR(const ScheduleTarget& target, LrLambda lr_lambda)
      : MultiplicativeLR(target, std::vector<LrLambda>{std::move(lr_lambda)}) {}
  MultiplicativeLR(const ScheduleTarget& target, std::vector<LrLambda> lr_lambdas)
      : StepSchedule(target, "descend::MultiplicativeLR"), f_(std::move(lr_lambdas)) {
    LambdaLR::check_lambdas(check_, f_, size());
    start();
  }

 protected:
  void rates(std::int64_t e, bool, Rates& out) const override {
    each(out,
         [&](std::size_t i, double lr) { return e > 0 ? lr * f_[f_.size() == 1 ? 0 : i](e) : lr; });
  }

 private:
  std::vector<LrLambda> f_;
};

// SequentialLR: schedules[0] until milestones[0], schedules[1] until
// milestones[1], ... As PyTorch 1.13's code:
//  * construction resets the groups' lrs to their initial_lr, takes every
//    schedule's last_epoch back by one and makes schedules[0]'s initial step
//    again (the other schedules' construction-time steps are undone only in
//    last_epoch: they run again from the switch);
//  * step(): last_epoch += 1; the schedule k whose interval holds last_epoch
//    steps: at its milestone (last_epoch == milestones[k-1]) with epoch 0 (its
//    closed form at 0 where it has one: b * factor(0)), after it chainably.
// The schedules must drive the same groups and outlive this one. milestones:
// one fewer than schedules, non-decreasing (PyTorch bisects them unchecked).
class SequentialLR : public LrSchedule {
 public:
  SequentialLR(const ScheduleTarget& target,
               std::vector<std::reference_wrapper<StepSchedule>> schedules,
               std::vector<std::int64_t> milestones)
      : LrSchedule(target, "descend::SequentialLR"), milestones_(std::move(milestones)) {
    for (StepSchedule& s : schedules) schedules_.push_back(&s);
    check_.that(!schedules_.empty(), "no schedules");
    for (std::size_t k = 0; k < schedules_.size(); ++k)
      check_.that(schedules_[k]->target() == target_,
                  detail::concat("schedule ", k, " drives other groups than this one"));
    if (milestones_.size() != schedules_.size() - 1)
      detail::fail<std::invalid_argument>(check_.who, ": ", schedules_.size(), " schedules need ",
                                          schedules_.size() - 1, " milestones, got ",
                                          milestones_.size());
    check_.that(std::is_sorted(milestones_.begin(), milestones_.end()),
                "milestones must be non-decreasing");
    std::vector<double> initial(size());
    for (std::size_t i = 0; i < size(); ++i) initial[i] = param_groups().initial_lr(index(i));
    const std::vector<double> before = lrs();
    apply(initial);
    for (StepSchedule* s : schedules_) s->last_epoch_ -= 1;
    try {
      schedules_[0]->advance(schedules_[0]->last_epoch_ + 1, false);
    } catch (...) {
      for (StepSchedule* s : schedules_) s->last_epoch_ += 1;
      apply(before);
      throw;
    }
    base_lrs_ = initial;
    last_epoch_ = 0;
    last_lr_ = schedules_[0]->last_lr();
    for (std::size_t k = 1; k < schedules_.size(); ++k) schedules_[k]->first_epoch_ = -1;
  }
  SequentialLR(const SequentialLR&) = delete;
  SequentialLR& operator=(const SequentialLR&) = delete;

  // Its own fields, then each schedule's under schedules[k].
  void visit_state(StateFields& f) override {
    LrSchedule::visit_state(f);
    for (std::size_t k = 0; k < schedules_.size(); ++k) {
      f.enter("schedules", k);
      schedules_[k]->visit_state(f);
      f.leave();
    }
  }
  // Each schedule's state, and its last_epoch the one this last_epoch e
  // implies: schedule k has stepped from its milestone m[k-1] (0 for k = 0)
  // up to e or to m[k] - 1, and is at -1 before m[k-1] (k > 0).
  void check_state() const override {
    LrSchedule::check_state();
    for (std::size_t k = 0; k < schedules_.size(); ++k) {
      const StepSchedule& s = *schedules_[k];
      s.check_state();
      const std::int64_t end = k < milestones_.size() ? milestones_[k] - 1 : last_epoch_;
      const std::int64_t want =
          k == 0 ? std::max<std::int64_t>(0, std::min(last_epoch_, end))
                 : std::max<std::int64_t>(-1, std::min(last_epoch_, end) - milestones_[k - 1]);
      if (s.last_epoch_ != want)
        detail::fail<std::invalid_argument>(check_.who, ": schedule ", k,
                                            "'s last_epoch = ", s.last_epoch_, " must be ", want,
                                            " at last_epoch = ", last_epoch_);
    }
  }

  void step() override {
    const std::int64_t e = last_epoch_ + 1;
    const auto k = static_cast<std::size_t>(
        std::upper_bound(milestones_.begin(), milestones_.end(), e) - milestones_.begin());
    StepSchedule& s = *schedules_[k];
    if (k > 0 && milestones_[k - 1] == e)
      s.advance(0, true);
    else
      s.step();
    last_epoch_ = e;
    last_lr_ = s.last_lr();
  }

 private:
  std::vector<StepSchedule*> schedules_;
  std::vector<std::int64_t> milestones_;
};

// ChainedScheduler: step() steps every schedule in order, each chaining on
// the lrs the one before set (e.g. ConstantLR then ExponentialLR gives
// b * factor(e) * gamma^e). Construction changes nothing. The schedules must
// drive the same groups and outlive this one; last_epoch() counts steps from
// 0 (PyTorch's has none). A throw from a later schedule leaves the earlier
// ones stepped, as in PyTorch.
class ChainedScheduler : public LrSchedule {
 public:
  explicit ChainedScheduler(std::vector<std::reference_wrapper<LrSchedule>> schedules)
      : LrSchedule(first(schedules), "descend::ChainedScheduler") {
    for (LrSchedule& s : schedules) {
      check_.that(s.target() == target_, "the schedules drive different groups");
      schedules_.push_back(&s);
    }
    base_lrs_ = schedules_[0]->base_lrs();
    last_epoch_ = 0;
    last_lr_ = lrs();
  }
  ChainedScheduler(const ChainedScheduler&) = delete;
  ChainedScheduler& operator=(const ChainedScheduler&) = delete;

  // Its own fields, then each schedule's under schedules[k].
  void visit_state(StateFields& f) override {
    LrSchedule::visit_state(f);
    for (std::size_t k = 0; k < schedules_.size(); ++k) {
      f.enter("schedules", k);
      schedules_[k]->visit_state(f);
      f.leave();
    }
  }
  void check_state() const override {
    LrSchedule::check_state();
    for (const LrSchedule* s : schedules_) s->check_state();
  }

  void step() override {
    for (LrSchedule* s : schedules_) s->step();
    ++last_epoch_;
    read_lrs(last_lr_);
  }

 private:
  static const ScheduleTarget& first(const std::vector<std::reference_wrapper<LrSchedule>>& s) {
    if (s.empty()) detail::fail<std::invalid_argument>("descend::ChainedScheduler: no schedules");
    return s[0].get().target();
  }
  std::vector<LrSchedule*> schedules_;
};

}  // namespace descend
