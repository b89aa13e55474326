// What the spiral and compare examples share: command-line flags, the
// optimizers with seed 000's presets, and the two-layer classifier.
#pragma once

#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "descend/descend.hpp"
#include "descend/nn.hpp"

namespace example {

// "--name value" pairs and bare "--flag"s; anything else is an error.
class Flags {
 public:
  Flags(int argc, char** argv, const std::vector<std::string>& switches) {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument '" + arg + "'");
      const std::string name = arg.substr(2);
      bool is_switch = false;
      for (const auto& s : switches) is_switch = is_switch || s == name;
      if (is_switch) {
        values_[name] = "1";
      } else if (i + 1 < argc) {
        values_[name] = argv[++i];
      } else {
        throw std::invalid_argument("--" + name + " needs a value");
      }
    }
  }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::string text(const std::string& name, const std::string& fallback) {
    used_[name] = true;
    return has(name) ? values_.at(name) : fallback;
  }
  double number(const std::string& name, double fallback) {
    used_[name] = true;
    if (!has(name)) return fallback;
    const std::string& s = values_.at(name);
    std::size_t end = 0;
    double value = 0;
    try {
      value = std::stod(s, &end);
    } catch (const std::exception&) {
      end = 0;
    }
    if (end == 0 || end != s.size())
      throw std::invalid_argument("--" + name + " expects a number, got '" + s + "'");
    return value;
  }
  long integer(const std::string& name, long fallback) {
    const double value = number(name, static_cast<double>(fallback));
    if (value != static_cast<double>(static_cast<long>(value)) || value < 0)
      throw std::invalid_argument("--" + name + " expects a whole number >= 0, got '" +
                                  values_.at(name) + "'");
    return static_cast<long>(value);
  }
  // Call after reading every flag: names any flag nobody asked for.
  void reject_unknown() const {
    for (const auto& kv : values_)
      if (!used_.count(kv.first)) throw std::invalid_argument("unknown flag --" + kv.first);
  }

 private:
  std::map<std::string, std::string> values_;
  mutable std::map<std::string, bool> used_;
};

// Hyper-parameters of every optimizer the examples offer, by flag name.
struct Hyper {
  std::string optimizer = "adam";
  double lr = 0.05, decay = 5e-7, momentum = 0, dampening = 0, rho = 0.9, beta1 = 0.9,
         beta2 = 0.999, eps = 1e-7, weight_decay = 0;
  bool nesterov = false, amsgrad = false;
};

inline const std::vector<std::string> kOptimizers = {"sgd", "adagrad", "rmsprop", "adadelta",
                                                     "adam"};

// Seed 000's runs (nnfs): eps 1e-7 throughout; "rho" is RMSProp's alpha.
// Adadelta is not in seed 000: PyTorch's defaults.
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

// --optimizer NAME (or --preset NAME) starts from NAME's preset; the other
// flags override single values.
inline Hyper hyper_from(Flags& flags) {
  const std::string name = flags.text("optimizer", flags.text("preset", "adam"));
  Hyper h = preset(name);
  h.lr = flags.number("lr", h.lr);
  h.decay = flags.number("decay", h.decay);
  h.momentum = flags.number("momentum", h.momentum);
  h.dampening = flags.number("dampening", h.dampening);
  h.rho = flags.number("rho", h.rho);
  h.beta1 = flags.number("beta1", h.beta1);
  h.beta2 = flags.number("beta2", h.beta2);
  h.eps = flags.number("eps", h.eps);
  h.weight_decay = flags.number("weight-decay", h.weight_decay);
  h.nesterov = flags.has("nesterov") || h.nesterov;
  h.amsgrad = flags.has("amsgrad") || h.amsgrad;
  flags.text("nesterov", "");
  flags.text("amsgrad", "");
  return h;
}

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
// trained full batch, as in seed 000.
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
