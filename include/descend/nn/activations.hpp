// Element-wise and row-wise activations, samples in rows.
//   ReLU:    y = max(0, x);                dx = dy * [x > 0]
//   Softmax: y_ij = exp(x_ij - max_k x_ik) / sum_k exp(x_ik - max_k x_ik)
//            dx_i = y_i * (dy_i - <dy_i, y_i>)    (row i; J = diag(y) - y y^T)
#pragma once

#include <Eigen/Core>

namespace descend {
namespace nn {

template <class Scalar>
class Relu {
 public:
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

  const Matrix& forward(const Matrix& inputs) {
    input_ = inputs;
    output_ = inputs.cwiseMax(Scalar(0));
    return output_;
  }
  const Matrix& backward(const Matrix& doutput) {
    dinputs_ = (input_.array() > 0).select(doutput, Scalar(0));
    return dinputs_;
  }
  const Matrix& output() const { return output_; }
  const Matrix& dinputs() const { return dinputs_; }

 private:
  Matrix input_, output_, dinputs_;
};

template <class Scalar>
class Softmax {
 public:
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

  const Matrix& forward(const Matrix& inputs) {
    output_ = (inputs.colwise() - inputs.rowwise().maxCoeff()).array().exp();
    output_.array().colwise() /= output_.array().rowwise().sum();
    return output_;
  }
  const Matrix& backward(const Matrix& doutput) {
    const auto dot = doutput.cwiseProduct(output_).rowwise().sum();  // <dy_i, y_i>
    dinputs_ = output_.cwiseProduct(doutput - dot.replicate(1, doutput.cols()));
    return dinputs_;
  }
  const Matrix& output() const { return output_; }
  const Matrix& dinputs() const { return dinputs_; }

 private:
  Matrix output_, dinputs_;
};

}  // namespace nn
}  // namespace descend
