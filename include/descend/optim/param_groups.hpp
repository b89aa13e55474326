// What a learning-rate schedule sees of an optimizer: its parameter groups'
// learning rates and, for the rules that have one, the momentum a cyclic
// schedule cycles (SGD's and RMSprop's momentum, Adam's beta1). Every
// optimizer is a ParamGroups; LrGroups is one with no optimizer behind it, for
// computing a schedule's rates on their own.
//
// Plain doubles and no Eigen: a schedule's header includes this one only.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <utility>
#include <vector>

#include "descend/optim/errors.hpp"

namespace descend {

class ParamGroups {
 public:
  virtual ~ParamGroups() = default;

  virtual std::size_t num_groups() const = 0;

  // A group's learning rate: what the optimizer applies at its next update,
  // before its own inverse-time `decay` (and AdaGrad's lr_decay). Every
  // group's lr is validated as the group's options are.
  double lr(std::size_t group = 0) const { return group_lr(checked(group)); }
  void set_lr(double lr, std::size_t group) { set_group_lr(checked(group), lr); }
  // Sets every group's learning rate (validated for all before any changes).
  void set_lr(double lr) {
    for (std::size_t g = 0; g < num_groups(); ++g) check_lr(g, lr);
    for (std::size_t g = 0; g < num_groups(); ++g) set_group_lr(g, lr);
  }

  // The momentum a cyclic schedule (CyclicLR, OneCycleLR) cycles: "momentum",
  // "beta1", or nullptr when the update rule has none.
  virtual const char* momentum_name() const { return nullptr; }
  double momentum(std::size_t group) const {
    require_momentum();
    return group_momentum(checked(group));
  }
  void set_momentum(double momentum, std::size_t group) {
    require_momentum();
    set_group_momentum(checked(group), momentum);
  }

  // PyTorch's param_group["initial_lr"]: the learning rate the group had when
  // the first schedule attached to it, which every later schedule starts
  // from; NaN until then.
  double initial_lr(std::size_t group) const {
    checked(group);
    return group < initial_lr_.size() ? initial_lr_[group]
                                      : std::numeric_limits<double>::quiet_NaN();
  }
  void set_initial_lr(double lr, std::size_t group) {
    checked(group);
    if (initial_lr_.size() < num_groups())
      initial_lr_.resize(num_groups(), std::numeric_limits<double>::quiet_NaN());
    initial_lr_[group] = lr;
  }

 protected:
  ParamGroups() = default;
  ParamGroups(const ParamGroups&) = default;
  ParamGroups(ParamGroups&&) = default;
  ParamGroups& operator=(const ParamGroups&) = default;
  ParamGroups& operator=(ParamGroups&&) = default;

  // `group` is in range in each of these.
  virtual double group_lr(std::size_t group) const = 0;
  virtual void set_group_lr(std::size_t group, double lr) = 0;  // validates; throws
  virtual void check_lr(std::size_t group, double lr) const = 0;
  virtual double group_momentum(std::size_t /*group*/) const { return 0; }
  virtual void set_group_momentum(std::size_t /*group*/, double /*momentum*/) {}

  std::size_t checked(std::size_t group) const {
    if (group >= num_groups())
      detail::fail<std::out_of_range>("descend: parameter group ", group, " does not exist (",
                                      num_groups(), " groups)");
    return group;
  }

 private:
  void require_momentum() const {
    if (momentum_name() == nullptr)
      detail::fail<std::invalid_argument>(
          "descend: this update rule has no momentum (or beta1) for a schedule to cycle");
  }

  std::vector<double> initial_lr_;
};

// Learning rates (and optionally momenta) with no optimizer behind them: a
// schedule attached to an LrGroups computes its rates, for reading or for
// driving something else.
class LrGroups : public ParamGroups {
 public:
  explicit LrGroups(std::vector<double> lrs, std::vector<double> momenta = {})
      : lrs_(std::move(lrs)), momenta_(std::move(momenta)) {
    if (lrs_.empty()) detail::fail<std::invalid_argument>("descend::LrGroups: no groups");
    if (!momenta_.empty() && momenta_.size() != lrs_.size())
      detail::fail<std::invalid_argument>("descend::LrGroups: ", lrs_.size(), " lrs but ",
                                          momenta_.size(), " momenta");
    for (std::size_t g = 0; g < lrs_.size(); ++g) check_lr(g, lrs_[g]);
  }

  std::size_t num_groups() const override { return lrs_.size(); }
  const char* momentum_name() const override { return momenta_.empty() ? nullptr : "momentum"; }

 protected:
  double group_lr(std::size_t group) const override { return lrs_[group]; }
  void set_group_lr(std::size_t group, double lr) override {
    check_lr(group, lr);
    lrs_[group] = lr;
  }
  void check_lr(std::size_t group, double lr) const override {
    if (!(lr >= 0) || std::isinf(lr))
      detail::fail<std::invalid_argument>("descend::LrGroups: lr = ", lr, " of group ", group,
                                          " must be finite and >= 0");
  }
  double group_momentum(std::size_t group) const override { return momenta_[group]; }
  void set_group_momentum(std::size_t group, double momentum) override {
    momenta_[group] = momentum;
  }

 private:
  std::vector<double> lrs_;
  std::vector<double> momenta_;
};

}  // namespace descend
