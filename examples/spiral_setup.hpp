// What the spiral and compare examples share: the optimizers with the presets
// of the NNFS book (Kinsley and Kukiela, "Neural Networks from Scratch in
// Python", chapter 10), the flags that pick and change them, and the
// two-layer classifier.
#pragma once

#include <algorithm>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli.hpp"
#include "descend/descend.hpp"
#include "descend/nn.hpp"

namespace example {

// Hyper-parameters of every optimizer the examples offer, by flag name.
struct Hyper {
  std::string optimizer = "adam";
  double lr = 0.05, decay = 5e-7, momentum = 0, dampening = 0, rho = 0.9, beta1 = 0.9,
         beta2 = 0.999, eps = 1e-7, weight_decay = 0;
  bool nesterov = false, amsgrad = false;
};

inline const std::vector<std::string> kOptimizers = {"sgd", "adagrad", "rmsprop", "adadelta",
                                                     "adam"};

// The NNFS book's runs: eps 1e-7 throughout; "rho" is RMSProp's alpha.
// Adadelta is not in the book: PyTorch's defaults.
inline Hyper preset(const std::string& name) {
  Hyper h;
  h.optimizer = name;
  if (name == "sgd") {
    h.lr = 1.0, h.decay = 1e-3, h.momentum = 0.9;
  } else if (name == "adagrad") {
    h.lr = 1.0, h.decay = 1e-4;
  } else if (name == "rmsprop") {
    h.lr = 0.02, h.decay = 1e-5, h.rho = 0.999;
  } else if (name == "adadelta") {
    h.lr = 1.0, h.decay = 0, h.rho = 0.9, h.eps = 1e-6;
  } else if (name == "adam") {
    h.lr = 0.05, h.decay = 5e-7;
  } else {
    throw std::invalid_argument("unknown optimizer '" + name +
                                "' (choose sgd, adagrad, rmsprop, adadelta or adam)");
  }
  return h;
}

// --optimizer NAME starts from NAME's preset; each hyper-parameter flag then
// overrides one value, and is rejected when NAME has no such parameter (a
// --momentum given to Adam would otherwise be silently ignored).
class HyperFlags {
 public:
  explicit HyperFlags(Cli& cli) {
    cli.add_choice("--optimizer", name_, kOptimizers, "the optimizer, starting from its preset");
    number(cli, "--lr", &Hyper::lr, {}, "base learning rate");
    number(cli, "--decay", &Hyper::decay, {}, "inverse-time decay: lr / (1 + decay (t - 1))");
    number(cli, "--momentum", &Hyper::momentum, {"sgd", "rmsprop"}, "momentum");
    number(cli, "--dampening", &Hyper::dampening, {"sgd"}, "momentum dampening");
    toggle(cli, "--nesterov", &Hyper::nesterov, {"sgd"}, "Nesterov momentum");
    number(cli, "--rho", &Hyper::rho, {"rmsprop", "adadelta"},
           "squared-gradient average factor, RMSProp's alpha");
    number(cli, "--beta1", &Hyper::beta1, {"adam"}, "first-moment factor");
    number(cli, "--beta2", &Hyper::beta2, {"adam"}, "second-moment factor");
    toggle(cli, "--amsgrad", &Hyper::amsgrad, {"adam"}, "AMSGrad's running maximum");
    number(cli, "--eps", &Hyper::eps, {"adagrad", "rmsprop", "adadelta", "adam"},
           "denominator term");
    number(cli, "--weight-decay", &Hyper::weight_decay, {}, "L2 penalty added to the gradient");
    cli.footer(presets());
  }
  HyperFlags(const HyperFlags&) = delete;  // the Cli holds pointers into given_
  HyperFlags& operator=(const HyperFlags&) = delete;

  // The preset of --optimizer with the given flags on top; call after parsing.
  Hyper resolve() const {
    Hyper h = preset(name_);
    for (const Flag& flag : flags_) {
      if (!flag.option.given()) continue;
      if (!applies(flag, name_))
        throw UsageError(flag.name + " does not apply to --optimizer " + name_ + " (only to " +
                         join(flag.optimizers) + ")");
      if (flag.number) h.*flag.number = given_.*flag.number;
      if (flag.toggle) h.*flag.toggle = given_.*flag.toggle;
    }
    return h;
  }

 private:
  struct Flag {
    std::string name;
    Option option;
    std::vector<std::string> optimizers;  // those that have the parameter; empty: all
    double Hyper::*number;
    bool Hyper::*toggle;
  };
  static constexpr const char* kGroup = "Hyper-parameters (each overrides the preset's value)";

