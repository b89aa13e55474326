#include <catch2/catch.hpp>

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
