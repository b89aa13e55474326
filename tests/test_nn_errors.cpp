// The input checks of the layers, losses and data generators: each misuse
// throws std::invalid_argument naming the function and the shapes or values,
// and a call that throws changes nothing.
//
// Built twice (tests/CMakeLists.txt): in descend_tests_nn with Eigen's
// assertions on whatever the build type, so that a check missing in descend
// shows up as an abort, and in descend_tests_nn_ndebug (DESCEND_TEST_NDEBUG)
// with NDEBUG, as a user's Release build sees the headers: there a missing
// check would be undefined behaviour, which the sanitizer build reports. The
// lines below set NDEBUG before any include, so this file is a unit of its
// own, never in a unity group.
#ifdef DESCEND_TEST_NDEBUG
#ifndef NDEBUG
#define NDEBUG 1
#endif
#else
#undef NDEBUG
#endif

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "descend/nn.hpp"

using descend::data::Random;
using descend::nn::CrossEntropy;
using descend::nn::Dense;
using descend::nn::Init;
using descend::nn::Mse;
using descend::nn::Relu;
using descend::nn::Softmax;
using descend::nn::SoftmaxCrossEntropy;
using Matrix = Eigen::MatrixXd;
using Labels = Eigen::VectorXi;

#if CATCH_VERSION_MAJOR >= 3
using Catch::Matchers::ContainsSubstring;
#else
inline Catch::Matchers::StdString::ContainsMatcher ContainsSubstring(const std::string& text) {
  return Catch::Matchers::Contains(text);
}
#endif

namespace {

// The message of the std::invalid_argument that f() throws. Another exception
// escapes to Catch and fails the test case; no exception fails it here.
template <class F>
std::string invalid_argument_from(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  FAIL("no std::invalid_argument was thrown");
  return "";
}

// A copy of a matrix and where its coefficients lived, to show that a call
// which threw neither changed nor reallocated it.
template <class M>
struct Kept {
  explicit Kept(const M& m) : copy(m), data(m.data()) {}
  M copy;
  const typename M::Scalar* data;
};

template <class M>
bool unchanged(const M& now, const Kept<M>& kept) {
  return now.data() == kept.data && now.rows() == kept.copy.rows() &&
         now.cols() == kept.copy.cols() &&
         (now.size() == 0 ||
          std::memcmp(now.data(), kept.copy.data(), sizeof(typename M::Scalar) * now.size()) == 0);
}

Matrix random_matrix(Eigen::Index rows, Eigen::Index cols, Random& random) {
  return Matrix::NullaryExpr(rows, cols, [&] { return random.normal(); });
}

}  // namespace

// ---- Dense ------------------------------------------------------------------

TEST_CASE("Dense rejects a size below 1 and names both sizes", "[nn][dense][errors]") {
  Random random(1);
  CHECK_THAT(
      invalid_argument_from([&] { Dense<double>(-1, 3, random); }),
      ContainsSubstring("descend::nn::Dense: inputs = -1 and outputs = 3 must both be >= 1"));
  CHECK_THAT(invalid_argument_from([&] { Dense<float>(3, 0, random); }),
             ContainsSubstring("inputs = 3 and outputs = 0"));
  CHECK_THAT(invalid_argument_from([&] { Dense<double>(0, -5, random); }),
             ContainsSubstring("inputs = 0 and outputs = -5"));
}

TEST_CASE("Dense rejects an Init that is none of the enumerators", "[nn][dense][errors]") {
  Random random(1);
  CHECK_THAT(invalid_argument_from([&] { Dense<double>(2, 2, random, static_cast<Init>(7)); }),
             ContainsSubstring("descend::nn::Dense: init = 7 is not an Init value"));
}

TEST_CASE("Dense::forward rejects an input whose width is not the layer's input count",
          "[nn][dense][errors]") {
  Random random(1);
  Dense<double> dense(3, 2, random);
  const Matrix narrow = Matrix::Ones(4, 2);
  CHECK_THAT(invalid_argument_from([&] { dense.forward(narrow); }),
             ContainsSubstring("descend::nn::Dense::forward: input is 4x2 but the layer takes 3 "
                               "inputs (columns)"));
}

