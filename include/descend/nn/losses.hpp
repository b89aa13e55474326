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
// Checks (std::invalid_argument; a call that throws changes nothing): a
// non-empty batch (rows) of at least one class (column); one label in
// [0, classes) per row, or targets of the predictions' shape; backward() of
// SoftmaxCrossEntropy needs a forward() first.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "descend/nn/activations.hpp"
#include "descend/nn/checks.hpp"

namespace descend {
namespace nn {

namespace detail {

template <class Scalar>
Scalar clip(Scalar p) {
  return std::min(std::max(p, Scalar(1e-7)), Scalar(1 - 1e-7));
}

// The cross-entropy of checked arguments.
template <class Matrix>
typename Matrix::Scalar cross_entropy(const Matrix& p, const Eigen::VectorXi& labels) {
  using Scalar = typename Matrix::Scalar;
  Scalar sum = 0;
  for (Eigen::Index i = 0; i < p.rows(); ++i) sum -= std::log(clip(p(i, labels(i))));
  return sum / static_cast<Scalar>(p.rows());
}
template <class Matrix>
typename Matrix::Scalar cross_entropy(const Matrix& p, const Matrix& targets) {
  using Scalar = typename Matrix::Scalar;
  return -(targets.array() * p.array().unaryExpr(&clip<Scalar>).log()).sum() /
         static_cast<Scalar>(p.rows());
}

}  // namespace detail

template <class Scalar>
class CrossEntropy {
 public:
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

  Scalar forward(const Matrix& p, const Eigen::VectorXi& labels) const {
    check(p, labels, "descend::nn::CrossEntropy::forward");
    return detail::cross_entropy(p, labels);
  }
  Scalar forward(const Matrix& p, const Matrix& targets) const {
    check(p, targets, "descend::nn::CrossEntropy::forward");
    return detail::cross_entropy(p, targets);
  }
  const Matrix& backward(const Matrix& p, const Eigen::VectorXi& labels) {
    check(p, labels, "descend::nn::CrossEntropy::backward");
    // dinputs_ is zeroed before p is read.
    if (&p == &dinputs_)
      detail::fail("descend::nn::CrossEntropy::backward",
                   "the predictions are this loss's own dinputs(), which backward() overwrites: "
                   "copy them first");
    dinputs_.setZero(p.rows(), p.cols());
    const Scalar n = static_cast<Scalar>(p.rows());
    for (Eigen::Index i = 0; i < p.rows(); ++i)
      dinputs_(i, labels(i)) = -1 / detail::clip(p(i, labels(i))) / n;
    return dinputs_;
  }
  const Matrix& backward(const Matrix& p, const Matrix& targets) {
    check(p, targets, "descend::nn::CrossEntropy::backward");
    dinputs_ = -targets.array() / p.array().unaryExpr(&detail::clip<Scalar>) /
               static_cast<Scalar>(p.rows());
    return dinputs_;
  }
  const Matrix& dinputs() const { return dinputs_; }

 private:
  template <class Targets>
  static void check(const Matrix& p, const Targets& targets, const char* who) {
    detail::check_batch(p, who, "predictions are", "classes");
    if constexpr (std::is_same<Targets, Eigen::VectorXi>::value)
      detail::check_labels(p, targets, who, "predictions");
    else
      detail::check_targets(p, targets, who, "predictions");
  }

  Matrix dinputs_;
};

template <class Scalar>
class SoftmaxCrossEntropy {
 public:
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

  // Checks the logits and targets before softmax runs, so a call that throws
  // leaves output() as it was.
  Scalar forward(const Matrix& logits, const Eigen::VectorXi& labels) {
    constexpr const char* who = "descend::nn::SoftmaxCrossEntropy::forward";
    detail::check_batch(logits, who, "logits are", "classes");
    detail::check_labels(logits, labels, who, "logits");
    return detail::cross_entropy(softmax_.forward(logits), labels);
  }
  Scalar forward(const Matrix& logits, const Matrix& targets) {
    constexpr const char* who = "descend::nn::SoftmaxCrossEntropy::forward";
    detail::check_batch(logits, who, "logits are", "classes");
    detail::check_targets(logits, targets, who, "logits");
    return detail::cross_entropy(softmax_.forward(logits), targets);
  }
  // (softmax - onehot) / n, for the probabilities of the last forward().
  const Matrix& backward(const Eigen::VectorXi& labels) {
    constexpr const char* who = "descend::nn::SoftmaxCrossEntropy::backward";
    if (output().size() == 0) detail::fail(who, "no forward() yet");
    detail::check_labels(output(), labels, who, "probabilities of the last forward()");
    dinputs_ = output();
    for (Eigen::Index i = 0; i < labels.size(); ++i) dinputs_(i, labels(i)) -= 1;
    dinputs_ /= static_cast<Scalar>(dinputs_.rows());
    return dinputs_;
  }
  const Matrix& backward(const Matrix& targets) {
    constexpr const char* who = "descend::nn::SoftmaxCrossEntropy::backward";
    if (output().size() == 0) detail::fail(who, "no forward() yet");
    detail::check_targets(output(), targets, who, "probabilities of the last forward()");
    dinputs_ = (output() - targets) / static_cast<Scalar>(targets.rows());
    return dinputs_;
  }
  const Matrix& output() const { return softmax_.output(); }  // the probabilities
  const Matrix& dinputs() const { return dinputs_; }

