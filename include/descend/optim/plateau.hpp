// Schedules fed a metric or the loss: PyTorch 1.13's ReduceLROnPlateau and
// numpy-ml's KingScheduler (numpy_ml/neural_nets/schedulers/schedulers.py),
// with King's test of whether the loss is still decreasing as functions of
// their own. See schedule.hpp for what every schedule shares (attaching to an
// optimizer or one group, last_epoch, last_lr).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "descend/optim/schedule.hpp"

namespace descend {

// A schedule stepped with a value: step(metric).
class MetricSchedule : public ScheduleBase {
 public:
  virtual void step(double metric) = 0;

 protected:
  using ScheduleBase::ScheduleBase;
};

enum class PlateauMode { min, max };
enum class ThresholdMode { rel, abs };

// Defaults as torch.optim.lr_scheduler.ReduceLROnPlateau.
struct ReduceLROnPlateauOptions {
  PlateauMode mode = PlateauMode::min;
  double factor = 0.1;
  std::int64_t patience = 10;
  double threshold = 1e-4;
  ThresholdMode threshold_mode = ThresholdMode::rel;
  std::int64_t cooldown = 0;
  PerGroup min_lr = 0.0;
  double eps = 1e-8;
};

// ReduceLROnPlateau: multiplies the lrs by factor when the metric has not
// improved for more than patience steps. At each step(m):
//   better = m < best (1 - threshold)   min, rel      m > best (1 + threshold)   max, rel
//            m < best - threshold       min, abs      m > best + threshold       max, abs
//   (best starts at +inf for min, -inf for max)
//   better: best = m, num_bad_epochs = 0;  else num_bad_epochs += 1
//   in cooldown (cooldown_counter > 0): cooldown_counter -= 1, num_bad_epochs = 0
//   num_bad_epochs > patience: lr = max(lr factor, min_lr) where that lowers
//     lr by more than eps; cooldown_counter = cooldown; num_bad_epochs = 0
// It reads and sets the groups' current lrs (it chains with anything else)
// and does not touch initial_lr; construction changes nothing. A NaN metric
// is never better. base_lrs() are the lrs at construction (PyTorch has none).
// Validated: factor in [0, 1), patience, cooldown >= 0, threshold, eps,
// min_lr finite and >= 0.
class ReduceLROnPlateau : public MetricSchedule {
 public:
  explicit ReduceLROnPlateau(const ScheduleTarget& target, ReduceLROnPlateauOptions options = {})
      : MetricSchedule(target, "descend::ReduceLROnPlateau"), o_(std::move(options)) {
    check_.in_range("factor", o_.factor, 0, 1, true);
    check_.at_least("patience", static_cast<double>(o_.patience), 0);
    check_.at_least("cooldown", static_cast<double>(o_.cooldown), 0);
    check_.finite_non_negative("threshold", o_.threshold);
    check_.finite_non_negative("eps", o_.eps);
    min_lrs_ = per_group("min_lr", o_.min_lr);
    best_ = mode_worse();
    last_epoch_ = 0;
    base_lrs_ = last_lr_ = next_lr_ = lrs();
  }

  void step(double metric) override {
    double best = best_;
    std::int64_t bad = num_bad_epochs_, cooldown = cooldown_counter_;
    if (is_better(metric, best)) {
      best = metric;
      bad = 0;
    } else {
      bad += 1;
    }
    if (cooldown > 0) {
      cooldown -= 1;
      bad = 0;  // bad epochs in cooldown do not count
    }
    std::vector<double>& lr = next_lr_;
    read_lrs(lr);
    if (bad > o_.patience) {
      for (std::size_t i = 0; i < size(); ++i) {
        const double new_lr = std::max(lr[i] * o_.factor, min_lrs_[i]);
        if (lr[i] - new_lr > o_.eps) lr[i] = new_lr;
      }
      cooldown = o_.cooldown;
      bad = 0;
    }
    apply(lr);
    best_ = best;
    num_bad_epochs_ = bad;
    cooldown_counter_ = cooldown;
    last_epoch_ += 1;
  }

  double best() const { return best_; }
  std::int64_t num_bad_epochs() const { return num_bad_epochs_; }
  std::int64_t cooldown_counter() const { return cooldown_counter_; }
  bool in_cooldown() const { return cooldown_counter_ > 0; }

  void visit_state(StateFields& f) override {
    MetricSchedule::visit_state(f);
    f.field("best", best_);
    f.field("num_bad_epochs", num_bad_epochs_);
    f.field("cooldown_counter", cooldown_counter_);
  }
  // best is not NaN (a NaN metric is never better); 0 <= num_bad_epochs <=
  // patience and 0 <= cooldown_counter <= cooldown, as a step leaves them.
  void check_state() const override {
    MetricSchedule::check_state();
    if (std::isnan(best_))
      detail::fail<std::invalid_argument>(check_.who, ": best = ", best_, " must not be NaN");
    check_count("num_bad_epochs", num_bad_epochs_, 0, o_.patience);
    check_count("cooldown_counter", cooldown_counter_, 0, o_.cooldown);
  }

