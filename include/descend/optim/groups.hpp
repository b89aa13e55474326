// Parameter groups, as PyTorch's param_groups: one optimizer, several sets of
// options. Group 0 has the options the optimizer was built with;
// add_group(options) adds another and returns its index, which
// add(param, grad, group) takes. Each group's options are readable and
// settable between steps, and a schedule (schedule.hpp) sets each group's lr.
// update() uses group 0's options.
//
// Options that decide which state buffers a parameter has (SGD's and
// RMSprop's momentum being 0 or not, RMSprop's centered, AMSGrad) cannot
// change once a parameter of the group has state: set_options() refuses it,
// naming them, rather than reinterpret the buffers.
#pragma once

#include <string>
#include <type_traits>
#include <vector>

#include "descend/optim/optimizer.hpp"

namespace descend {
namespace detail {

// A group's buffers (`have`) differ from those of new options (`want`): from
// set_options() or, `checkpoint`, from a checkpoint's options. Not a template,
// so that every optimizer shares it.
[[noreturn]] DESCEND_COLD inline void fail_buffers(const char* who, std::size_t group,
                                                   const BufferNames& have, const BufferNames& want,
                                                   bool checkpoint) {
  if (checkpoint)
    fail<std::invalid_argument>(who, ": group ", group, " has options that give buffers (",
                                have.joined(), ") but the checkpoint's options give (",
                                want.joined(), ")");
  fail<std::invalid_argument>(who, ": group ", group, " has state with buffers (", have.joined(),
                              ") and these options need (", want.joined(),
                              "); forget() its parameters, or reset(), before changing them");
}

}  // namespace detail

template <class Scalar, class Options>
class GroupedOptimizer : public Optimizer<Scalar> {
 public:
  std::size_t num_groups() const override { return groups_.size(); }

  const Options& options(std::size_t group = 0) const { return groups_[this->checked(group)]; }

  // Adds a parameter group with these options; returns its index.
  DESCEND_COLD std::size_t add_group(const Options& options) {
    validate(options);
    this->make_room_for_groups(groups_.size() + 1);
    groups_.push_back(options);
    return groups_.size() - 1;
  }

  // Replaces a group's options; they apply from the next update. Throws
  // std::invalid_argument, changing nothing, when an option is out of range or
  // would change the buffers of a group that has state.
  DESCEND_COLD void set_options(const Options& options, std::size_t group = 0) {
    this->checked(group);
    validate(options);
    if (!same_buffers(groups_[group], options) && this->group_has_state(group))
      detail::fail_buffers(this->who_, group, names_of(groups_[group]), names_of(options), false);
    groups_[group] = options;
  }

 protected:
  DESCEND_COLD GroupedOptimizer(const char* who, const Options& options) : Optimizer<Scalar>(who) {
    groups_.push_back(options);
    this->make_room_for_groups(1);
  }

  // Every option checked (lr, decay here; the rule's own in check_options).
  void validate(const Options& options) const {
    this->check_.template representable<Scalar>("lr", options.lr);
    this->check_.finite_non_negative("decay", options.decay);
    check_options(options);
  }
  virtual void check_options(const Options& options) const = 0;
  // The state buffers a parameter gets under these options, by PyTorch's names.
  virtual detail::BufferNames names_of(const Options& options) const = 0;
  // Whether a and b give the same buffers (without allocating: a cyclic
  // schedule sets the momentum at every step).
  virtual bool same_buffers(const Options& a, const Options& b) const = 0;

  GroupSettings settings(std::size_t group) const override {
    const Options& o = groups_[group];
    return {o.lr, o.decay, o.maximize};
  }
  double group_lr(std::size_t group) const override { return groups_[group].lr; }
  void set_group_lr(std::size_t group, double lr) override {
    check_lr(group, lr);
    groups_[group].lr = lr;
  }
  void check_lr(std::size_t /*group*/, double lr) const override {
    this->check_.template representable<Scalar>("lr", lr);
  }

  // For a rule whose cyclic schedules cycle options.*member.
  template <double Options::*member>
  void set_member(std::size_t group, double value) {
    Options options = groups_[group];
    options.*member = value;
    set_options(options, group);
  }

  typename Optimizer<Scalar>::OptionsBytes options_bytes() override {
    static_assert(std::is_trivially_copyable<Options>::value,
                  "descend: checkpoints copy a group's options as bytes");
    return {groups_.data(), sizeof(Options)};
  }
  void visit_options_at(void* options, StateFields& fields) const override {
    visit_options(*static_cast<Options*>(options), fields);
  }
  DESCEND_COLD void check_options_at(const void* options, std::size_t group) const override {
    const Options& staged = *static_cast<const Options*>(options);
    validate(staged);
    if (!same_buffers(groups_[group], staged))
      detail::fail_buffers(this->who_, group, names_of(groups_[group]), names_of(staged), true);
  }
  detail::BufferNames buffer_names_at(const void* options) const override {
    return names_of(*static_cast<const Options*>(options));
  }
  detail::BufferNames group_buffers(std::size_t group) const override {
    return names_of(groups_[this->checked(group)]);
  }

  detail::PodVector<Options> groups_;
};

}  // namespace descend