  void number(Cli& cli, const std::string& name, double Hyper::*field,
              std::vector<std::string> optimizers, const std::string& help) {
    Option option = cli.add_number(name, given_.*field, help + applies_to(optimizers));
    option.no_default().group(kGroup);
    flags_.push_back({name, option, std::move(optimizers), field, nullptr});
  }
  void toggle(Cli& cli, const std::string& name, bool Hyper::*field,
              std::vector<std::string> optimizers, const std::string& help) {
    Option option = cli.add_flag(name, given_.*field, help + applies_to(optimizers));
    option.group(kGroup);
    flags_.push_back({name, option, std::move(optimizers), nullptr, field});
  }
  static bool applies(const Flag& flag, const std::string& optimizer) {
    const auto& list = flag.optimizers;
    return list.empty() || std::find(list.begin(), list.end(), optimizer) != list.end();
  }
  // Every preset's values, from preset() itself, for --help.
  std::string presets() const {
    std::string out = "Presets (the NNFS book's; Adadelta's are PyTorch's defaults):";
    for (const std::string& name : kOptimizers) {
      const Hyper h = preset(name);
      out += "\n  " + name + ":";
      for (const Flag& flag : flags_) {
        if (!applies(flag, name)) continue;
        if (flag.number) out += " " + flag.name + " " + exact(h.*flag.number);
        if (flag.toggle && h.*flag.toggle) out += " " + flag.name;
      }
    }
    return out;
  }
  static std::string join(const std::vector<std::string>& list) {
    std::string out;
    for (std::size_t i = 0; i < list.size(); ++i)
      out += (i == 0 ? "" : i + 1 == list.size() ? " and " : ", ") + list[i];
    return out;
  }
  static std::string applies_to(const std::vector<std::string>& optimizers) {
    return optimizers.empty() ? "" : " (" + join(optimizers) + ")";
  }

  std::string name_ = "adam";
  Hyper given_;
  std::vector<Flag> flags_;
};

template <class Scalar>
std::unique_ptr<descend::Optimizer<Scalar>> make_optimizer(const Hyper& h) {
  if (h.optimizer == "sgd") {
    descend::SgdOptions o;
    o.lr = h.lr, o.decay = h.decay, o.momentum = h.momentum, o.dampening = h.dampening;
    o.nesterov = h.nesterov, o.weight_decay = h.weight_decay;
    return std::make_unique<descend::Sgd<Scalar>>(o);
  }
  if (h.optimizer == "adagrad") {
    descend::AdagradOptions o;
    o.lr = h.lr, o.decay = h.decay, o.eps = h.eps, o.weight_decay = h.weight_decay;
    return std::make_unique<descend::Adagrad<Scalar>>(o);
  }
  if (h.optimizer == "rmsprop") {
    descend::RmspropOptions o;
    o.lr = h.lr, o.decay = h.decay, o.alpha = h.rho, o.eps = h.eps, o.momentum = h.momentum;
    o.weight_decay = h.weight_decay;
    return std::make_unique<descend::Rmsprop<Scalar>>(o);
  }
  if (h.optimizer == "adadelta") {
    descend::AdadeltaOptions o;
    o.lr = h.lr, o.decay = h.decay, o.rho = h.rho, o.eps = h.eps, o.weight_decay = h.weight_decay;
    return std::make_unique<descend::Adadelta<Scalar>>(o);
  }
  descend::AdamOptions o;
  o.lr = h.lr, o.decay = h.decay, o.beta1 = h.beta1, o.beta2 = h.beta2, o.eps = h.eps;
  o.weight_decay = h.weight_decay, o.amsgrad = h.amsgrad;
  return std::make_unique<descend::Adam<Scalar>>(o);
}

// Dense(2, hidden) - ReLU - Dense(hidden, classes) - softmax + cross-entropy,
// trained full batch, as in the NNFS book.
template <class Scalar>
class SpiralNet {
 public:
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

  SpiralNet(int hidden, int classes, std::uint64_t seed)
      : random_(seed), dense1_(2, hidden, random_), dense2_(hidden, classes, random_) {}

  struct Result {
    double loss, accuracy;
  };

  // One epoch: forward, backward, and an update of all four parameters.
  Result train_epoch(const Matrix& x, const Eigen::VectorXi& y, descend::Optimizer<Scalar>& opt) {
    const double loss = head_.forward(forward_logits(x), y);
    const double acc = descend::nn::accuracy(head_.output(), y);
    dense2_.backward(head_.backward(y));
    dense1_.backward_params(relu_.backward(dense2_.dinputs()));  // no dL/dX for the data
    opt.update(dense1_.weights(), dense1_.dweights());
    opt.update(dense1_.biases(), dense1_.dbiases());
    opt.update(dense2_.weights(), dense2_.dweights());
    opt.update(dense2_.biases(), dense2_.dbiases());
    return {loss, acc};
  }

  // Class scores (logits) for each row of x.
  const Matrix& forward_logits(const Matrix& x) {
    return dense2_.forward(relu_.forward(dense1_.forward(x)));
  }

 private:
  descend::data::Random random_;
  descend::nn::Dense<Scalar> dense1_, dense2_;
  descend::nn::Relu<Scalar> relu_;
  descend::nn::SoftmaxCrossEntropy<Scalar> head_;
};

}  // namespace example
