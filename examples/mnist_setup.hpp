// What the MNIST examples share: every optimizer of descend that trains from
// gradients alone (L-BFGS needs a closure), from PyTorch's defaults, with the
// flags that change them; the learning-rate schedules; the data and
// early-stopping flags with the reading and splitting of the data; and the
// 784-128-10 ReLU network with its training epoch and evaluation paths.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "cli.hpp"
#include "descend/data/idx.hpp"
#include "descend/descend.hpp"
#include "descend/nn.hpp"
#include "descend/training.hpp"

namespace example {

inline const std::vector<std::string> kMnistOptimizers = {
    "sgd",   "adagrad", "rmsprop", "adadelta", "adam",  "adamw",
    "nadam", "radam",   "adamax",  "asgd",     "rprop", "lion"};

// --optimizer NAME starts from the Options struct's defaults (PyTorch's);
// each flag given overrides one value and is rejected when NAME has no such
// option.
class OptimizerFlags {
 public:
  explicit OptimizerFlags(Cli& cli) {
    cli.add_choice("--optimizer", name_, kMnistOptimizers,
                   "the optimizer, from PyTorch's defaults");
    number(cli, "--lr", {}, "learning rate (default: the optimizer's, e.g. adam 0.001)");
    number(cli, "--momentum", {"sgd", "rmsprop"}, "momentum");
    number(cli, "--dampening", {"sgd"}, "momentum dampening");
    toggle(cli, "--nesterov", {"sgd"}, "Nesterov momentum");
    number(cli, "--alpha", {"rmsprop", "asgd"}, "RMSProp's smoothing constant, ASGD's power");
    number(cli, "--rho", {"adadelta"}, "squared-gradient average factor");
    number(cli, "--beta1", {"adam", "adamw", "nadam", "radam", "adamax", "lion"},
           "first-moment factor");
    number(cli, "--beta2", {"adam", "adamw", "nadam", "radam", "adamax", "lion"},
           "second-moment factor");
    number(cli, "--eps",
           {"adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam", "radam", "adamax"},
           "denominator term");
    toggle(cli, "--amsgrad", {"adam", "adamw"}, "AMSGrad's running maximum");
    number(cli, "--weight-decay",
           {"sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam", "radam", "adamax",
            "asgd", "lion"},
           "L2 penalty (adamw, lion: decoupled)");
  }
  OptimizerFlags(const OptimizerFlags&) = delete;  // the Cli holds pointers into values_
  OptimizerFlags& operator=(const OptimizerFlags&) = delete;

  const std::string& name() const { return name_; }

  // The optimizer; throws UsageError for a flag that does not apply,
  // std::invalid_argument (from descend) for a bad value.
  template <class Scalar>
  std::unique_ptr<descend::Optimizer<Scalar>> make() const {
    for (const Flag& f : flags_)
      if (f.option.given() && !applies(f))
        throw UsageError(f.name + " does not apply to --optimizer " + name_ + " (only to " +
                         join(f.optimizers) + ")");
    const std::string& n = name_;
    if (n == "sgd") return build<Scalar, descend::Sgd<Scalar>, descend::SgdOptions>();
    if (n == "adagrad") return build<Scalar, descend::Adagrad<Scalar>, descend::AdagradOptions>();
    if (n == "rmsprop") return build<Scalar, descend::Rmsprop<Scalar>, descend::RmspropOptions>();
    if (n == "adadelta")
      return build<Scalar, descend::Adadelta<Scalar>, descend::AdadeltaOptions>();
    if (n == "adam") return build<Scalar, descend::Adam<Scalar>, descend::AdamOptions>();
    if (n == "adamw") return build<Scalar, descend::AdamW<Scalar>, descend::AdamWOptions>();
    if (n == "nadam") return build<Scalar, descend::Nadam<Scalar>, descend::NadamOptions>();
    if (n == "radam") return build<Scalar, descend::Radam<Scalar>, descend::RadamOptions>();
    if (n == "adamax") return build<Scalar, descend::Adamax<Scalar>, descend::AdamaxOptions>();
    if (n == "asgd") return build<Scalar, descend::Asgd<Scalar>, descend::AsgdOptions>();
    if (n == "rprop") return build<Scalar, descend::Rprop<Scalar>, descend::RpropOptions>();
    return build<Scalar, descend::Lion<Scalar>, descend::LionOptions>();
  }

 private:
  struct Flag {
    std::string name;
    Option option;
    std::vector<std::string> optimizers;  // empty: all
  };
  static constexpr const char* kGroup = "Optimizer options (each overrides PyTorch's default)";

