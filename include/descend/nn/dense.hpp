// A fully connected layer, samples in rows: output = X W + b.
//   X: n x inputs,  W: inputs x outputs,  b: 1 x outputs.
// forward keeps a reference to its input; backward(dL/doutput) gives
//   dW = X^T dout,  db = column sums of dout,  dX = dout W^T.
// Weights start as 0.01 N(0, 1) and biases as zero, the initialisation of
// design note 000 (nnfs); Init selects another.
// predict(x, out) computes out = X W + b for any X (a block or a map of a
// larger matrix: a minibatch as a view) without touching what forward()
// keeps for backward(), so a const layer can evaluate.
// Checks (std::invalid_argument; a call that throws changes nothing): sizes
// >= 1; forward takes a non-empty batch of `inputs` columns; backward needs a
// forward() first, a gradient of the last output's shape, and the input of
// that forward() and the weights still of the shapes forward() saw.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

#include "descend/data/random.hpp"
#include "descend/nn/checks.hpp"

namespace descend {
namespace nn {

enum class Init {
  small_normal,     // 0.01 N(0, 1): nnfs, design note 000
  standard_normal,  // N(0, 1): the NNDL book's Linear layer, design note 003
  xavier_uniform,   // U(-a, a), a = sqrt(6 / (inputs + outputs))
  he_normal,        // sqrt(2 / inputs) N(0, 1)
  // PyTorch's nn.Linear: kaiming_uniform_(a = sqrt(5)) for the weights and
  // the same bound for the biases, U(-1/sqrt(inputs), 1/sqrt(inputs)) both;
  // the biases are drawn after the weights.
  torch_default,
};

template <class Scalar>
class Dense {
 public:
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using RowVector = Eigen::Matrix<Scalar, 1, Eigen::Dynamic>;

  // Draws the weights from `random` in row-major order (as numpy would).
  Dense(Eigen::Index inputs, Eigen::Index outputs, data::Random& random,
        Init init = Init::small_normal)
      : weights_(checked_inputs(inputs, outputs, init), outputs),
        biases_(RowVector::Zero(outputs)),
        dweights_(Matrix::Zero(weights_.rows(), weights_.cols())),
        dbiases_(RowVector::Zero(outputs)) {
    const double fan = static_cast<double>(inputs + outputs);
    for (Eigen::Index i = 0; i < inputs; ++i) {
      for (Eigen::Index j = 0; j < outputs; ++j) {
        double w = 0;
        switch (init) {
          case Init::small_normal:
            w = 0.01 * random.normal();
            break;
          case Init::standard_normal:
            w = random.normal();
            break;
          case Init::xavier_uniform:
            w = std::sqrt(6.0 / fan) * (2 * random.uniform() - 1);
            break;
          case Init::he_normal:
            w = std::sqrt(2.0 / static_cast<double>(inputs)) * random.normal();
            break;
          case Init::torch_default:
            w = torch_bound(inputs) * (2 * random.uniform() - 1);
            break;
        }
        weights_(i, j) = static_cast<Scalar>(w);
      }
    }
    if (init == Init::torch_default)
      for (Eigen::Index j = 0; j < outputs; ++j)
        biases_(j) = static_cast<Scalar>(torch_bound(inputs) * (2 * random.uniform() - 1));
  }

  // Keeps a reference to `inputs` for backward(), not a copy: they must stay
  // alive and unchanged until then (another layer's output() always does).
  // The reference is taken last, so a forward() that throws keeps the old one.
  const Matrix& forward(const Matrix& inputs) {
    check_forward(inputs);
    output_.resize(inputs.rows(), weights_.cols());
    output_.rowwise() = biases_;
    multiply_add(inputs, weights_, output_);  // Y = X W + b
    input_ = &inputs;
    return output_;
  }
  // A temporary (or an expression, which would become one) would be gone by
  // backward(): evaluate it into a named matrix first.
  const Matrix& forward(Matrix&&) = delete;
  const Matrix& forward(const Matrix&&) = delete;

