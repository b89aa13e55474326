// Early stopping as cute-dl describes it, fed one validation at a
// time (a validation loss and accuracy):
//   stop when `patience` validations in a row have not lowered the lowest
//   validation loss so far (a NaN loss lowers nothing), or when
//   `target_patience` validations in a row have had an accuracy above
//   `target_accuracy` (strictly: the default 1 never stops a run).
// Options: patience and target_patience >= 1, target_accuracy in [0, 1];
// std::invalid_argument otherwise, or for a NaN accuracy.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

namespace descend {
namespace nn {

struct EarlyStoppingOptions {
  std::int64_t patience = 20;
  double target_accuracy = 1;
  std::int64_t target_patience = 20;
};

class EarlyStopping {
 public:
  enum class Reason { none, patience, target_accuracy };

  explicit EarlyStopping(const EarlyStoppingOptions& o = {}) : o_(o) {
    constexpr const char* who = "descend::nn::EarlyStopping: ";
    if (o.patience < 1)
      throw std::invalid_argument(who + ("patience = " + std::to_string(o.patience)) +
                                  " must be >= 1");
    if (o.target_patience < 1)
      throw std::invalid_argument(who + ("target_patience = " + std::to_string(o.target_patience)) +
                                  " must be >= 1");
    if (!(o.target_accuracy >= 0 && o.target_accuracy <= 1))
      throw std::invalid_argument(who + ("target_accuracy = " + std::to_string(o.target_accuracy)) +
                                  " must be in [0, 1]");
  }

  // Records one validation; returns true when training should stop (and
  // keeps returning true).
  bool update(double loss, double accuracy) {
    if (std::isnan(accuracy))
      throw std::invalid_argument("descend::nn::EarlyStopping::update: accuracy is NaN");
    ++validations_;
    if (loss < best_loss_) {  // false for NaN
      best_loss_ = loss;
      best_ = validations_;
      without_lower_ = 0;
    } else {
      ++without_lower_;
    }
    above_target_ = accuracy > o_.target_accuracy ? above_target_ + 1 : 0;
    if (reason_ == Reason::none) {
      if (without_lower_ >= o_.patience)
        reason_ = Reason::patience;
      else if (above_target_ >= o_.target_patience)
        reason_ = Reason::target_accuracy;
    }
    return stop();
  }

  bool stop() const { return reason_ != Reason::none; }
  Reason reason() const { return reason_; }
  double best_loss() const { return best_loss_; }
  // 1-based number of the validation with the lowest loss (0: none yet).
  std::int64_t best_validation() const { return best_; }
  std::int64_t validations() const { return validations_; }
  std::int64_t without_lower() const { return without_lower_; }
  std::int64_t above_target() const { return above_target_; }
  const EarlyStoppingOptions& options() const { return o_; }

 private:
  EarlyStoppingOptions o_;
  Reason reason_ = Reason::none;
  double best_loss_ = std::numeric_limits<double>::infinity();
  std::int64_t best_ = 0, validations_ = 0, without_lower_ = 0, above_target_ = 0;
};

}  // namespace nn
}  // namespace descend