  void number(Cli& cli, const std::string& name, std::vector<std::string> optimizers,
              const std::string& help) {
    Option o = cli.add_number(name, values_[name], help + applies_to(optimizers));
    o.no_default().group(kGroup);
    flags_.push_back({name, o, std::move(optimizers)});
  }
  void toggle(Cli& cli, const std::string& name, std::vector<std::string> optimizers,
              const std::string& help) {
    Option o = cli.add_flag(name, toggles_[name], help + applies_to(optimizers));
    o.group(kGroup);
    flags_.push_back({name, o, std::move(optimizers)});
  }
  bool applies(const Flag& f) const {
    return f.optimizers.empty() ||
           std::find(f.optimizers.begin(), f.optimizers.end(), name_) != f.optimizers.end();
  }
  bool given(const std::string& flag) const {
    for (const Flag& f : flags_)
      if (f.name == flag) return f.option.given();
    return false;
  }
  // Sets `field` from `flag` when it was given (and applies, checked above).
  void set(const std::string& flag, double& field) const {
    if (given(flag)) field = values_.at(flag);
  }
  void set(const std::string& flag, bool& field) const {
    if (given(flag)) field = toggles_.at(flag);
  }
  template <class O>
  void common(O& o) const {
    set("--lr", o.lr);
    if constexpr (!std::is_same<O, descend::RpropOptions>::value)
      set("--weight-decay", o.weight_decay);
  }
  template <class Scalar, class Opt, class O>
  std::unique_ptr<descend::Optimizer<Scalar>> build() const;

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
  std::map<std::string, double> values_;
  std::map<std::string, bool> toggles_;
  std::vector<Flag> flags_;
};

template <class Scalar, class Opt, class O>
std::unique_ptr<descend::Optimizer<Scalar>> OptimizerFlags::build() const {
  O o;
  common(o);
  if constexpr (std::is_same<O, descend::SgdOptions>::value) {
    set("--momentum", o.momentum), set("--dampening", o.dampening), set("--nesterov", o.nesterov);
  } else if constexpr (std::is_same<O, descend::AdagradOptions>::value) {
    set("--eps", o.eps);
  } else if constexpr (std::is_same<O, descend::RmspropOptions>::value) {
    set("--momentum", o.momentum), set("--alpha", o.alpha), set("--eps", o.eps);
  } else if constexpr (std::is_same<O, descend::AdadeltaOptions>::value) {
    set("--rho", o.rho), set("--eps", o.eps);
  } else if constexpr (std::is_same<O, descend::AsgdOptions>::value) {
    set("--alpha", o.alpha);
  } else if constexpr (std::is_same<O, descend::LionOptions>::value) {
    set("--beta1", o.beta1), set("--beta2", o.beta2);
  } else if constexpr (!std::is_same<O, descend::RpropOptions>::value) {  // the Adam family
    set("--beta1", o.beta1), set("--beta2", o.beta2), set("--eps", o.eps);
    if constexpr (std::is_same<O, descend::AdamOptions>::value ||
                  std::is_same<O, descend::AdamWOptions>::value)
      set("--amsgrad", o.amsgrad);
  }
  return std::make_unique<Opt>(o);
}

// --schedule: none; step (StepLR: lr gamma^floor(epoch / step-size)); cosine
// (CosineAnnealingLR to 0 over the run's epochs); plateau (ReduceLROnPlateau
// on the validation loss, factor gamma, patience step-size). Stepped once per
// epoch, after its validation.
inline const std::vector<std::string> kSchedules = {"none", "step", "cosine", "plateau"};

class Schedule {
 public:
  Schedule(const std::string& kind, descend::ParamGroups& groups, std::int64_t epochs,
           std::int64_t step_size, double gamma) {
    if (kind == "step") {
      step_ = std::make_unique<descend::StepLR>(groups, step_size, gamma);
    } else if (kind == "cosine") {
      step_ = std::make_unique<descend::CosineAnnealingLR>(groups, epochs);
    } else if (kind == "plateau") {
      descend::ReduceLROnPlateauOptions o;
      o.factor = gamma;
      o.patience = step_size;
      plateau_ = std::make_unique<descend::ReduceLROnPlateau>(groups, o);
    }
  }
  // After an epoch and its validation (NaN when there is none).
  void step(double validation_loss) {
    if (step_) step_->step();
    if (plateau_) plateau_->step(validation_loss);
  }

