#include "catch.hpp"

#include "descend/nn/losses.hpp"
#include "finite_difference.hpp"

using descend::nn::CrossEntropy;
using descend::nn::Mse;
using descend::nn::Softmax;
using descend::nn::SoftmaxCrossEntropy;

namespace {
const Eigen::VectorXi kLabels = (Eigen::VectorXi(5) << 0, 2, 1, 1, 0).finished();

template <class Matrix>
Matrix one_hot(const Eigen::VectorXi& labels, Eigen::Index classes) {
  Matrix y = Matrix::Zero(labels.size(), classes);
  for (Eigen::Index i = 0; i < labels.size(); ++i) y(i, labels(i)) = 1;
  return y;
}
}  // namespace

TEST_CASE("Cross-entropy is the mean negative log-probability of the label", "[nn][loss]") {
  Eigen::MatrixXd p(2, 3);
  p << 0.7, 0.2, 0.1, 0.1, 0.5, 0.4;
  const Eigen::VectorXi labels = (Eigen::VectorXi(2) << 0, 1).finished();
  // (-log 0.7 - log 0.5) / 2 = (0.35667494 + 0.69314718) / 2 = 0.52491106
  CHECK(CrossEntropy<double>().forward(p, labels) == Approx(0.5249110622));
  CHECK(CrossEntropy<double>().forward(p, one_hot<Eigen::MatrixXd>(labels, 3)) ==
        Approx(0.5249110622));
  // A zero probability is clipped to 1e-7: -log(1e-7) = 16.118...
  p << 0, 0.5, 0.5, 0, 0.5, 0.5;
  CHECK(CrossEntropy<double>().forward(p, labels) == Approx((16.11809565 + 0.69314718) / 2));
}

TEMPLATE_TEST_CASE("Cross-entropy gradients match finite differences, ids and one-hot",
                   "[nn][loss]", float, double) {
  using Matrix = Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  Softmax<TestType> softmax;
  Matrix p = softmax.forward(testing::random_matrix<TestType>(5, 3, 31));
  CrossEntropy<TestType> ce;
  const Matrix by_id = ce.backward(p, kLabels);
  CHECK(testing::max_fd_error(p, by_id, [&] { return ce.forward(p, kLabels); }) <
        testing::fd_tolerance<TestType>());
  const Matrix targets = one_hot<Matrix>(kLabels, 3);
  const Matrix by_row = ce.backward(p, targets);
  CHECK(by_row.isApprox(by_id));
  CHECK(testing::max_fd_error(p, by_row, [&] { return ce.forward(p, targets); }) <
        testing::fd_tolerance<TestType>());
}

TEMPLATE_TEST_CASE("Softmax + cross-entropy backward is (softmax - onehot) / n", "[nn][loss]",
                   float, double) {
  using Matrix = Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  Matrix z = testing::random_matrix<TestType>(5, 3, 41);
  SoftmaxCrossEntropy<TestType> head;
  head.forward(z, kLabels);
  const Matrix dz = head.backward(kLabels);
  CHECK(testing::max_fd_error(z, dz, [&] { return head.forward(z, kLabels); }) <
        testing::fd_tolerance<TestType>());
  // The same as chaining the two layers' own backward passes.
  Softmax<TestType> softmax;
  CrossEntropy<TestType> ce;
  const Matrix& p = softmax.forward(z);
  const Matrix chained = softmax.backward(ce.backward(p, kLabels));
  CHECK(chained.isApprox(dz, std::is_same<TestType, float>::value ? 1e-5 : 1e-12));
  head.forward(z, one_hot<Matrix>(kLabels, 3));
  CHECK(head.backward(one_hot<Matrix>(kLabels, 3)).isApprox(dz));
}

TEMPLATE_TEST_CASE("MSE and MSE/2 gradients match finite differences", "[nn][loss]", float,
                   double) {
  using Matrix = Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  Matrix p = testing::random_matrix<TestType>(4, 2, 51);
  const Matrix t = testing::random_matrix<TestType>(4, 2, 52);
  for (bool half : {false, true}) {
    Mse<TestType> mse(half);
    const Matrix dp = mse.backward(p, t);
    CHECK(testing::max_fd_error(p, dp, [&] { return mse.forward(p, t); }) <
          testing::fd_tolerance<TestType>());
  }
  // Hand value: p = (1, 3), t = (0, 0): MSE = (1 + 9) / 2 = 5, MSE/2 = 2.5.
  Matrix a(2, 1), zero = Matrix::Zero(2, 1);
  a << 1, 3;
  CHECK(Mse<TestType>().forward(a, zero) == Approx(5));
  CHECK(Mse<TestType>(true).forward(a, zero) == Approx(2.5));
}

TEST_CASE("Accuracy counts rows whose arg-max is the label", "[nn][loss]") {
  Eigen::MatrixXd scores(4, 3);
  scores << 0.9, 0.05, 0.05, 0.1, 0.8, 0.1, 0.3, 0.3, 0.4, 0.5, 0.4, 0.1;
  const Eigen::VectorXi labels = (Eigen::VectorXi(4) << 0, 1, 2, 1).finished();
  CHECK(descend::nn::accuracy(scores, labels) == 0.75);
}