TEST_CASE("Dense::forward rejects an empty batch", "[nn][dense][errors]") {
  Random random(1);
  Dense<double> dense(3, 2, random);
  const Matrix empty(0, 3);
  CHECK_THAT(invalid_argument_from([&] { dense.forward(empty); }),
             ContainsSubstring("descend::nn::Dense::forward: input is 0x3: an empty batch"));
}

TEST_CASE("Dense::backward and backward_params before any forward() throw", "[nn][dense][errors]") {
  Random random(1);
  Dense<double> dense(3, 2, random);
  const Matrix dy = Matrix::Ones(4, 2);
  CHECK_THAT(invalid_argument_from([&] { dense.backward(dy); }),
             ContainsSubstring("descend::nn::Dense::backward: no forward() yet"));
  CHECK_THAT(invalid_argument_from([&] { dense.backward_params(dy); }),
             ContainsSubstring("descend::nn::Dense::backward_params: no forward() yet"));
  // Nor does a forward() that threw count as one.
  const Matrix wrong = Matrix::Ones(4, 5);
  CHECK_THROWS_AS(dense.forward(wrong), std::invalid_argument);
  CHECK_THAT(invalid_argument_from([&] { dense.backward(dy); }),
             ContainsSubstring("no forward() yet"));
}

TEST_CASE("Dense::backward rejects a gradient of another shape than the last output",
          "[nn][dense][errors]") {
  Random random(1);
  Dense<double> dense(3, 2, random);
  const Matrix x = Matrix::Ones(4, 3);
  dense.forward(x);
  for (const auto& [rows, cols] : {std::pair<int, int>{4, 3}, {5, 2}, {0, 0}}) {
    const Matrix dy = Matrix::Ones(rows, cols);
    const std::string shape = std::to_string(rows) + "x" + std::to_string(cols);
    CHECK_THAT(invalid_argument_from([&] { dense.backward(dy); }),
               ContainsSubstring("descend::nn::Dense::backward: gradient is " + shape +
                                 " but the last forward() gave a 4x2 output"));
    CHECK_THAT(invalid_argument_from([&] { dense.backward_params(dy); }),
               ContainsSubstring("descend::nn::Dense::backward_params: gradient is " + shape));
  }
}

TEST_CASE("Dense::backward rejects an input that changed shape after forward()",
          "[nn][dense][errors]") {
  Random random(1);
  Dense<double> dense(3, 2, random);
  Matrix x = Matrix::Ones(4, 3);
  dense.forward(x);
  const Matrix dy = Matrix::Ones(4, 2);
  x.resize(2, 3);  // fewer rows than the gradient
  CHECK_THAT(invalid_argument_from([&] { dense.backward(dy); }),
             ContainsSubstring("descend::nn::Dense::backward: the input of the last forward() is "
                               "now 2x3 and the weights 3x2, which cannot give its 4x2 output"));
  x.resize(4, 1);  // fewer columns than the weights have rows
  CHECK_THAT(invalid_argument_from([&] { dense.backward_params(dy); }),
             ContainsSubstring("is now 4x1 and the weights 3x2"));
}

TEST_CASE("Dense rejects weights or biases resized out of step with each other",
          "[nn][dense][errors]") {
  Random random(1);
  Dense<double> dense(3, 2, random);
  const Matrix x = Matrix::Ones(4, 3), dy = Matrix::Ones(4, 2);
  dense.forward(x);
  dense.weights().resize(3, 5);
  CHECK_THAT(invalid_argument_from([&] { dense.backward(dy); }),
             ContainsSubstring("now 4x3 and the weights 3x5, which cannot give its 4x2 output"));
  CHECK_THAT(invalid_argument_from([&] { dense.forward(x); }),
             ContainsSubstring("descend::nn::Dense::forward: weights are 3x5 and biases 1x2"));
  dense.weights().resize(0, 2);
  CHECK_THAT(invalid_argument_from([&] { dense.forward(x); }),
             ContainsSubstring("weights are 0x2 and biases 1x2"));
}