 private:
  std::unique_ptr<descend::StepSchedule> step_;
  std::unique_ptr<descend::ReduceLROnPlateau> plateau_;
};

// --data-dir and the subsets; `validation` training images are held out,
// drawn with the caller's Random.
struct MnistDataFlags {
  std::string data_dir = descend::data::kFashionMnistDir;
  long train_subset = 0, test_subset = 0, validation = 0;

  // `min_validation` 0 allows a run without a validation set.
  void add(Cli& cli, long min_validation, const std::string& validation_help) {
    add_data_dir(cli);
    add_subsets(cli, min_validation, validation_help);
  }
  // add() in two halves, for a program whose help lists other flags between.
  void add_data_dir(Cli& cli) {
    cli.add_string("--data-dir", data_dir, "DIR",
                   "directory of {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]");
  }
  void add_subsets(Cli& cli, long min_validation, const std::string& validation_help) {
    cli.add_number("--train-subset", train_subset, 0L, 1'000'000'000L,
                   "use the first N training images (0: all)");
    cli.add_number("--test-subset", test_subset, 0L, 1'000'000'000L,
                   "test on the first N test images (0: all)");
    cli.add_number("--validation", validation, min_validation, 1'000'000'000L, validation_help);
  }
};

template <class Scalar>
struct MnistData {
  descend::data::Samples<Scalar> train, valid, test;
  long height = 0, width = 0;
  double seconds = 0;  // reading and splitting

  void print(const std::string& program, const std::string& data_dir) const {
    std::printf(
        "%s: %s, %ld training, %ld validation, %ld test images of %ldx%ld (read in %.2f s)\n",
        program.c_str(), data_dir.c_str(), static_cast<long>(train.size()),
        static_cast<long>(valid.size()), static_cast<long>(test.size()), height, width, seconds);
  }
};

// Reads the training and test images and holds the validation set out of
// the training images (a draw from `random`).
template <class Scalar>
MnistData<Scalar> read_mnist_data(const MnistDataFlags& f, descend::data::Random& random) {
  const auto start = std::chrono::steady_clock::now();
  const Eigen::Index all = std::numeric_limits<Eigen::Index>::max();
  MnistData<Scalar> d;
  {
    const auto train_all = descend::data::read_mnist<Scalar>(
        f.data_dir, "train", f.train_subset > 0 ? f.train_subset : all);
    auto test = descend::data::read_mnist<Scalar>(f.data_dir, "t10k",
                                                  f.test_subset > 0 ? f.test_subset : all);
    if (f.validation >= train_all.size())
      throw std::invalid_argument("--validation " + std::to_string(f.validation) +
                                  " leaves no training image of " +
                                  std::to_string(train_all.size()));
    std::tie(d.train, d.valid) = descend::data::split(
        static_cast<const descend::data::Samples<Scalar>&>(train_all), f.validation, random);
    d.height = static_cast<long>(test.height);
    d.width = static_cast<long>(test.width);
    d.test = std::move(static_cast<descend::data::Samples<Scalar>&>(test));
  }
  d.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return d;
}

// Early stopping as cute-dl describes it (nn/early_stopping.hpp).
struct StoppingFlags {
  long patience = 20, target_patience = 20;
  double target_accuracy = 1;

  void add(Cli& cli) {
    cli.add_number("--patience", patience, 1L, 1'000'000L,
                   "stop after N validations in a row without a lower validation loss");
    cli.add_number("--target-accuracy", target_accuracy, 0.0, 1.0,
                   "stop after --target-patience validations in a row above this accuracy "
                   "(1: never)");
    cli.add_number("--target-patience", target_patience, 1L, 1'000'000L,
                   "validations in a row above --target-accuracy that stop the run");
  }
  descend::nn::EarlyStoppingOptions options() const {
    descend::nn::EarlyStoppingOptions o;
    o.patience = patience;
    o.target_accuracy = target_accuracy;
    o.target_patience = target_patience;
    return o;
  }
};

// Dense(784, 128) ReLU Dense(128, 10), softmax cross-entropy, samples in rows.
template <class Scalar>
class MnistNet {
 public:
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

  MnistNet(Eigen::Index inputs, Eigen::Index hidden, Eigen::Index classes, std::uint64_t seed,
           descend::nn::Init init)
      : random_(seed),
        dense1_(inputs, hidden, random_, init),
        dense2_(hidden, classes, random_, init) {}

  void register_with(descend::Optimizer<Scalar>& opt) {
    opt.add(dense1_.weights(), dense1_.dweights());
    opt.add(dense1_.biases(), dense1_.dbiases());
    opt.add(dense2_.weights(), dense2_.dweights());
    opt.add(dense2_.biases(), dense2_.dbiases());
  }