 private:
  Softmax<Scalar> softmax_;
  Matrix dinputs_;
};

template <class Scalar>
class Mse {
 public:
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

  // half = true gives the NNDL book's MSE/2.
  explicit Mse(bool half = false) : factor_(half ? Scalar(0.5) : Scalar(1)) {}

  Scalar forward(const Matrix& p, const Matrix& targets) const {
    check(p, targets, "descend::nn::Mse::forward");
    return factor_ * (p - targets).squaredNorm() / static_cast<Scalar>(p.size());
  }
  const Matrix& backward(const Matrix& p, const Matrix& targets) {
    check(p, targets, "descend::nn::Mse::backward");
    dinputs_ = (2 * factor_ / static_cast<Scalar>(p.size())) * (p - targets);
    return dinputs_;
  }
  const Matrix& dinputs() const { return dinputs_; }

 private:
  static void check(const Matrix& p, const Matrix& targets, const char* who) {
    detail::check_batch(p, who, "predictions are", "columns");
    detail::check_targets(p, targets, who, "predictions");
  }

  Scalar factor_;
  Matrix dinputs_;
};

// Evaluation in chunks, without any layer's or loss's caches: the sums that
// give the mean softmax cross-entropy (the clip of cross_entropy) and the
// accuracy over all the chunks added.
struct ClassificationSums {
  double loss = 0;           // sum over samples of -log(clip(softmax(z)_label))
  Eigen::Index correct = 0;  // samples whose largest logit is at the label
  Eigen::Index count = 0;    // samples added
  double mean_loss() const { return loss / static_cast<double>(count); }
  double accuracy() const { return static_cast<double>(correct) / static_cast<double>(count); }
};

// Adds the rows of `logits` (any Eigen matrix: a block of a larger one
// works) with their labels to `sums`. Checks as SoftmaxCrossEntropy does; a
// call that throws adds nothing.
template <class Logits, class Labels>
void add_softmax_cross_entropy(const Eigen::MatrixBase<Logits>& logits,
                               const Eigen::DenseBase<Labels>& labels, ClassificationSums& sums) {
  using Scalar = typename Logits::Scalar;
  constexpr const char* who = "descend::nn::add_softmax_cross_entropy";
  detail::check_batch(logits, who, "logits are", "classes");
  if (labels.size() != logits.rows())
    detail::fail(who, "% labels for % samples (logits are %x%)",
                 {labels.size(), logits.rows(), logits.rows(), logits.cols()});
  for (Eigen::Index i = 0; i < labels.size(); ++i)
    if (labels(i) < 0 || labels(i) >= logits.cols())
      detail::fail(who, "label % of sample % is not in [0, %)",
                   {static_cast<long long>(labels(i)), i, logits.cols()});
  double loss = 0;
  Eigen::Index correct = 0;
  for (Eigen::Index i = 0; i < logits.rows(); ++i) {
    Eigen::Index best = 0;
    const Scalar top = logits.row(i).maxCoeff(&best);
    const Scalar sum = (logits.row(i).array() - top).exp().sum();
    const Scalar p = std::exp(logits(i, labels(i)) - top) / sum;
    loss -= static_cast<double>(std::log(detail::clip(p)));
    correct += best == labels(i);
  }
  sums.loss += loss;
  sums.correct += correct;
  sums.count += logits.rows();
}

// Fraction of rows whose largest entry is at the label (first maximum wins).
template <class Matrix>
double accuracy(const Matrix& scores, const Eigen::VectorXi& labels) {
  detail::check_batch(scores, "descend::nn::accuracy", "scores are", "classes");
  detail::check_labels(scores, labels, "descend::nn::accuracy", "scores");
  Eigen::Index hits = 0;
  for (Eigen::Index i = 0; i < scores.rows(); ++i) {
    Eigen::Index best = 0;
    scores.row(i).maxCoeff(&best);
    hits += best == labels(i);
  }
  return static_cast<double>(hits) / static_cast<double>(scores.rows());
}

}  // namespace nn
}  // namespace descend