  // out = X W + b, for any X of `inputs` columns and an `out` of its rows
  // and `outputs` columns (a Matrix, or a block or map of one). Reads only
  // the parameters: output(), and what backward() will use, stay as the last
  // forward() left them. Its products are Eigen's general ones, so results
  // may differ from forward()'s in the last bits.
  template <class In, class Out>
  void predict(const Eigen::MatrixBase<In>& inputs, const Eigen::MatrixBase<Out>& out) const {
    constexpr const char* who = "descend::nn::Dense::predict";
    check_parameters(who);
    if (inputs.cols() != weights_.rows())
      detail::fail(who, "input is %x% but the layer takes % inputs (columns)",
                   {inputs.rows(), inputs.cols(), weights_.rows()});
    if (out.rows() != inputs.rows() || out.cols() != weights_.cols())
      detail::fail(who, "output is %x% but % samples of this layer give %x%",
                   {out.rows(), out.cols(), inputs.rows(), inputs.rows(), weights_.cols()});
    // Eigen's documented way to write through a const MatrixBase& (so that
    // a temporary block can be the destination).
    auto& y = const_cast<Eigen::MatrixBase<Out>&>(out);
    y.noalias() = inputs * weights_;
    y.rowwise() += biases_;
  }

  // dweights, dbiases and dinputs from dL/doutput.
  const Matrix& backward(const Matrix& doutput) {
    check_backward(doutput, "descend::nn::Dense::backward");
    update_params(doutput);
    dinputs_.setZero(doutput.rows(), weights_.rows());
    multiply_add(doutput, weights_.transpose(), dinputs_);  // dX = dout W^T
    return dinputs_;
  }

  // dweights and dbiases only: for a first layer, whose inputs are data.
  void backward_params(const Matrix& doutput) {
    check_backward(doutput, "descend::nn::Dense::backward_params");
    update_params(doutput);
  }

  Matrix& weights() { return weights_; }
  RowVector& biases() { return biases_; }
  const Matrix& weights() const { return weights_; }
  const RowVector& biases() const { return biases_; }
  // The gradients backward() writes, zero before the first. Writable, and
  // sized from the start, so that an optimizer can register them with the
  // parameters (add(weights(), dweights())) and zero_grad() them; backward()
  // overwrites them in place.
  Matrix& dweights() { return dweights_; }
  RowVector& dbiases() { return dbiases_; }
  const Matrix& dweights() const { return dweights_; }
  const RowVector& dbiases() const { return dbiases_; }
  const Matrix& output() const { return output_; }
  const Matrix& dinputs() const { return dinputs_; }

 private:
  // Before weights_ is sized: Eigen asserts on a negative size.
  static Eigen::Index checked_inputs(Eigen::Index inputs, Eigen::Index outputs, Init init) {
    constexpr const char* who = "descend::nn::Dense";
    if (inputs < 1 || outputs < 1)
      detail::fail(who, "inputs = % and outputs = % must both be >= 1", {inputs, outputs});
    if (init != Init::small_normal && init != Init::standard_normal &&
        init != Init::xavier_uniform && init != Init::he_normal && init != Init::torch_default)
      detail::fail(who, "init = % is not an Init value", {static_cast<int>(init)});
    return inputs;
  }

  static double torch_bound(Eigen::Index inputs) {
    return 1 / std::sqrt(static_cast<double>(inputs));
  }

  // weights() and biases() are writable, so their shapes are checked too.
  void check_parameters(const char* who) const {
    if (weights_.size() == 0 || biases_.cols() != weights_.cols())
      detail::fail(who,
                   "weights are %x% and biases %x%: need at least 1x1 weights and one bias per "
                   "column",
                   {weights_.rows(), weights_.cols(), biases_.rows(), biases_.cols()});
  }

  void check_forward(const Matrix& inputs) const {
    constexpr const char* who = "descend::nn::Dense::forward";
    check_parameters(who);
    if (inputs.cols() != weights_.rows())
      detail::fail(who, "input is %x% but the layer takes % inputs (columns)",
                   {inputs.rows(), inputs.cols(), weights_.rows()});
    if (inputs.rows() == 0)
      detail::fail(who, "input is %x%: an empty batch", {inputs.rows(), inputs.cols()});
    // forward() and backward() write these, so as an input they would change
    // under the layer's feet.
    if (&inputs == &output_ || &inputs == &dweights_ || &inputs == &dinputs_)
      detail::fail(who,
                   "the input is this layer's own output(), dweights() or dinputs(), which the "
                   "layer overwrites: copy it first");
  }