  struct BatchResult {
    double loss;
    Eigen::Index correct;
  };
  // Forward and backward on one batch (the gradients, for opt.step()); the
  // loss and hits of its forward pass, before the update.
  BatchResult train_batch(const Matrix& x, const Eigen::VectorXi& y) {
    const Scalar loss = head_.forward(dense2_.forward(relu_.forward(dense1_.forward(x))), y);
    Eigen::Index correct = 0;
    for (Eigen::Index i = 0; i < y.size(); ++i) {
      Eigen::Index best = 0;
      head_.output().row(i).maxCoeff(&best);
      correct += best == y(i);
    }
    dense2_.backward(head_.backward(y));
    dense1_.backward_params(relu_.backward(dense2_.dinputs()));
    return {static_cast<double>(loss), correct};
  }

  // Buffers for evaluate(), allocated once.
  struct Workspace {
    Workspace(Eigen::Index chunk, Eigen::Index hidden, Eigen::Index classes)
        : hidden(chunk, hidden), logits(chunk, classes) {}
    Matrix hidden, logits;
  };
  Workspace workspace(Eigen::Index chunk = 1000) const {
    return Workspace(chunk, dense1_.weights().cols(), dense2_.weights().cols());
  }

  // One epoch over `batches` in a new order drawn from `random`, a step of
  // `opt` per batch; the means over the batches' forward passes, each before
  // its update.
  struct EpochResult {
    double loss, accuracy;
  };
  EpochResult train_epoch(descend::data::Minibatches<Scalar>& batches,
                          descend::Optimizer<Scalar>& opt, descend::data::Random& random) {
    batches.shuffle(random);
    double loss_sum = 0;
    Eigen::Index correct = 0, count = 0;
    for (Eigen::Index b = 0; b < batches.size(); ++b) {
      batches.load(b);
      const auto r = train_batch(batches.inputs(), batches.labels());
      opt.step();
      loss_sum += r.loss * static_cast<double>(batches.labels().size());
      correct += r.correct;
      count += batches.labels().size();
    }
    return {loss_sum / static_cast<double>(count),
            static_cast<double>(correct) / static_cast<double>(count)};
  }

  // Loss and accuracy over `samples`; reads the parameters only.
  template <class Samples>
  descend::nn::ClassificationSums evaluate(const Samples& samples, Workspace& w) const {
    descend::nn::ClassificationSums sums;
    for_each_chunk(samples, w, [&](Eigen::Index first, Eigen::Index n, const auto& logits) {
      descend::nn::add_softmax_cross_entropy(logits, samples.labels.segment(first, n), sums);
    });
    return sums;
  }

  // counts(true class, predicted class): the largest logit's class (the
  // first of equals), as evaluate() counts a hit.
  template <class Samples>
  Eigen::Matrix<Eigen::Index, Eigen::Dynamic, Eigen::Dynamic> confusion(const Samples& samples,
                                                                        Workspace& w) const {
    Eigen::Matrix<Eigen::Index, Eigen::Dynamic, Eigen::Dynamic> counts =
        Eigen::Matrix<Eigen::Index, Eigen::Dynamic, Eigen::Dynamic>::Zero(w.logits.cols(),
                                                                          w.logits.cols());
    for_each_chunk(samples, w, [&](Eigen::Index first, Eigen::Index n, const auto& logits) {
      for (Eigen::Index i = 0; i < n; ++i) {
        Eigen::Index predicted = 0;
        logits.row(i).maxCoeff(&predicted);
        ++counts(samples.labels(first + i), predicted);
      }
    });
    return counts;
  }

 private:
  // f(first, n, logits) for chunks of consecutive rows taken as views.
  template <class Samples, class F>
  void for_each_chunk(const Samples& samples, Workspace& w, F f) const {
    const Eigen::Index chunk = w.hidden.rows();
    for (Eigen::Index first = 0; first < samples.size(); first += chunk) {
      const Eigen::Index n = std::min(chunk, samples.size() - first);
      auto h = w.hidden.topRows(n);
      auto z = w.logits.topRows(n);
      dense1_.predict(samples.inputs.middleRows(first, n), h);
      relu_.predict(h, h);
      dense2_.predict(h, z);
      f(first, n, z);
    }
  }

  descend::data::Random random_;
  descend::nn::Dense<Scalar> dense1_, dense2_;
  descend::nn::Relu<Scalar> relu_;
  descend::nn::SoftmaxCrossEntropy<Scalar> head_;
};

}  // namespace example