TEST_CASE("Dense rejects its own output or gradients as its input or gradient",
          "[nn][dense][errors]") {
  // A square layer, so the shapes alone would let them through.
  Random random(1);
  Dense<double> dense(3, 3, random);
  const Matrix x = Matrix::Ones(3, 3), dy = Matrix::Ones(3, 3);
  dense.forward(x);
  dense.backward(dy);
  CHECK_THAT(invalid_argument_from([&] { dense.forward(dense.output()); }),
             ContainsSubstring("descend::nn::Dense::forward: the input is this layer's own "
                               "output(), dweights() or dinputs()"));
  CHECK_THROWS_AS(dense.forward(dense.dweights()), std::invalid_argument);
  CHECK_THROWS_AS(dense.forward(dense.dinputs()), std::invalid_argument);
  CHECK_THAT(invalid_argument_from([&] { dense.backward(dense.dinputs()); }),
             ContainsSubstring("descend::nn::Dense::backward: the gradient is this layer's own "
                               "dweights() or dinputs()"));
  CHECK_THROWS_AS(dense.backward(dense.dweights()), std::invalid_argument);
  CHECK_THROWS_AS(dense.backward_params(dense.dweights()), std::invalid_argument);
  // Its output is only read by backward(), so it is a valid gradient.
  CHECK_NOTHROW(dense.backward(dense.output()));
}

TEST_CASE("A Dense::forward that throws keeps the last input and every buffer",
          "[nn][dense][errors]") {
  Random random(1);
  Dense<double> dense(2, 2, random);
  dense.weights() << 1, 2, 3, 4;
  dense.biases() << 1, -1;
  Matrix x(1, 2), dy(1, 2);
  x << 1, 2;
  dy << 1, 10;
  dense.forward(x);
  dense.backward(dy);
  const Kept<Matrix> output(dense.output()), dweights(dense.dweights()), dinputs(dense.dinputs());
  const Kept<Eigen::RowVectorXd> dbiases(dense.dbiases());
  const Matrix empty(0, 2), wide = Matrix::Ones(1, 3);
  CHECK_THROWS_AS(dense.forward(empty), std::invalid_argument);
  CHECK_THROWS_AS(dense.forward(wide), std::invalid_argument);
  CHECK(unchanged(dense.output(), output));
  CHECK(unchanged(dense.dweights(), dweights));
  CHECK(unchanged(dense.dbiases(), dbiases));
  CHECK(unchanged(dense.dinputs(), dinputs));
  // backward() still reads x: dW = x^T dy = (1, 2)^T (1, 10).
  dense.backward(dy);
  Matrix expected(2, 2);
  expected << 1, 10, 2, 20;
  CHECK(dense.dweights() == expected);
}

TEST_CASE("A Dense::backward that throws keeps the previous gradients", "[nn][dense][errors]") {
  Random random(1);
  Dense<double> dense(3, 2, random);
  Matrix x = random_matrix(4, 3, random);
  const Matrix dy = random_matrix(4, 2, random);
  dense.forward(x);
  dense.backward(dy);
  const Kept<Matrix> dweights(dense.dweights()), dinputs(dense.dinputs());
  const Kept<Eigen::RowVectorXd> dbiases(dense.dbiases());
  const Matrix wrong = Matrix::Ones(4, 3);
  CHECK_THROWS_AS(dense.backward(wrong), std::invalid_argument);
  CHECK_THROWS_AS(dense.backward_params(wrong), std::invalid_argument);
  CHECK_THROWS_AS(dense.backward(dense.dinputs()), std::invalid_argument);
  x.resize(3, 3);
  CHECK_THROWS_AS(dense.backward(dy), std::invalid_argument);
  CHECK(unchanged(dense.dweights(), dweights));
  CHECK(unchanged(dense.dbiases(), dbiases));
  CHECK(unchanged(dense.dinputs(), dinputs));
}

// ---- Relu and Softmax -------------------------------------------------------

TEMPLATE_TEST_CASE("Relu and Softmax reject an empty batch and an input without columns",
                   "[nn][relu][softmax][errors]", Relu<double>, Softmax<double>) {
  const bool relu = std::is_same<TestType, Relu<double>>::value;
  const std::string who = relu ? "descend::nn::Relu::forward" : "descend::nn::Softmax::forward";
  TestType layer;
  const Matrix no_rows(0, 3), no_columns(5, 0);
  CHECK_THAT(invalid_argument_from([&] { layer.forward(no_rows); }),
             ContainsSubstring(who + ": input is 0x3: an empty batch"));
  CHECK_THAT(invalid_argument_from([&] { layer.forward(no_columns); }),
             ContainsSubstring(who + ": input is 5x0: no " + (relu ? "columns" : "classes")));
}

