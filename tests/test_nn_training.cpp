// What minibatch training needs from the layer set: PyTorch's default
// initialisation, the evaluation path (predict, add_softmax_cross_entropy)
// that leaves the training caches alone, float against double, and early
// stopping.
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "catch.hpp"
#include "descend/descend.hpp"
#include "descend/nn.hpp"

using descend::data::Random;
using descend::nn::Dense;
using descend::nn::EarlyStopping;
using descend::nn::EarlyStoppingOptions;
using descend::nn::Init;
using Index = Eigen::Index;

TEST_CASE("torch_default draws weights then biases from U(-1/sqrt(inputs), 1/sqrt(inputs))",
          "[nn][init]") {
  // By hand from the header: bound b = 1/sqrt(784); w_ij = b (2u - 1) in
  // row-major order, then bias_j = b (2u - 1).
  Random random(5), draws(5);
  const Dense<double> dense(784, 3, random, Init::torch_default);
  const double b = 1 / std::sqrt(784.0);
  for (Index i = 0; i < 784; ++i)
    for (Index j = 0; j < 3; ++j) REQUIRE(dense.weights()(i, j) == b * (2 * draws.uniform() - 1));
  for (Index j = 0; j < 3; ++j) CHECK(dense.biases()(j) == b * (2 * draws.uniform() - 1));
}

TEST_CASE("torch_default has the spread of PyTorch's nn.Linear", "[nn][init]") {
  // U(-b, b): mean 0, variance b^2 / 3; every weight within the bound.
  Random random(8);
  const Dense<float> dense(400, 100, random, Init::torch_default);
  const double b = 1 / std::sqrt(400.0);
  const auto w = dense.weights().cast<double>().array();
  CHECK(w.abs().maxCoeff() <= b);
  CHECK(w.abs().maxCoeff() > 0.99 * b);
  CHECK(std::abs(w.mean()) < 0.01 * b);  // sd of the mean: b / sqrt(3 * 40000) = 0.003 b
  CHECK(w.square().mean() == Approx(b * b / 3).epsilon(0.02));
  CHECK(dense.biases().cwiseAbs().maxCoeff() <= b);
  CHECK(dense.biases().cwiseAbs().minCoeff() >= 0);
  CHECK(!dense.biases().isZero(0));
}

TEMPLATE_TEST_CASE("predict computes X W + b without touching what backward() uses",
                   "[nn][predict]", float, double) {
  using Matrix = Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  Random random(3);
  Dense<TestType> dense(6, 4, random, Init::torch_default);
  const Matrix x = Matrix::NullaryExpr(5, 6, [&] { return TestType(random.normal()); });
  const Matrix other = Matrix::NullaryExpr(9, 6, [&] { return TestType(random.normal()); });
  const Matrix r = Matrix::NullaryExpr(5, 4, [&] { return TestType(random.normal()); });
  const Matrix y = dense.forward(x);
  dense.backward(r);
  const Matrix dw = dense.dweights(), dx = dense.dinputs();

  Matrix out(9, 4);
  const Dense<TestType>& fixed = dense;  // predict is const
  fixed.predict(other, out);
  const Matrix expected = (other * dense.weights()).rowwise() + dense.biases();
  CHECK(out.isApprox(expected, TestType(1e-5)));
  // The forward() caches are as they were: the same output, and backward()
  // still differentiates at x.
  CHECK(dense.output() == y);
  dense.backward(r);
  CHECK(dense.dweights() == dw);
  CHECK(dense.dinputs() == dx);
  // predict of forward's own input agrees with forward().
  Matrix again(5, 4);
  dense.predict(x, again);
  CHECK(again.isApprox(y, TestType(1e-5)));
}

