// Element-wise and row-wise activations, samples in rows.
//   ReLU:    y = max(0, x);                dx = dy * [x > 0]
//   Softmax: y_ij = exp(x_ij - max_k x_ik) / sum_k exp(x_ik - max_k x_ik)
//            dx_i = y_i * (dy_i - <dy_i, y_i>)    (row i; J = diag(y) - y y^T)
// forward() rejects an empty batch (no rows or no columns); backward() needs
// a forward() first and a gradient of the last output's shape. A call that
// throws std::invalid_argument changes nothing.
#pragma once

#include <Eigen/Core>

#include "descend/nn/checks.hpp"

namespace descend {
namespace nn {
namespace detail {

// dy where y > 0, else 0, as a vectorised mask: Eigen 3.4 evaluates
// select() one coefficient at a time, with a branch that random signs
// mispredict (it was a fifth of a spiral epoch).
template <class Scalar>
struct ReluGradOp {
  Scalar operator()(const Scalar& y, const Scalar& dy) const {
    return y > Scalar(0) ? dy : Scalar(0);
  }
  template <class Packet>
  Packet packetOp(const Packet& y, const Packet& dy) const {
    return Eigen::internal::pand(Eigen::internal::pcmp_lt(Eigen::internal::pzero(y), y), dy);
  }
};

}  // namespace detail

template <class Scalar>
class Relu {
 public:
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

  const Matrix& forward(const Matrix& inputs) {
    detail::check_batch(inputs, "descend::nn::Relu::forward", "input is", "columns");
    output_ = inputs.cwiseMax(Scalar(0));
    return output_;
  }
  // x > 0 exactly where y = max(0, x) > 0, so the output serves as the mask.
  const Matrix& backward(const Matrix& doutput) {
    detail::check_gradient(output_, doutput, "descend::nn::Relu::backward");
    dinputs_ = output_.binaryExpr(doutput, detail::ReluGradOp<Scalar>());
    return dinputs_;
  }
  const Matrix& output() const { return output_; }
  const Matrix& dinputs() const { return dinputs_; }

  // out = max(0, x) for any x and out of one shape (blocks, maps; out may
  // be x itself), without touching output(): the evaluation path.
  template <class In, class Out>
  void predict(const Eigen::MatrixBase<In>& inputs, const Eigen::MatrixBase<Out>& out) const {
    if (out.rows() != inputs.rows() || out.cols() != inputs.cols())
      detail::fail("descend::nn::Relu::predict", "input is %x% but output %x%",
                   {inputs.rows(), inputs.cols(), out.rows(), out.cols()});
    const_cast<Eigen::MatrixBase<Out>&>(out) = inputs.cwiseMax(Scalar(0));
  }

 private:
  Matrix output_, dinputs_;
};

template <class Scalar>
class Softmax {
 public:
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

  const Matrix& forward(const Matrix& inputs) {
    detail::check_batch(inputs, "descend::nn::Softmax::forward", "input is", "classes");
    row_ = inputs.rowwise().maxCoeff();  // evaluated once, not per coefficient
    output_.resize(inputs.rows(), inputs.cols());
    // Column by column: Eigen vectorises exp over a column, not over a
    // column-wise broadcast (which calls the scalar std::exp).
    for (Eigen::Index j = 0; j < inputs.cols(); ++j)
      output_.col(j) = (inputs.col(j) - row_).array().exp().matrix();
    row_ = output_.rowwise().sum();
    output_.array().colwise() /= row_.array();
    return output_;
  }
  const Matrix& backward(const Matrix& doutput) {
    detail::check_gradient(output_, doutput, "descend::nn::Softmax::backward");
    row_ = doutput.cwiseProduct(output_).rowwise().sum();  // <dy_i, y_i>
    dinputs_ = output_.cwiseProduct(doutput.colwise() - row_);
    return dinputs_;
  }
  const Matrix& output() const { return output_; }
  const Matrix& dinputs() const { return dinputs_; }

 private:
  Matrix output_, dinputs_;
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> row_;  // a per-row scratch
};

}  // namespace nn
}  // namespace descend

namespace Eigen {
namespace internal {
template <class Scalar>
struct functor_traits<descend::nn::detail::ReluGradOp<Scalar>> {
  enum { Cost = NumTraits<Scalar>::AddCost, PacketAccess = packet_traits<Scalar>::HasCmp };
};
}  // namespace internal
}  // namespace Eigen
