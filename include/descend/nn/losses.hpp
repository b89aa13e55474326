// Losses over a batch of n samples (rows), and accuracy.
//
// Categorical cross-entropy, probabilities p (n x k), targets as class ids or
// as rows y of a (one-hot or soft) target matrix:
//   L  = -1/n sum_i sum_j y_ij log(clip(p_ij)),  clip to [1e-7, 1 - 1e-7]
//   dp = -y / clip(p) / n
// Softmax + cross-entropy on logits z, with its simplified backward:
//   L  = cross_entropy(softmax(z), y),   dz = (softmax(z) - y) / n
// Mean squared error over all n x k elements, with an optional 1/2 (the NNDL
// book's MSE/2):
//   L  = c / (n k) sum (p - t)^2,  c = 1 or 1/2;    dp = 2 c (p - t) / (n k)
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <stdexcept>
#include <string>

#include "descend/nn/activations.hpp"

namespace descend {
namespace nn {

namespace detail {

template <class Matrix>
void check_labels(const Matrix& p, const Eigen::VectorXi& labels, const char* who) {
  if (labels.size() != p.rows())
    throw std::invalid_argument(std::string(who) + ": " + std::to_string(labels.size()) +
                                " labels for " + std::to_string(p.rows()) + " samples");
  for (Eigen::Index i = 0; i < labels.size(); ++i) {
    if (labels(i) < 0 || labels(i) >= p.cols())
      throw std::invalid_argument(std::string(who) + ": label " + std::to_string(labels(i)) +
                                  " of sample " + std::to_string(i) + " is not in [0, " +
                                  std::to_string(p.cols()) + ")");
  }
}

template <class Matrix>
void check_targets(const Matrix& p, const Matrix& targets, const char* who) {
  if (targets.rows() != p.rows() || targets.cols() != p.cols())
    throw std::invalid_argument(std::string(who) + ": targets are " +
                                std::to_string(targets.rows()) + "x" +
                                std::to_string(targets.cols()) + " but predictions are " +
                                std::to_string(p.rows()) + "x" + std::to_string(p.cols()));
}

template <class Scalar>
Scalar clip(Scalar p) {
  return std::min(std::max(p, Scalar(1e-7)), Scalar(1 - 1e-7));
}

}  // namespace detail

template <class Scalar>
class CrossEntropy {
 public:
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  static constexpr const char* kWho = "descend::nn::CrossEntropy";

  Scalar forward(const Matrix& p, const Eigen::VectorXi& labels) const {
    detail::check_labels(p, labels, kWho);
    Scalar sum = 0;
    for (Eigen::Index i = 0; i < p.rows(); ++i) sum -= std::log(detail::clip(p(i, labels(i))));
    return sum / static_cast<Scalar>(p.rows());
  }
  Scalar forward(const Matrix& p, const Matrix& targets) const {
    detail::check_targets(p, targets, kWho);
    return -(targets.array() * p.array().unaryExpr(&detail::clip<Scalar>).log()).sum() /
           static_cast<Scalar>(p.rows());
  }
  const Matrix& backward(const Matrix& p, const Eigen::VectorXi& labels) {
    detail::check_labels(p, labels, kWho);
    dinputs_.setZero(p.rows(), p.cols());
    const Scalar n = static_cast<Scalar>(p.rows());
    for (Eigen::Index i = 0; i < p.rows(); ++i)
      dinputs_(i, labels(i)) = -1 / detail::clip(p(i, labels(i))) / n;
    return dinputs_;
  }
  const Matrix& backward(const Matrix& p, const Matrix& targets) {
    detail::check_targets(p, targets, kWho);
    dinputs_ = -targets.array() / p.array().unaryExpr(&detail::clip<Scalar>) /
               static_cast<Scalar>(p.rows());
    return dinputs_;
  }
  const Matrix& dinputs() const { return dinputs_; }

 private:
  Matrix dinputs_;
};

template <class Scalar>
class SoftmaxCrossEntropy {
 public:
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

  template <class Targets>
  Scalar forward(const Matrix& logits, const Targets& targets) {
    return loss_.forward(softmax_.forward(logits), targets);
  }
  // (softmax - onehot) / n, for the targets of the last forward().
  const Matrix& backward(const Eigen::VectorXi& labels) {
    detail::check_labels(output(), labels, "descend::nn::SoftmaxCrossEntropy");
    dinputs_ = output();
    for (Eigen::Index i = 0; i < labels.size(); ++i) dinputs_(i, labels(i)) -= 1;
    dinputs_ /= static_cast<Scalar>(dinputs_.rows());
    return dinputs_;
  }
  const Matrix& backward(const Matrix& targets) {
    detail::check_targets(output(), targets, "descend::nn::SoftmaxCrossEntropy");
    dinputs_ = (output() - targets) / static_cast<Scalar>(targets.rows());
    return dinputs_;
  }
  const Matrix& output() const { return softmax_.output(); }  // the probabilities
  const Matrix& dinputs() const { return dinputs_; }

 private:
  Softmax<Scalar> softmax_;
  CrossEntropy<Scalar> loss_;
  Matrix dinputs_;
};

template <class Scalar>
class Mse {
 public:
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

  // half = true gives the NNDL book's MSE/2.
  explicit Mse(bool half = false) : factor_(half ? Scalar(0.5) : Scalar(1)) {}

  Scalar forward(const Matrix& p, const Matrix& targets) const {
    detail::check_targets(p, targets, "descend::nn::Mse");
    return factor_ * (p - targets).squaredNorm() / static_cast<Scalar>(p.size());
  }
  const Matrix& backward(const Matrix& p, const Matrix& targets) {
    detail::check_targets(p, targets, "descend::nn::Mse");
    dinputs_ = (2 * factor_ / static_cast<Scalar>(p.size())) * (p - targets);
    return dinputs_;
  }
  const Matrix& dinputs() const { return dinputs_; }

 private:
  Scalar factor_;
  Matrix dinputs_;
};

// Fraction of rows whose largest entry is at the label (first maximum wins).
template <class Matrix>
double accuracy(const Matrix& scores, const Eigen::VectorXi& labels) {
  detail::check_labels(scores, labels, "descend::nn::accuracy");
  Eigen::Index hits = 0;
  for (Eigen::Index i = 0; i < scores.rows(); ++i) {
    Eigen::Index best = 0;
    scores.row(i).maxCoeff(&best);
    hits += best == labels(i);
  }
  return scores.rows() ? static_cast<double>(hits) / static_cast<double>(scores.rows()) : 0.0;
}

}  // namespace nn
}  // namespace descend