TEMPLATE_TEST_CASE("Relu::backward and Softmax::backward before any forward() throw",
                   "[nn][relu][softmax][errors]", Relu<double>, Softmax<double>) {
  const std::string who = std::is_same<TestType, Relu<double>>::value
                              ? "descend::nn::Relu::backward"
                              : "descend::nn::Softmax::backward";
  TestType layer;
  const Matrix dy = Matrix::Ones(4, 3), empty(0, 0);
  CHECK_THAT(invalid_argument_from([&] { layer.backward(dy); }),
             ContainsSubstring(who + ": no forward() yet"));
  CHECK_THAT(invalid_argument_from([&] { layer.backward(empty); }),
             ContainsSubstring(who + ": no forward() yet"));
}

TEMPLATE_TEST_CASE("Relu::backward and Softmax::backward reject a gradient of another shape",
                   "[nn][relu][softmax][errors]", Relu<double>, Softmax<double>) {
  const std::string who = std::is_same<TestType, Relu<double>>::value
                              ? "descend::nn::Relu::backward"
                              : "descend::nn::Softmax::backward";
  TestType layer;
  const Matrix x = Matrix::Ones(4, 3);
  layer.forward(x);
  for (const auto& [rows, cols] : {std::pair<int, int>{3, 4}, {4, 2}, {5, 3}, {0, 0}}) {
    const Matrix dy = Matrix::Ones(rows, cols);
    CHECK_THAT(
        invalid_argument_from([&] { layer.backward(dy); }),
        ContainsSubstring(who + ": gradient is " + std::to_string(rows) + "x" +
                          std::to_string(cols) + " but the last forward() gave a 4x3 output"));
  }
}

TEMPLATE_TEST_CASE("A Relu or Softmax call that throws keeps the output and the gradient",
                   "[nn][relu][softmax][errors]", Relu<double>, Softmax<double>) {
  Random random(2);
  TestType layer;
  const Matrix x = random_matrix(4, 3, random), dy = random_matrix(4, 3, random);
  layer.forward(x);
  layer.backward(dy);
  const Kept<Matrix> output(layer.output()), dinputs(layer.dinputs());
  const Matrix empty(0, 3), wrong = Matrix::Ones(4, 2);
  CHECK_THROWS_AS(layer.forward(empty), std::invalid_argument);
  CHECK_THROWS_AS(layer.backward(wrong), std::invalid_argument);
  CHECK(unchanged(layer.output(), output));
  CHECK(unchanged(layer.dinputs(), dinputs));
}

// ---- Losses -----------------------------------------------------------------

TEST_CASE("CrossEntropy rejects an empty batch and predictions without classes",
          "[nn][loss][errors]") {
  CrossEntropy<double> ce;
  const Matrix no_rows(0, 3), no_classes(2, 0);
  const Labels none(0), two = Labels::Zero(2);
  CHECK_THAT(invalid_argument_from([&] { ce.forward(no_rows, none); }),
             ContainsSubstring("descend::nn::CrossEntropy::forward: predictions are 0x3: an "
                               "empty batch"));
  CHECK_THAT(invalid_argument_from([&] { ce.forward(no_rows, no_rows); }),
             ContainsSubstring("predictions are 0x3: an empty batch"));
  CHECK_THAT(invalid_argument_from([&] { ce.backward(no_rows, none); }),
             ContainsSubstring("descend::nn::CrossEntropy::backward: predictions are 0x3"));
  CHECK_THAT(invalid_argument_from([&] { ce.backward(no_rows, no_rows); }),
             ContainsSubstring("descend::nn::CrossEntropy::backward: predictions are 0x3"));
  CHECK_THAT(invalid_argument_from([&] { ce.forward(no_classes, two); }),
             ContainsSubstring("predictions are 2x0: no classes"));
}