TEST_CASE("predict takes views: row-major blocks in, blocks of a larger matrix out",
          "[nn][predict]") {
  Random random(4);
  const Dense<double> dense(3, 2, random, Init::xavier_uniform);
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> data(10, 3);
  data.setRandom();
  Eigen::MatrixXd big = Eigen::MatrixXd::Constant(8, 5, -7);
  dense.predict(data.middleRows(2, 4), big.block(1, 2, 4, 2));
  const Eigen::MatrixXd x = data.middleRows(2, 4);
  const Eigen::MatrixXd expected = (x * dense.weights()).rowwise() + dense.biases();
  CHECK(big.block(1, 2, 4, 2).isApprox(expected, 1e-14));
  // Nothing outside the block is written.
  CHECK((big.leftCols(2).array() == -7).all());
  CHECK((big.row(0).array() == -7).all());
  CHECK((big.bottomRows(3).array() == -7).all());
}

TEST_CASE("predict rejects inputs and outputs of the wrong shape", "[nn][predict]") {
  Random random(4);
  const Dense<double> dense(3, 2, random);
  Eigen::MatrixXd x(4, 3), wrong_x(4, 5), out(4, 2), wrong_out(3, 2);
  x.setOnes();
  wrong_x.setOnes();
  REQUIRE_THROWS_MATCHES(dense.predict(wrong_x, out), std::invalid_argument,
                         Catch::Message("descend::nn::Dense::predict: input is 4x5 but the layer "
                                        "takes 3 inputs (columns)"));
  REQUIRE_THROWS_MATCHES(dense.predict(x, wrong_out), std::invalid_argument,
                         Catch::Message("descend::nn::Dense::predict: output is 3x2 but 4 samples "
                                        "of this layer give 4x2"));
  const descend::nn::Relu<double> relu;
  REQUIRE_THROWS_MATCHES(relu.predict(x, out), std::invalid_argument,
                         Catch::Message("descend::nn::Relu::predict: input is 4x3 but output 4x2"));
}

TEST_CASE("Relu::predict is max(0, x), in place too, and leaves output() alone", "[nn][predict]") {
  descend::nn::Relu<double> relu;
  Eigen::MatrixXd x(2, 2);
  x << -1, 2, 3, -4;
  const Eigen::MatrixXd y = relu.forward(x);
  Eigen::MatrixXd z(2, 2);
  z << 5, -6, -7, 8;
  relu.predict(z, z);
  Eigen::MatrixXd expected(2, 2);
  expected << 5, 0, 0, 8;
  CHECK(z == expected);
  CHECK(relu.output() == y);
}

TEMPLATE_TEST_CASE("add_softmax_cross_entropy over chunks gives the loss and accuracy of the whole",
                   "[nn][predict]", float, double) {
  using Matrix = Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  Random random(6);
  const Matrix z = Matrix::NullaryExpr(30, 4, [&] { return TestType(3 * random.normal()); });
  Eigen::VectorXi labels(30);
  for (Index i = 0; i < 30; ++i) labels(i) = static_cast<int>(i % 4);
  descend::nn::SoftmaxCrossEntropy<TestType> head;
  const double loss = head.forward(z, labels);
  const double accuracy = descend::nn::accuracy(z, labels);
  descend::nn::ClassificationSums sums;
  for (Index first = 0; first < 30; first += 7) {
    const Index n = std::min<Index>(7, 30 - first);
    descend::nn::add_softmax_cross_entropy(z.middleRows(first, n), labels.segment(first, n), sums);
  }
  CHECK(sums.count == 30);
  CHECK(sums.accuracy() == accuracy);
  CHECK(sums.mean_loss() ==
        Approx(loss).epsilon(std::is_same<TestType, float>::value ? 1e-5 : 1e-12));
  // By hand for one row: z = (0, ln 3), label 1: p = 3/4, loss -ln(3/4), a hit.
  descend::nn::ClassificationSums one;
  Eigen::MatrixXd row(1, 2);
  row << 0, std::log(3.0);
  descend::nn::add_softmax_cross_entropy(row, Eigen::VectorXi::Ones(1), one);
  CHECK(one.loss == Approx(-std::log(0.75)).epsilon(1e-15));
  CHECK(one.correct == 1);
}

