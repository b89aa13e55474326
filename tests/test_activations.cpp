#include "catch.hpp"
#include <limits>

#include "descend/nn/activations.hpp"
#include "finite_difference.hpp"

using descend::nn::Relu;
using descend::nn::Softmax;

TEMPLATE_TEST_CASE("ReLU gradients match finite differences", "[nn][relu]", float, double) {
  using Matrix = Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  // Keep inputs away from the kink at 0 by more than the difference step.
  Matrix x = testing::random_matrix<TestType>(6, 4, 11);
  x = x.unaryExpr([](TestType v) { return v + (v >= 0 ? TestType(0.1) : TestType(-0.1)); });
  const Matrix r = testing::random_matrix<TestType>(6, 4, 12);
  Relu<TestType> relu;
  relu.forward(x);
  const Matrix dx = relu.backward(r);
  CHECK(testing::max_fd_error(x, dx, [&] { return relu.forward(x).cwiseProduct(r).sum(); }) <
        testing::fd_tolerance<TestType>());
  CHECK(relu.forward(x).minCoeff() == 0);
}

TEMPLATE_TEST_CASE("ReLU passes the gradient exactly where the input is positive", "[nn][relu]",
                   float, double) {
  // 37 x 3: not a whole number of packets, so the vectorised mask and its
  // scalar tail both run. Zeros of both signs and negatives get 0.
  using Matrix = Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  Matrix x = testing::random_matrix<TestType>(37, 3, 31);
  x(0, 0) = 0;
  x(1, 0) = -TestType(0);
  x(36, 2) = std::numeric_limits<TestType>::denorm_min();
  const Matrix dy = testing::random_matrix<TestType>(37, 3, 32);
  Relu<TestType> relu;
  relu.forward(x);
  const Matrix& dx = relu.backward(dy);
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    for (Eigen::Index i = 0; i < x.rows(); ++i) {
      INFO("x(" << i << ", " << j << ") = " << x(i, j));
      CHECK(dx(i, j) == (x(i, j) > 0 ? dy(i, j) : TestType(0)));
    }
  }
}

TEMPLATE_TEST_CASE("Softmax gradients match finite differences", "[nn][softmax]", float, double) {
  using Matrix = Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  Matrix x = testing::random_matrix<TestType>(5, 3, 21);
  const Matrix r = testing::random_matrix<TestType>(5, 3, 22);
  Softmax<TestType> softmax;
  softmax.forward(x);
  const Matrix dx = softmax.backward(r);
  CHECK(testing::max_fd_error(x, dx, [&] { return softmax.forward(x).cwiseProduct(r).sum(); }) <
        testing::fd_tolerance<TestType>());
}

TEMPLATE_TEST_CASE("Softmax is stable for large logits", "[nn][softmax]", float, double) {
  using Matrix = Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  Matrix x(2, 3);
  x << 1000, 1001, 1002, -1000, -1000, -1000;
  Softmax<TestType> softmax;
  const Matrix& y = softmax.forward(x);
  CHECK(y.allFinite());
  CHECK(y.rowwise().sum().isOnes(1e-6));
  // exp(0), exp(1), exp(2) normalised: 0.0900306, 0.2447285, 0.6652410
  CHECK(y(0, 2) == Approx(0.6652409558));
  CHECK(y(1, 0) == Approx(1.0 / 3));
}