TEST_CASE("Losses reject a label count other than the row count", "[nn][loss][errors]") {
  const Matrix p = Matrix::Constant(2, 3, 1.0 / 3);
  const Labels three = Labels::Zero(3);
  CHECK_THAT(invalid_argument_from([&] { CrossEntropy<double>().forward(p, three); }),
             ContainsSubstring("descend::nn::CrossEntropy::forward: 3 labels for 2 samples "
                               "(predictions are 2x3)"));
  CrossEntropy<double> ce;
  CHECK_THAT(invalid_argument_from([&] { ce.backward(p, three); }),
             ContainsSubstring("descend::nn::CrossEntropy::backward: 3 labels for 2 samples"));
  SoftmaxCrossEntropy<double> head;
  CHECK_THAT(invalid_argument_from([&] { head.forward(p, three); }),
             ContainsSubstring("descend::nn::SoftmaxCrossEntropy::forward: 3 labels for 2 samples "
                               "(logits are 2x3)"));
  CHECK_THAT(invalid_argument_from([&] { descend::nn::accuracy(p, three); }),
             ContainsSubstring("descend::nn::accuracy: 3 labels for 2 samples (scores are 2x3)"));
}

TEST_CASE("Losses reject a label below 0 or not below the class count", "[nn][loss][errors]") {
  const Matrix p = Matrix::Constant(3, 3, 1.0 / 3);
  for (const int bad : {-1, 3, std::numeric_limits<int>::min(), std::numeric_limits<int>::max()}) {
    const Labels labels = (Labels(3) << 0, bad, 2).finished();
    const std::string says = "label " + std::to_string(bad) + " of sample 1 is not in [0, 3)";
    CrossEntropy<double> ce;
    SoftmaxCrossEntropy<double> head;
    CHECK_THAT(invalid_argument_from([&] { ce.forward(p, labels); }),
               ContainsSubstring("descend::nn::CrossEntropy::forward: " + says));
    CHECK_THAT(invalid_argument_from([&] { ce.backward(p, labels); }),
               ContainsSubstring("descend::nn::CrossEntropy::backward: " + says));
    CHECK_THAT(invalid_argument_from([&] { head.forward(p, labels); }),
               ContainsSubstring("descend::nn::SoftmaxCrossEntropy::forward: " + says));
    head.forward(p, Labels(Labels::Zero(3)));
    CHECK_THAT(invalid_argument_from([&] { head.backward(labels); }),
               ContainsSubstring("descend::nn::SoftmaxCrossEntropy::backward: " + says));
    CHECK_THAT(invalid_argument_from([&] { descend::nn::accuracy(p, labels); }),
               ContainsSubstring("descend::nn::accuracy: " + says));
  }
}

TEST_CASE("Losses reject targets of another shape than the predictions", "[nn][loss][errors]") {
  const Matrix p = Matrix::Constant(2, 3, 1.0 / 3), t = Matrix::Zero(3, 2);
  CHECK_THAT(invalid_argument_from([&] { CrossEntropy<double>().forward(p, t); }),
             ContainsSubstring("descend::nn::CrossEntropy::forward: targets are 3x2 but "
                               "predictions are 2x3"));
  CHECK_THAT(invalid_argument_from([&] { Mse<double>().forward(p, t); }),
             ContainsSubstring("descend::nn::Mse::forward: targets are 3x2 but predictions are "
                               "2x3"));
  Mse<double> mse;
  CHECK_THAT(invalid_argument_from([&] { mse.backward(p, t); }),
             ContainsSubstring("descend::nn::Mse::backward: targets are 3x2"));
  SoftmaxCrossEntropy<double> head;
  CHECK_THAT(invalid_argument_from([&] { head.forward(p, t); }),
             ContainsSubstring("descend::nn::SoftmaxCrossEntropy::forward: targets are 3x2 but "
                               "logits are 2x3"));
  head.forward(p, Matrix(Matrix::Zero(2, 3)));
  CHECK_THAT(invalid_argument_from([&] { head.backward(t); }),
             ContainsSubstring("descend::nn::SoftmaxCrossEntropy::backward: targets are 3x2 but "
                               "probabilities of the last forward() are 2x3"));
}