TEST_CASE("add_softmax_cross_entropy rejects bad labels and adds nothing", "[nn][predict]") {
  Eigen::MatrixXd z = Eigen::MatrixXd::Zero(3, 2);
  descend::nn::ClassificationSums sums;
  Eigen::VectorXi labels(3);
  labels << 0, 2, 1;
  REQUIRE_THROWS_MATCHES(
      descend::nn::add_softmax_cross_entropy(z, labels, sums), std::invalid_argument,
      Catch::Message("descend::nn::add_softmax_cross_entropy: label 2 of sample 1 "
                     "is not in [0, 2)"));
  REQUIRE_THROWS_MATCHES(descend::nn::add_softmax_cross_entropy(z, labels.head(2), sums),
                         std::invalid_argument,
                         Catch::Message("descend::nn::add_softmax_cross_entropy: 2 labels for 3 "
                                        "samples (logits are 3x2)"));
  CHECK(sums.count == 0);
  CHECK(sums.loss == 0);
}

namespace {

// Dense(2, 16) ReLU Dense(16, 3), softmax cross-entropy: one minibatch step.
template <class Scalar>
struct Net {
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  Random random{12};
  Dense<Scalar> d1{2, 16, random, Init::torch_default}, d2{16, 3, random, Init::torch_default};
  descend::nn::Relu<Scalar> relu;
  descend::nn::SoftmaxCrossEntropy<Scalar> head;
  Scalar step(const Matrix& x, const Eigen::VectorXi& y) {
    const Scalar loss = head.forward(d2.forward(relu.forward(d1.forward(x))), y);
    d2.backward(head.backward(y));
    d1.backward_params(relu.backward(d2.dinputs()));
    return loss;
  }
};

}  // namespace

TEST_CASE("the float path computes what the double path computes, to float's precision",
          "[nn][float]") {
  const auto data = descend::data::spiral<double>(40, 3, 2);
  Net<float> f;
  Net<double> d;
  const float lf = f.step(data.inputs.cast<float>(), data.labels);
  const double ld = d.step(data.inputs, data.labels);
  CHECK(lf == Approx(ld).epsilon(1e-6));
  CHECK(f.d1.dweights().cast<double>().isApprox(d.d1.dweights(), 1e-5));
  CHECK(f.d2.dweights().cast<double>().isApprox(d.d2.dweights(), 1e-5));
  CHECK(f.d2.dbiases().cast<double>().isApprox(d.d2.dbiases(), 1e-5));
}

TEST_CASE("minibatch training in float learns three blobs", "[nn][float][minibatch]") {
  // Class c is centred at 1.5 (cos(2 pi c / 3), sin(2 pi c / 3)) with N(0, 0.5)
  // noise: the centres are 2.6 apart, so a trained classifier is right on
  // well over 90% (the Bayes rate is about 0.99) where the untrained one is
  // near chance. Shuffled batches of 32, Adam 0.02, 30 epochs.
  Random random(1);
  descend::data::Samples<float> all{descend::data::Samples<float>::Inputs(300, 2),
                                    Eigen::VectorXi(300)};
  for (Index i = 0; i < 300; ++i) {
    const int c = static_cast<int>(i % 3);
    all.inputs(i, 0) = float(1.5 * std::cos(2.094395102393195 * c) + 0.5 * random.normal());
    all.inputs(i, 1) = float(1.5 * std::sin(2.094395102393195 * c) + 0.5 * random.normal());
    all.labels(i) = c;
  }
  const auto [train, valid] = descend::data::split(all, 60, random);
  descend::data::Minibatches<float> batches(train, 32);
  Net<float> net;
  descend::AdamOptions o;
  o.lr = 0.02;
  descend::Adam<float> adam(o);
  adam.add(net.d1.weights(), net.d1.dweights());
  adam.add(net.d1.biases(), net.d1.dbiases());
  adam.add(net.d2.weights(), net.d2.dweights());
  adam.add(net.d2.biases(), net.d2.dbiases());
  auto validate = [&] {
    Eigen::MatrixXf hidden(valid.size(), 16), logits(valid.size(), 3);
    net.d1.predict(valid.inputs, hidden);
    net.relu.predict(hidden, hidden);
    net.d2.predict(hidden, logits);
    descend::nn::ClassificationSums sums;
    descend::nn::add_softmax_cross_entropy(logits, valid.labels, sums);
    return sums;
  };
  const auto before = validate();
  for (int epoch = 0; epoch < 30; ++epoch) {
    batches.shuffle(random);
    for (Index b = 0; b < batches.size(); ++b) {
      batches.load(b);
      net.step(batches.inputs(), batches.labels());
      adam.step();
    }
  }
  const auto after = validate();
  CHECK(before.accuracy() < 0.6);
  CHECK(after.accuracy() > 0.9);
  CHECK(after.mean_loss() < 0.5 * before.mean_loss());
}