  bool is_better(double a, double best) const {
    const bool min = o_.mode == PlateauMode::min;
    if (o_.threshold_mode == ThresholdMode::rel)
      return min ? a < best * (1. - o_.threshold) : a > best * (o_.threshold + 1.);
    return min ? a < best - o_.threshold : a > best + o_.threshold;
  }

 private:
  double mode_worse() const {
    const double inf = std::numeric_limits<double>::infinity();
    return o_.mode == PlateauMode::min ? inf : -inf;
  }

  ReduceLROnPlateauOptions o_;
  std::vector<double> min_lrs_;
  std::vector<double> next_lr_;  // step()'s lrs, sized at construction
  double best_ = 0;
  std::int64_t num_bad_epochs_ = 0;
  std::int64_t cooldown_counter_ = 0;
};

namespace detail {

// numpy's quantile(values, q) with its default "linear" method, of values
// sorted in `v`.
inline double quantile_of_sorted(const std::vector<double>& v, double q) {
  const double virtual_index = static_cast<double>(v.size() - 1) * q;
  const double lo = std::floor(virtual_index);
  const auto below = static_cast<std::size_t>(lo);
  const std::size_t above = std::min(below + 1, v.size() - 1);
  const double a = v[below], b = v[above], gamma = virtual_index - lo;
  const double diff = b - a;
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;  // numpy's _lerp
}

// numpy-ml's _p_decreasing(h, first): P(slope < 0) of the OLS line through
// (x, h[x]) for x = first .. n - 1, n - first >= 3.
inline double p_decreasing(const std::vector<double>& h, std::size_t first) {
  const double n = static_cast<double>(h.size() - first);
  const double x_mean = (n - 1) / 2;  // x counted from first: the slope does not move
  double y_mean = 0;
  for (std::size_t k = first; k < h.size(); ++k) y_mean += h[k];
  y_mean /= n;
  double sxy = 0;
  for (std::size_t k = first; k < h.size(); ++k)
    sxy += (static_cast<double>(k - first) - x_mean) * (h[k] - y_mean);
  const double sxx = n * (n * n - 1) / 12;  // sum of (x - x_mean)^2 over consecutive x
  const double s_mean = sxy / sxx;
  const double intercept = y_mean - s_mean * x_mean;
  double sse = 0;
  for (std::size_t k = first; k < h.size(); ++k) {
    const double r = h[k] - (s_mean * static_cast<double>(k - first) + intercept);
    sse += r * r;
  }
  const double loss_var = 1 / (n - 2) * sse;
  const double s_var = (12 * loss_var) / (n * n * n - n);
  // gaussian_cdf(0, s_mean, s_var)
  const double x_scaled = (0 - s_mean) / std::sqrt(s_var + std::numeric_limits<double>::epsilon());
  return (1 + std::erf(x_scaled / std::sqrt(2.0))) / 2;
}

// numpy-ml's _steps_without_decrease(robust) with check_all = false. The
// robust path works in `scratch`, which allocates nothing when its capacity
// is history.size().
inline std::size_t steps_without_decrease(const std::vector<double>& history, std::int64_t patience,
                                          bool robust, std::vector<double>& scratch) {
  if (robust) {
    scratch.assign(history.begin(), history.end());
    std::sort(scratch.begin(), scratch.end());
    const double thresh = quantile_of_sorted(scratch, 0.9);  // drop the top 10%: loss spikes
    scratch.clear();
    for (double v : history)
      if (v <= thresh) scratch.push_back(v);
  }
  const std::vector<double>& h = robust ? scratch : history;
  const auto n = static_cast<std::int64_t>(h.size());
  const auto first = static_cast<std::size_t>(std::max<std::int64_t>(0, n - patience - 1));
  if (h.size() - first < 3) return 0;  // numpy-ml divides by zero; unreachable with patience >= 3
  return p_decreasing(h, first) < 0.51 ? h.size() - first : 0;
}

// King's test (loss_still_decreasing below), with `scratch` as above.
inline bool loss_still_decreasing(const std::vector<double>& history, std::int64_t patience,
                                  std::vector<double>& scratch) {
  const auto p = static_cast<std::size_t>(patience);
  return !(steps_without_decrease(history, patience, false, scratch) > p &&
           steps_without_decrease(history, patience, true, scratch) > p);
}

inline void check_loss(const char* who, double loss) {
  if (!std::isfinite(loss)) fail<std::invalid_argument>(who, ": a loss is ", loss);
}

inline void check_losses(const char* who, const std::vector<double>& losses, std::size_t least) {
  if (losses.size() < least)
    fail<std::invalid_argument>(who, ": ", losses.size(), " losses; at least ", least,
                                " are needed");
  for (double v : losses) check_loss(who, v);
}

}  // namespace detail

// King's statistic (D. King, "Automatic learning rate scheduling that really
// works", dlib 2018, as numpy-ml computes it): the probability that the slope
// of the least-squares line through (t, losses[t]) is negative,
//   slope ~ N(s, 12 sigma^2 / (n^3 - n)),  sigma^2 = residual sum of squares / (n - 2)
//   P = Phi(-s / sqrt(var + machine eps)).
// At least 3 finite losses.
inline double probability_of_decrease(const std::vector<double>& losses) {
  detail::check_losses("descend::probability_of_decrease", losses, 3);
  return detail::p_decreasing(losses, 0);
}

// King's test as KingScheduler applies it to its loss history: false when
// P(decrease) < 0.51 both over the last patience + 1 losses and over the last
// patience + 1 of those left after dropping the values above the history's
// 90% quantile (numpy's linear interpolation). True when there are fewer
// than patience + 1 losses. patience >= 3.
inline bool loss_still_decreasing(const std::vector<double>& history, std::int64_t patience) {
  const detail::Check check{"descend::loss_still_decreasing"};
  check.at_least("patience", static_cast<double>(patience), 3);
  detail::check_losses(check.who, history, 1);
  std::vector<double> scratch;
  return detail::loss_still_decreasing(history, patience, scratch);
}

// KingScheduler (numpy-ml): each step(loss) appends the loss to a history
// of at most ceil(1.1 (patience + 1)) values; once it holds patience values,
// every lr is multiplied by decay whenever loss_still_decreasing(history,
// patience) is false. Every group starts from its lr at construction
// (numpy-ml's initial_lr) and this schedule sets each group's lr to its own
// current value at every step, as numpy-ml returns current_lr.
//
// numpy-ml computes the lr of an update from that update's loss: call
// step(loss) before the update to do the same (after it, the lr lags one
// update, as ReduceLROnPlateau is usually stepped). numpy-ml's layers call
// the scheduler once per parameter of an update, so a layer with W and b
// appends each loss twice; here it is once per step(). Defaults: patience
// 1000, decay 0.99. patience >= 3 (numpy-ml divides by zero for 1 and 2
// and never decays for 0); decay in [0, 1]; losses must be finite.
class KingScheduler : public MetricSchedule {
 public:
  explicit KingScheduler(const ScheduleTarget& target, std::int64_t patience = 1000,
                         double decay = 0.99)
      : MetricSchedule(target, "descend::KingScheduler"), patience_(patience), decay_(decay) {
    check_.at_least("patience", static_cast<double>(patience), 3);
    check_.in_range("decay", decay, 0, 1, false);
    max_history_ = static_cast<std::size_t>(std::ceil(1.1 * static_cast<double>(patience + 1)));
    // A step's history holds max_history + 1 losses before it drops the oldest.
    loss_history_.reserve(max_history_ + 1);
    next_history_.reserve(max_history_ + 1);
    scratch_.reserve(max_history_ + 1);
    last_epoch_ = 0;
    base_lrs_ = current_lr_ = next_lr_ = last_lr_ = lrs();
  }