  void check_backward(const Matrix& doutput, const char* who) const {
    if (!input_) detail::fail(who, "no forward() yet");
    if (doutput.rows() != output_.rows() || doutput.cols() != output_.cols())
      detail::fail(who, "gradient is %x% but the last forward() gave a %x% output",
                   {doutput.rows(), doutput.cols(), output_.rows(), output_.cols()});
    // backward() reads the input by reference and multiplies by the weights:
    // both must still have the shapes forward() saw.
    if (input_->rows() != output_.rows() || input_->cols() != weights_.rows() ||
        weights_.cols() != output_.cols())
      detail::fail(who,
                   "the input of the last forward() is now %x% and the weights %x%, which "
                   "cannot give its %x% output: keep both unchanged until backward()",
                   {input_->rows(), input_->cols(), weights_.rows(), weights_.cols(),
                    output_.rows(), output_.cols()});
    if (&doutput == &dweights_ || &doutput == &dinputs_)
      detail::fail(who,
                   "the gradient is this layer's own dweights() or dinputs(), which backward() "
                   "overwrites: copy it first");
  }

  void update_params(const Matrix& doutput) {
    const Matrix& x = *input_;
    dweights_.resize(weights_.rows(), weights_.cols());
    if (use_gemm(x.cols(), x.rows(), doutput.cols())) {
      dweights_.setZero();
      gemm_add(x.transpose(), doutput, dweights_);  // dW = X^T dout
    } else {
      // One dot product per weight, each over the whole batch.
      for (Eigen::Index j = 0; j < weights_.cols(); ++j)
        for (Eigen::Index i = 0; i < weights_.rows(); ++i)
          dweights_(i, j) = x.col(i).dot(doutput.col(j));
    }
    dbiases_ = doutput.colwise().sum();  // db = 1^T dout
  }

  // Whether out (m x n) += a (m x k) b (k x n) goes through Eigen's blocked
  // matrix product (GEMM), which packs a and b into blocks for a
  // register-tiled kernel. That pays once the blocks are reused, from a few
  // dozen rows and columns on: on MNIST's 784-128-10 layers at batch 128 it
  // is several times faster than the loops below. The narrow spiral layers
  // (2 inputs, 3 outputs) keep the loops, which read a and b in place.
  static bool use_gemm(Eigen::Index m, Eigen::Index k, Eigen::Index n) {
    return std::min({m, k, n}) >= 8 && m * k * n >= 64 * 64 * 64;
  }

  // out += a b: a GEMM, or for narrow shapes one matrix-vector product per
  // column of out.
  template <class A, class B>
  static void multiply_add(const A& a, const B& b, Matrix& out) {
    if (use_gemm(a.rows(), a.cols(), b.cols())) {
      gemm_add(a, b, out);
      return;
    }
    for (Eigen::Index j = 0; j < b.cols(); ++j) out.col(j).noalias() += a * b.col(j);
  }

  // out += a b through Eigen's GEMM, in blocks small enough that Eigen packs
  // them on the stack. It packs a depth x rows panel of a and a depth x
  // columns panel of b, on the heap, at every call, when either exceeds
  // EIGEN_STACK_ALLOCATION_LIMIT (128 KiB unless the user changes it): a
  // 784-input layer would allocate at every batch. The largest of rows,
  // columns and depth is halved until both panels fit; splitting the depth
  // adds the partial products into out in turn.
  template <class A, class B>
  static void gemm_add(const A& a, const B& b, Matrix& out) {
    using Index = Eigen::Index;
    const Index m = a.rows(), k = a.cols(), n = b.cols();
    const Index limit = static_cast<Index>(EIGEN_STACK_ALLOCATION_LIMIT / sizeof(Scalar));
    if (limit < 1024) {  // alloca turned off or tiny: blocks would not help
      out.noalias() += a * b;
      return;
    }
    Index mb = m, kb = k, nb = n;
    while (kb * std::max(mb, nb) > limit) {
      Index& largest = kb >= mb && kb >= nb ? kb : (mb >= nb ? mb : nb);
      largest = (largest + 1) / 2;
    }
    for (Index p = 0; p < k; p += kb) {
      const Index kp = std::min(kb, k - p);
      for (Index j = 0; j < n; j += nb) {
        const Index nj = std::min(nb, n - j);
        for (Index i = 0; i < m; i += mb) {
          const Index mi = std::min(mb, m - i);
          out.block(i, j, mi, nj).noalias() += a.block(i, p, mi, kp) * b.block(p, j, kp, nj);
        }
      }
    }
  }

  Matrix weights_;
  RowVector biases_;
  const Matrix* input_ = nullptr;
  Matrix output_, dweights_, dinputs_;
  RowVector dbiases_;
};

}  // namespace nn
}  // namespace descend