TEST_CASE("SoftmaxCrossEntropy rejects logits with zero classes or zero rows",
          "[nn][loss][errors]") {
  SoftmaxCrossEntropy<double> head;
  const Matrix no_classes(4, 0), no_rows(0, 3);
  CHECK_THAT(invalid_argument_from([&] { head.forward(no_classes, Labels(Labels::Zero(4))); }),
             ContainsSubstring("descend::nn::SoftmaxCrossEntropy::forward: logits are 4x0: no "
                               "classes"));
  CHECK_THAT(invalid_argument_from([&] { head.forward(no_classes, Matrix(4, 0)); }),
             ContainsSubstring("logits are 4x0: no classes"));
  CHECK_THAT(invalid_argument_from([&] { head.forward(no_rows, Labels(0)); }),
             ContainsSubstring("logits are 0x3: an empty batch"));
}

TEST_CASE("SoftmaxCrossEntropy::backward before any forward() throws", "[nn][loss][errors]") {
  SoftmaxCrossEntropy<double> head;
  CHECK_THAT(invalid_argument_from([&] { head.backward(Labels(0)); }),
             ContainsSubstring("descend::nn::SoftmaxCrossEntropy::backward: no forward() yet"));
  CHECK_THAT(invalid_argument_from([&] { head.backward(Matrix(0, 0)); }),
             ContainsSubstring("descend::nn::SoftmaxCrossEntropy::backward: no forward() yet"));
}

TEST_CASE("A SoftmaxCrossEntropy call that throws keeps its probabilities and gradient",
          "[nn][loss][errors]") {
  Random random(3);
  SoftmaxCrossEntropy<double> head;
  const Matrix z = random_matrix(3, 4, random), other = random_matrix(3, 4, random);
  const Labels labels = (Labels(3) << 0, 3, 1).finished();
  const Labels bad = (Labels(3) << 0, 4, 1).finished();
  head.forward(z, labels);
  head.backward(labels);
  const Kept<Matrix> output(head.output()), dinputs(head.dinputs());
  // Logits that fit, labels that do not: the softmax of `other` must not be
  // taken before the labels are checked.
  CHECK_THROWS_AS(head.forward(other, bad), std::invalid_argument);
  CHECK_THROWS_AS(head.forward(other, Matrix(Matrix::Zero(3, 5))), std::invalid_argument);
  CHECK_THROWS_AS(head.backward(bad), std::invalid_argument);
  CHECK_THROWS_AS(head.backward(Matrix(Matrix::Zero(2, 4))), std::invalid_argument);
  CHECK(unchanged(head.output(), output));
  CHECK(unchanged(head.dinputs(), dinputs));
}

TEST_CASE("Mse rejects an empty batch", "[nn][loss][errors]") {
  const Matrix no_rows(0, 1), no_columns(3, 0);
  Mse<double> mse;
  CHECK_THAT(invalid_argument_from([&] { mse.forward(no_rows, no_rows); }),
             ContainsSubstring("descend::nn::Mse::forward: predictions are 0x1: an empty batch"));
  CHECK_THAT(invalid_argument_from([&] { mse.backward(no_rows, no_rows); }),
             ContainsSubstring("descend::nn::Mse::backward: predictions are 0x1: an empty batch"));
  CHECK_THAT(invalid_argument_from([&] { mse.forward(no_columns, no_columns); }),
             ContainsSubstring("predictions are 3x0: no columns"));
}

TEST_CASE("accuracy rejects an empty batch", "[nn][loss][errors]") {
  CHECK_THAT(invalid_argument_from([&] { descend::nn::accuracy(Matrix(0, 3), Labels(0)); }),
             ContainsSubstring("descend::nn::accuracy: scores are 0x3: an empty batch"));
}