  void step(double loss) override {
    detail::check_loss(check_.who, loss);
    // The step's history and lrs, built in buffers of the same capacity and
    // swapped in once the groups took the lrs.
    std::vector<double>& history = next_history_;
    std::vector<double>& current = next_lr_;
    history.assign(loss_history_.begin(), loss_history_.end());
    history.push_back(loss);
    current = current_lr_;
    if (history.size() >= static_cast<std::size_t>(patience_)) {
      if (history.size() > max_history_)
        history.erase(history.begin(), history.end() - static_cast<std::ptrdiff_t>(max_history_));
      if (!detail::loss_still_decreasing(history, patience_, scratch_))
        for (double& lr : current) lr *= decay_;
    }
    apply(current);
    loss_history_.swap(history);
    current_lr_.swap(current);
    last_epoch_ += 1;
  }

  const std::vector<double>& loss_history() const { return loss_history_; }
  const std::vector<double>& current_lr() const { return current_lr_; }

  void visit_state(StateFields& f) override {
    MetricSchedule::visit_state(f);
    f.field("loss_history", loss_history_);
    // A reader may have moved in a vector of just the loaded size: step()
    // swaps the history with its buffer, and both need the capacity.
    if (!f.checking()) loss_history_.reserve(max_history_ + 1);
    f.field("current_lr", current_lr_, static_cast<std::int64_t>(size()));
  }
  // At most min(last_epoch, ceil(1.1 (patience + 1))) finite losses (a
  // longer history would allocate at the next step); current_lr as lrs.
  void check_state() const override {
    MetricSchedule::check_state();
    const auto most = std::min(static_cast<std::size_t>(last_epoch_), max_history_);
    if (loss_history_.size() > most)
      detail::fail<std::invalid_argument>(check_.who, ": loss_history has ", loss_history_.size(),
                                          " losses after ", last_epoch_,
                                          " steps; it keeps at most ", max_history_);
    for (std::size_t k = 0; k < loss_history_.size(); ++k)
      if (!std::isfinite(loss_history_[k]))
        detail::fail<std::invalid_argument>(check_.who, ": loss_history[", k,
                                            "] = ", loss_history_[k], " must be finite");
    check_lrs("current_lr", current_lr_);
  }

 private:
  std::int64_t patience_;
  double decay_;
  std::size_t max_history_ = 0;
  std::vector<double> loss_history_, current_lr_;
  std::vector<double> next_history_, next_lr_, scratch_;  // step()'s, sized at construction
};

}  // namespace descend
