// A non-finite guard (Optax's apply_if_finite is the model; PyTorch has
// none): a stage that step() runs before updating (Optimizer::add_transform).
// When any registered gradient of a step holds a NaN or an infinity:
//   NonFinitePolicy::throw_error   step() throws NonFiniteError naming the
//                                  parameter, the coefficient and its value;
//   NonFinitePolicy::skip          step() updates nothing: no parameter,
//                                  state or step count changes; the skip is
//                                  counted (StepReport::skipped,
//                                  skipped_in_a_row, skipped_total); the
//                                  step that would be the
//                                  max_consecutive_skips-th skip in a row
//                                  throws NonFiniteError instead (0: never).
// A step that is applied resets the count in a row. A training loop that
// steps a schedule should step it only when step().applied, so that a
// skipped step leaves the schedule alone too.
//
// Added after a ClipGradNorm over every group, the guard reads no memory of
// its own when the clip's total norm is finite (a finite sum of |g|^p in
// double has no NaN or infinity in it); otherwise it reads every gradient once.
#pragma once

#include <cmath>
#include <memory>

#include "descend/optim/detail/reduce.hpp"
#include "descend/optim/errors.hpp"
#include "descend/optim/param_groups.hpp"
#include "descend/optim/transform.hpp"

namespace descend {

enum class NonFinitePolicy { throw_error, skip };

struct NonFiniteGuard {
  NonFinitePolicy policy = NonFinitePolicy::skip;
  std::size_t max_consecutive_skips = 10;  // 0: skip for ever

  template <class Scalar>
  std::unique_ptr<GradientTransform<Scalar>> make(const ParamGroups& groups) const;
};

namespace detail {

template <class Scalar>
class NonFiniteGuardStage : public GradientTransform<Scalar> {
 public:
  explicit NonFiniteGuardStage(const NonFiniteGuard& o) : o_(o) {}

  bool before_update(const StepItem<Scalar>* items, Scalar* /*scales*/, std::size_t count,
                     StepReport& report) override {
    ran_ = true;
    const bool norm_says_finite =
        report.grad_norm_group == kAllGroups && std::isfinite(report.grad_norm);
    if (norm_says_finite) return true;
    std::size_t bad = 0;
    while (bad < count && all_finite(items[bad].grad)) ++bad;
    if (bad == count) return true;
    if (o_.policy == NonFinitePolicy::skip &&
        (o_.max_consecutive_skips == 0 || in_a_row_ + 1 < o_.max_consecutive_skips)) {
      ++in_a_row_;
      ++total_;
      publish(report);
      return false;
    }
    ran_ = false;  // this step ends here, with no after_step()
    Index row = 0, col = 0;
    Scalar value = 0;
    find_non_finite(items[bad].grad, row, col, value);
    fail<NonFiniteError>(
        "descend::NonFiniteGuard: registered parameter #", bad, "'s gradient is ",
        static_cast<double>(value), " at (", row, ", ", col, ")",
        o_.policy == NonFinitePolicy::skip
            ? concat(", after ", in_a_row_, " skipped steps in a row (max_consecutive_skips = ",
                     o_.max_consecutive_skips, ")")
            : std::string(),
        "; nothing was updated");
  }

  const char* kind() const override { return "descend::NonFiniteGuard"; }
  void visit_state(StateFields& f) override {
    f.field("skipped_in_a_row", in_a_row_);
    f.field("skipped_total", total_);
  }

  // Only a guard that looked at this step reports: one after a guard that
  // skipped it leaves that guard's counts in the report.
  void after_step(StepReport& report) noexcept override {
    if (!ran_) return;
    ran_ = false;
    if (report.applied) in_a_row_ = 0;
    publish(report);
  }

 private:
  void publish(StepReport& report) const {
    report.skipped_in_a_row = in_a_row_;
    report.skipped_total = total_;
  }

  NonFiniteGuard o_;
  std::size_t in_a_row_ = 0;
  std::size_t total_ = 0;
  bool ran_ = false;  // before_update() saw the current step
};

}  // namespace detail

template <class Scalar>
std::unique_ptr<GradientTransform<Scalar>> NonFiniteGuard::make(const ParamGroups&) const {
  if (policy != NonFinitePolicy::skip && policy != NonFinitePolicy::throw_error)
    detail::fail<std::invalid_argument>("descend::NonFiniteGuard: policy = ",
                                        static_cast<int>(policy), " is not a NonFinitePolicy");
  return std::make_unique<detail::NonFiniteGuardStage<Scalar>>(*this);
}

}  // namespace descend
