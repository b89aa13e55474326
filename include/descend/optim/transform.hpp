// The seam between reading a step's gradients and updating: what step() hands
// a gradient transform (clip.hpp, guard.hpp) and what it reports.
//
// step() reads every registered pair, checks it, then runs the transforms in
// the order they were added, then updates. A transform sees all the step's
// gradients before anything has changed; it can scale a parameter's gradient
// (the scale is folded into the update's one pass over memory, never written
// back), write the gradients itself (as clip_grad_value_ does), or skip the
// step. A throw or a skip leaves parameters, state and step counts as they were.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "descend/optim/detail/view.hpp"
#include "descend/optim/state_fields.hpp"

namespace descend {

// The group a transform acts on: every group, or one.
inline constexpr std::size_t kAllGroups = static_cast<std::size_t>(-1);

// What the last step() did, filled without extra passes over memory.
struct StepReport {
  bool applied = false;  // parameters were updated (false: skipped, or none registered)
  bool skipped = false;  // a transform (the non-finite guard) skipped the step
  bool clipped = false;  // a clip scaled or clamped some gradient
  // The total gradient norm a ClipGradNorm computed this step; NaN if none did.
  double grad_norm = std::numeric_limits<double>::quiet_NaN();
  std::size_t grad_norm_group = 0;   // the group it covers, or kAllGroups
  std::size_t updated = 0;           // parameters updated (empty ones are not)
  std::size_t skipped_in_a_row = 0;  // the non-finite guard's consecutive skips
  std::size_t skipped_total = 0;     // and all of them
  // Per group: its learning rate at this step after the optimizer's
  // inverse-time decay (of the group's last parameter); the group's lr if it
  // has no parameter. AdaGrad's lr_decay is not included.
  std::vector<double> lr;
};

// One registered pair as step() sees it.
template <class Scalar>
struct StepItem {
  detail::View<Scalar> param;
  detail::View<const Scalar> grad;  // same shape as param
  std::size_t group = 0;            // its parameter group
  // The gradient enters the update multiplied by this: -1 under `maximize`,
  // times any clip's factor.
  Scalar grad_scale = 1;
  // The optimizer's, filled once the step goes ahead (a transform must not
  // read them): the state buffers, back to back; the update count, this one
  // included (1 first); the group's learning rate after inverse-time decay.
  Scalar* state = nullptr;
  std::int64_t step = 0;
  double lr = 0;
};

template <class Scalar>
class GradientTransform {
 public:
  virtual ~GradientTransform() = default;
  // Called by step() with every registered pair (items[i] is registered
  // parameter #i; its param, grad and group are what a transform reads) after
  // every pair was checked and before anything changes. scales[i] is the
  // factor pair i's gradient enters the update with (-1 under maximize, times
  // what earlier transforms set): a transform multiplies it. Returns false
  // to skip the step. Must not allocate; may throw (nothing has changed).
  virtual bool before_update(const StepItem<Scalar>* items, Scalar* scales, std::size_t count,
                             StepReport& report) = 0;
  // After the step was applied (report.applied) or skipped. Must not throw:
  // the parameters may already be updated.
  virtual void after_step(StepReport& /*report*/) noexcept {}

  // What a checkpoint stores of it: its kind (a checkpoint is loaded only
  // into the same transforms, in the same order) and its state, if any (the
  // non-finite guard's counts), listed as StateFields (state_fields.hpp).
  virtual const char* kind() const = 0;
  virtual void visit_state(StateFields& /*fields*/) {}
};

}  // namespace descend