TEST_CASE("A CrossEntropy or Mse backward that throws keeps the previous gradient",
          "[nn][loss][errors]") {
  Random random(4);
  const Matrix p = Matrix::Constant(3, 2, 0.5), t = random_matrix(3, 2, random);
  const Labels labels = (Labels(3) << 0, 1, 1).finished();
  CrossEntropy<double> ce;
  ce.backward(p, labels);
  const Kept<Matrix> ce_grad(ce.dinputs());
  CHECK_THROWS_AS(ce.backward(p, Labels(Labels::Constant(3, 2))), std::invalid_argument);
  CHECK_THROWS_AS(ce.backward(p, Matrix(Matrix::Zero(2, 2))), std::invalid_argument);
  CHECK_THROWS_AS(ce.backward(Matrix(0, 2), Labels(0)), std::invalid_argument);
  CHECK(unchanged(ce.dinputs(), ce_grad));
  Mse<double> mse;
  mse.backward(p, t);
  const Kept<Matrix> mse_grad(mse.dinputs());
  CHECK_THROWS_AS(mse.backward(p, Matrix(Matrix::Zero(3, 3))), std::invalid_argument);
  CHECK(unchanged(mse.dinputs(), mse_grad));
}

TEST_CASE("CrossEntropy::backward rejects its own gradient as the predictions",
          "[nn][loss][errors]") {
  // backward() zeroes its gradient before it reads the predictions.
  CrossEntropy<double> ce;
  const Matrix p = Matrix::Constant(2, 2, 0.5);
  const Labels labels = (Labels(2) << 0, 1).finished();
  ce.backward(p, labels);
  CHECK_THAT(invalid_argument_from([&] { ce.backward(ce.dinputs(), labels); }),
             ContainsSubstring("descend::nn::CrossEntropy::backward: the predictions are this "
                               "loss's own dinputs()"));
}

// ---- Data generators --------------------------------------------------------

TEST_CASE("spiral rejects fewer than 2 samples or no classes or a negative or non-finite noise",
          "[data][errors]") {
  using descend::data::spiral;
  CHECK_THAT(invalid_argument_from([] { spiral<double>(1, 3, 0); }),
             ContainsSubstring("descend::data::spiral: samples = 1 must be >= 2"));
  CHECK_THAT(invalid_argument_from([] { spiral<double>(-4, 3, 0); }),
             ContainsSubstring("samples = -4 must be >= 2"));
  CHECK_THAT(invalid_argument_from([] { spiral<float>(10, 0, 0); }),
             ContainsSubstring("descend::data::spiral: classes = 0 must be >= 1"));
  CHECK_THAT(invalid_argument_from([] { spiral<double>(10, -1, 0); }),
             ContainsSubstring("classes = -1 must be >= 1"));
  CHECK_THAT(invalid_argument_from([] { spiral<double>(10, 3, 0, -1e-9); }),
             ContainsSubstring("descend::data::spiral: noise = -1e-09 must be finite and >= 0"));
  CHECK_THAT(invalid_argument_from([] { spiral<double>(10, 3, 0, std::nan("")); }),
             ContainsSubstring("noise = nan"));
  CHECK_THAT(invalid_argument_from(
                 [] { spiral<double>(10, 3, 0, std::numeric_limits<double>::infinity()); }),
             ContainsSubstring("noise = inf"));
  CHECK_NOTHROW(spiral<double>(2, 1, 0, 0.0));
}

TEST_CASE("linear rejects n below 1", "[data][errors]") {
  CHECK_THAT(invalid_argument_from([] { descend::data::linear<double>(0, 0); }),
             ContainsSubstring("descend::data::linear: n = 0 must be >= 1"));
  CHECK_THAT(invalid_argument_from([] { descend::data::linear<float>(-3, 0); }),
             ContainsSubstring("descend::data::linear: n = -3 must be >= 1"));
}

// ---- Random use -------------------------------------------------------------

