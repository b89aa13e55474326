// A fully connected layer, samples in rows: output = X W + b.
//   X: n x inputs,  W: inputs x outputs,  b: 1 x outputs.
// backward(dL/doutput) gives
//   dW = X^T dout,  db = column sums of dout,  dX = dout W^T.
// Weights start as 0.01 N(0, 1) and biases as zero, the initialisation of
// design note 000 (nnfs); Init selects another.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <stdexcept>
#include <string>

#include "descend/data/random.hpp"

namespace descend {
namespace nn {

enum class Init {
  small_normal,     // 0.01 N(0, 1): nnfs, design note 000
  standard_normal,  // N(0, 1): the NNDL book's Linear layer, design note 003
  xavier_uniform,   // U(-a, a), a = sqrt(6 / (inputs + outputs))
  he_normal,        // sqrt(2 / inputs) N(0, 1)
};

template <class Scalar>
class Dense {
 public:
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using RowVector = Eigen::Matrix<Scalar, 1, Eigen::Dynamic>;

  // Draws the weights from `random` in row-major order (as numpy would).
  Dense(Eigen::Index inputs, Eigen::Index outputs, data::Random& random,
        Init init = Init::small_normal)
      : weights_(inputs, outputs), biases_(RowVector::Zero(outputs)) {
    if (inputs < 1 || outputs < 1)
      throw std::invalid_argument("descend::nn::Dense: inputs = " + std::to_string(inputs) +
                                  " and outputs = " + std::to_string(outputs) +
                                  " must both be >= 1");
    const double fan = static_cast<double>(inputs + outputs);
    for (Eigen::Index i = 0; i < inputs; ++i) {
      for (Eigen::Index j = 0; j < outputs; ++j) {
        double w = 0;
        switch (init) {
          case Init::small_normal: w = 0.01 * random.normal(); break;
          case Init::standard_normal: w = random.normal(); break;
          case Init::xavier_uniform: w = std::sqrt(6.0 / fan) * (2 * random.uniform() - 1); break;
          case Init::he_normal: w = std::sqrt(2.0 / inputs) * random.normal(); break;
        }
        weights_(i, j) = static_cast<Scalar>(w);
      }
    }
  }

  const Matrix& forward(const Matrix& inputs) {
    if (inputs.cols() != weights_.rows())
      throw std::invalid_argument("descend::nn::Dense: inputs have " +
                                  std::to_string(inputs.cols()) + " columns, the layer takes " +
                                  std::to_string(weights_.rows()));
    input_ = inputs;  // reuses its memory when the batch size is unchanged
    output_.noalias() = inputs * weights_;
    output_.rowwise() += biases_;
    return output_;
  }

  const Matrix& backward(const Matrix& doutput) {
    if (doutput.rows() != input_.rows() || doutput.cols() != weights_.cols())
      throw std::invalid_argument("descend::nn::Dense: backward got a " +
                                  std::to_string(doutput.rows()) + "x" +
                                  std::to_string(doutput.cols()) + " gradient, expected " +
                                  std::to_string(input_.rows()) + "x" +
                                  std::to_string(weights_.cols()));
    dweights_.noalias() = input_.transpose() * doutput;  // dW = X^T dout
    dbiases_ = doutput.colwise().sum();                  // db = 1^T dout
    dinputs_.noalias() = doutput * weights_.transpose();  // dX = dout W^T
    return dinputs_;
  }

  Matrix& weights() { return weights_; }
  RowVector& biases() { return biases_; }
  const Matrix& weights() const { return weights_; }
  const RowVector& biases() const { return biases_; }
  const Matrix& dweights() const { return dweights_; }
  const RowVector& dbiases() const { return dbiases_; }
  const Matrix& output() const { return output_; }
  const Matrix& dinputs() const { return dinputs_; }

 private:
  Matrix weights_;
  RowVector biases_;
  Matrix input_, output_, dweights_, dinputs_;
  RowVector dbiases_;
};

}  // namespace nn
}  // namespace descend