TEST_CASE("early stopping stops after patience validations without a lower loss",
          "[nn][early_stopping]") {
  EarlyStoppingOptions o;
  o.patience = 3;
  EarlyStopping stop(o);
  // 1.0 best; 1.0 (equal), 1.2, 0.9 (new best, resets), then 0.95, 0.9, 2.0: stop.
  const double losses[] = {1.0, 1.0, 1.2, 0.9, 0.95, 0.9, 2.0};
  const bool expected[] = {false, false, false, false, false, false, true};
  for (int k = 0; k < 7; ++k) {
    INFO("validation " << k + 1);
    CHECK(stop.update(losses[k], 0.5) == expected[k]);
  }
  CHECK(stop.reason() == EarlyStopping::Reason::patience);
  CHECK(stop.best_loss() == 0.9);
  CHECK(stop.best_validation() == 4);
  CHECK(stop.without_lower() == 3);
  CHECK(stop.update(0.1, 0.5));  // stays stopped
}

TEST_CASE("early stopping counts a NaN loss as no improvement", "[nn][early_stopping]") {
  EarlyStoppingOptions o;
  o.patience = 2;
  EarlyStopping stop(o);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(!stop.update(nan, 0.1));
  CHECK(stop.update(nan, 0.1));
  CHECK(stop.best_validation() == 0);
}

TEST_CASE("early stopping stops after target_patience validations above the target accuracy",
          "[nn][early_stopping]") {
  EarlyStoppingOptions o;
  o.patience = 100;
  o.target_accuracy = 0.9;
  o.target_patience = 2;
  EarlyStopping stop(o);
  CHECK(!stop.update(1.0, 0.95));
  CHECK(!stop.update(0.9, 0.9));  // not above: the run resets
  CHECK(!stop.update(0.8, 0.91));
  CHECK(stop.update(0.7, 0.92));
  CHECK(stop.reason() == EarlyStopping::Reason::target_accuracy);
  // The default target of 1 is never exceeded.
  EarlyStopping never;
  for (int k = 0; k < 50; ++k) CHECK(!never.update(1.0 / (k + 1), 1.0));
}

TEST_CASE("early stopping rejects bad options", "[nn][early_stopping]") {
  EarlyStoppingOptions o;
  o.patience = 0;
  REQUIRE_THROWS_MATCHES(EarlyStopping(o), std::invalid_argument,
                         Catch::Message("descend::nn::EarlyStopping: patience = 0 must be >= 1"));
  o = {};
  o.target_patience = -1;
  REQUIRE_THROWS_WITH(EarlyStopping(o), Catch::Contains("target_patience = -1 must be >= 1"));
  o = {};
  o.target_accuracy = 1.5;
  REQUIRE_THROWS_WITH(EarlyStopping(o),
                      Catch::Contains("target_accuracy = 1.500000 must be in [0, 1]"));
  EarlyStopping stop;
  REQUIRE_THROWS_WITH(stop.update(1, std::nan("")),
                      "descend::nn::EarlyStopping::update: accuracy is NaN");
}