// Random calls with random (often wrong, often empty) shapes and labels, the
// layers' own buffers as arguments, and inputs and weights resized between
// forward() and backward(): every call either succeeds or throws
// std::invalid_argument leaving every buffer of every layer as it was.
// With Eigen's assertions on, a check missing in descend aborts here; under
// NDEBUG with the sanitizers, it is reported as an out-of-bounds access.
TEST_CASE("Random calls on the layers succeed or throw std::invalid_argument and change nothing",
          "[nn][errors][fuzz]") {
  Random random(2024);
  auto pick = [&](int n) { return static_cast<int>(random.uniform() * n); };
  auto size = [&] { return static_cast<Eigen::Index>(pick(4)); };  // 0 to 3
  // Inputs live here, as forward() keeps a reference: never reallocated.
  std::vector<Matrix> pool(6);
  for (Matrix& m : pool) m = random_matrix(size(), size(), random);
  Dense<double> dense(1 + size(), 1 + size(), random);
  Relu<double> relu;
  Softmax<double> softmax;
  SoftmaxCrossEntropy<double> head;
  CrossEntropy<double> ce;
  Mse<double> mse;
  // The layers' own buffers, passed back in now and then.
  const std::vector<const Matrix*> own = {&dense.output(),    &dense.dweights(), &dense.dinputs(),
                                          &relu.output(),     &relu.dinputs(),   &softmax.output(),
                                          &softmax.dinputs(), &head.output(),    &head.dinputs(),
                                          &ce.dinputs(),      &mse.dinputs()};
  long threw = 0, succeeded = 0;
  for (int step = 0; step < 20000; ++step) {
    Matrix& slot = pool[static_cast<std::size_t>(pick(6))];
    const Matrix& m = pick(5) ? slot : *own[static_cast<std::size_t>(pick(11))];
    Labels labels(size());
    for (Eigen::Index i = 0; i < labels.size(); ++i) labels(i) = pick(5) - 1;  // -1 to 3
    const Kept<Matrix> d_out(dense.output()), d_dw(dense.dweights()), d_dx(dense.dinputs());
    const Kept<Eigen::RowVectorXd> d_db(dense.dbiases());
    const Kept<Matrix> r_out(relu.output()), r_dx(relu.dinputs());
    const Kept<Matrix> s_out(softmax.output()), s_dx(softmax.dinputs());
    const Kept<Matrix> h_out(head.output()), h_dx(head.dinputs());
    const Kept<Matrix> ce_dx(ce.dinputs()), mse_dx(mse.dinputs());
    const int op = pick(16);
    INFO("step " << step << ", op " << op << ", matrix " << m.rows() << "x" << m.cols() << ", "
                 << labels.size() << " labels");
    try {
      switch (op) {
        case 0:
          dense.forward(m);
          break;
        case 1:
          dense.backward(m);
          break;
        case 2:
          dense.backward_params(m);
          break;
        case 3:
          relu.forward(m);
          break;
        case 4:
          relu.backward(m);
          break;
        case 5:
          softmax.forward(m);
          break;
        case 6:
          softmax.backward(m);
          break;
        case 7:
          head.forward(m, labels);
          break;
        case 8:
          head.backward(labels);
          break;
        case 9:
          head.backward(m);
          break;
        case 10:
          ce.backward(m, labels);
          break;
        case 11:
          ce.forward(m, labels);
          break;
        case 12:
          mse.backward(m, pool[static_cast<std::size_t>(pick(6))]);
          break;
        case 13:
          descend::nn::accuracy(m, labels);
          break;
        case 14:
          slot = random_matrix(size(), size(), random);
          continue;  // maybe dense's input
        default:
          if (pick(2))
            dense.weights().resize(1 + size(), dense.weights().cols());
          else
            dense.weights().resize(dense.weights().rows(), 1 + size());
          dense.weights().setOnes();
          dense.biases().setZero(pick(2) ? dense.weights().cols() : 1 + size());
          continue;
      }
      ++succeeded;
    } catch (const std::invalid_argument&) {
      ++threw;
      REQUIRE(unchanged(dense.output(), d_out));
      REQUIRE(unchanged(dense.dweights(), d_dw));
      REQUIRE(unchanged(dense.dbiases(), d_db));
      REQUIRE(unchanged(dense.dinputs(), d_dx));
      REQUIRE(unchanged(relu.output(), r_out));
      REQUIRE(unchanged(relu.dinputs(), r_dx));
      REQUIRE(unchanged(softmax.output(), s_out));
      REQUIRE(unchanged(softmax.dinputs(), s_dx));
      REQUIRE(unchanged(head.output(), h_out));
      REQUIRE(unchanged(head.dinputs(), h_dx));
      REQUIRE(unchanged(ce.dinputs(), ce_dx));
      REQUIRE(unchanged(mse.dinputs(), mse_dx));
    }
  }
  // Both outcomes were exercised often.
  CHECK(succeeded > 1000);
  CHECK(threw > 1000);
}
