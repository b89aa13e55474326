#include "catch.hpp"
#include <type_traits>
#include <utility>

#include "descend/nn/dense.hpp"
#include "finite_difference.hpp"

using descend::data::Random;
using descend::nn::Dense;
using descend::nn::Init;

TEMPLATE_TEST_CASE("Dense computes X W + b", "[nn][dense]", float, double) {
  using Matrix = Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  Random random(1);
  Dense<TestType> dense(2, 3, random);
  dense.weights() << 1, 2, 3, 4, 5, 6;
  dense.biases() << 0.5, -0.5, 1;
  Matrix x(2, 2);
  x << 1, 0, -1, 2;
  Matrix expected(2, 3);
  // row 1: (1, 0) W + b = (1, 2, 3) + b;  row 2: (-1, 2) W + b = (7, 8, 9) + b
  expected << 1.5, 1.5, 4, 7.5, 7.5, 10;
  CHECK(dense.forward(x) == expected);
}

TEMPLATE_TEST_CASE("Dense gradients match finite differences", "[nn][dense]", float, double) {
  using Matrix = Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  // A narrow and a wider layer.
  const auto [inputs, outputs] = GENERATE(std::make_pair(4, 3), std::make_pair(12, 10));
  INFO(inputs << " inputs, " << outputs << " outputs");
  Random random(7);
  Dense<TestType> dense(inputs, outputs, random, Init::standard_normal);
  Matrix x = Matrix::NullaryExpr(5, inputs, [&] { return static_cast<TestType>(random.normal()); });
  const Matrix r =
      Matrix::NullaryExpr(5, outputs, [&] { return static_cast<TestType>(random.normal()); });
  // L = sum(r .* forward(x)), so dL/doutput = r.
  auto loss = [&] { return dense.forward(x).cwiseProduct(r).sum(); };
  dense.forward(x);
  dense.backward(r);
  const Matrix dx = dense.dinputs(), dw = dense.dweights();
  const Matrix db = dense.dbiases();
  CHECK(testing::max_fd_error(x, dx, loss) < testing::fd_tolerance<TestType>());
  CHECK(testing::max_fd_error(dense.weights(), dw, loss) < testing::fd_tolerance<TestType>());
  Matrix b = dense.biases();
  auto loss_b = [&] {
    dense.biases() = b;
    return loss();
  };
  CHECK(testing::max_fd_error(b, db, loss_b) < testing::fd_tolerance<TestType>());
}

TEST_CASE("Dense initialises like nnfs by default and as asked otherwise", "[nn][dense]") {
  Random a(3), b(3);
  Dense<double> small(50, 40, a);
  Dense<double> standard(50, 40, b, Init::standard_normal);
  CHECK(small.biases().isZero(0));
  // Same random stream: small = 0.01 * standard, element for element.
  CHECK(small.weights().isApprox(0.01 * standard.weights(), 1e-15));
  const double sd = std::sqrt(standard.weights().array().square().mean());
  CHECK(sd == Approx(1.0).margin(0.05));
  Random c(3);
  Dense<double> xavier(50, 40, c, Init::xavier_uniform);
  CHECK(xavier.weights().cwiseAbs().maxCoeff() <= std::sqrt(6.0 / 90));
}

// forward() keeps a reference to its input, so it refuses temporaries. Its
// input checks are in test_nn_errors.cpp.
template <class D, class X, class = void>
struct accepts : std::false_type {};
template <class D, class X>
struct accepts<D, X, std::void_t<decltype(std::declval<D&>().forward(std::declval<X>()))>>
    : std::true_type {};
static_assert(accepts<Dense<double>, const Eigen::MatrixXd&>::value, "lvalues are taken");
static_assert(!accepts<Dense<double>, Eigen::MatrixXd>::value, "temporaries are refused");
static_assert(!accepts<Dense<double>, const Eigen::MatrixXd>::value,
              "const temporaries are refused");
static_assert(!accepts<Dense<double>, decltype(Eigen::MatrixXd::Ones(2, 2))>::value,
              "expressions are refused");
