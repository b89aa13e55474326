// descend/data/samples.hpp and minibatch.hpp: the seeded shuffle, the
// training/validation split, and minibatches gathered in a shuffled order.
#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <set>
#include <stdexcept>
#include <vector>

#include "catch.hpp"
#include "descend/data/minibatch.hpp"
#include "descend/nn/dense.hpp"

using descend::data::Minibatches;
using descend::data::Random;
using descend::data::Samples;
using Index = Eigen::Index;

namespace {

// n samples of 3 features: row i is (i, 10 i, 100 i), label i mod 7.
template <class Scalar>
Samples<Scalar> numbered(Index n) {
  Samples<Scalar> s{typename Samples<Scalar>::Inputs(n, 3), Eigen::VectorXi(n)};
  for (Index i = 0; i < n; ++i) {
    s.inputs.row(i) << Scalar(i), Scalar(10 * i), Scalar(100 * i);
    s.labels(i) = static_cast<int>(i % 7);
  }
  return s;
}

std::vector<Index> iota(Index n) {
  std::vector<Index> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), Index{0});
  return v;
}

}  // namespace

TEST_CASE("shuffle is the documented Fisher-Yates of the seed's uniforms", "[data][minibatch]") {
  // By hand from the header's formula: i = 4, 3, 2, 1 swap with min(i, floor(u (i + 1))).
  Random draws(11);
  std::vector<Index> expected = iota(5);
  for (std::size_t i = 4; i >= 1; --i)
    std::swap(expected[i], expected[std::min<std::size_t>(
                               i, static_cast<std::size_t>(draws.uniform() * double(i + 1)))]);
  Random random(11);
  std::vector<Index> order = iota(5);
  descend::data::shuffle(order, random);
  CHECK(order == expected);
  CHECK(order != iota(5));
}

TEST_CASE("shuffle draws every order of three about equally often", "[data][minibatch]") {
  Random random(3);
  std::map<std::vector<Index>, int> seen;
  for (int k = 0; k < 6000; ++k) {
    std::vector<Index> order = iota(3);
    descend::data::shuffle(order, random);
    ++seen[order];
  }
  REQUIRE(seen.size() == 6);
  // 1000 expected each; the binomial sd is 29, so 150 is 5 sd.
  for (const auto& [order, count] : seen) CHECK(std::abs(count - 1000) < 150);
}

TEST_CASE("split draws the validation set at random and keeps both in row order",
          "[data][minibatch]") {
  const auto all = numbered<double>(50);
  Random random(4);
  const auto [train, valid] = descend::data::split(all, 12, random);
  REQUIRE(train.size() == 38);
  REQUIRE(valid.size() == 12);
  std::vector<Index> rows;
  for (const auto* part : {&train, &valid}) {
    for (Index k = 0; k < part->size(); ++k) {
      const auto row = static_cast<Index>(part->inputs(k, 0));
      CHECK(part->inputs.row(k) == all.inputs.row(row));
      CHECK(part->labels(k) == all.labels(row));
      if (k > 0) CHECK(row > static_cast<Index>(part->inputs(k - 1, 0)));  // row order
      rows.push_back(row);
    }
  }
  std::sort(rows.begin(), rows.end());
  CHECK(rows == iota(50));  // every sample once
  // Not simply the last rows, and the same seed gives the same split.
  CHECK(valid.inputs(0, 0) < 38);
  Random again(4);
  CHECK(descend::data::split(all, 12, again).second.inputs == valid.inputs);
  // No validation at all is a split too.
  CHECK(descend::data::split(all, 0, again).first.inputs == all.inputs);
}

TEST_CASE("split rejects a validation set that leaves no training sample", "[data][minibatch]") {
  const auto all = numbered<float>(10);
  Random random(1);
  REQUIRE_THROWS_MATCHES(
      descend::data::split(all, 10, random), std::invalid_argument,
      Catch::Message("descend::data::split: validation = 10 must be in [0, 10) for 10 samples"));
  REQUIRE_THROWS_WITH(descend::data::split(all, -1, random),
                      Catch::Contains("validation = -1 must be in [0, 10)"));
  auto bad = all;
  bad.labels.resize(9);
  REQUIRE_THROWS_WITH(descend::data::split(bad, 2, random),
                      "descend::data::split: 9 labels for 10 samples");
}

TEMPLATE_TEST_CASE("an epoch of minibatches gathers every sample once in the shuffled order",
                   "[data][minibatch]", float, double) {
  const auto all = numbered<TestType>(23);
  Minibatches<TestType> batches(all, 5);
  REQUIRE(batches.size() == 5);  // 5 + 5 + 5 + 5 + 3
  Random random(9);
  std::vector<Index> previous;
  for (int epoch = 0; epoch < 3; ++epoch) {
    batches.shuffle(random);
    CHECK(batches.order() != previous);
    previous = batches.order();
    std::vector<Index> rows;
    for (Index b = 0; b < batches.size(); ++b) {
      batches.load(b);
      const Index n = b + 1 < batches.size() ? 5 : 3;
      REQUIRE(batches.inputs().rows() == n);
      REQUIRE(batches.inputs().cols() == 3);
      REQUIRE(batches.labels().size() == n);
      for (Index k = 0; k < n; ++k) {
        const Index row = batches.order()[static_cast<std::size_t>(b * 5 + k)];
        CHECK(batches.inputs().row(k) == all.inputs.row(row));
        CHECK(batches.labels()(k) == all.labels(row));
        rows.push_back(row);
      }
    }
    std::sort(rows.begin(), rows.end());
    CHECK(rows == iota(23));
  }
}

TEMPLATE_TEST_CASE("the blocked gather equals a row-by-row gather for odd shapes",
                   "[data][minibatch]", float, double) {
  // load() copies blocks of 64 bytes' worth of rows (16 floats, 8 doubles)
  // column by column; the shapes leave partial blocks and a partial last
  // batch. The expected batch is gathered row by row here.
  for (const Index cols : {Index{1}, Index{37}, Index{130}}) {
    for (const Index batch : {Index{1}, Index{7}, Index{16}, Index{37}}) {
      Random random(static_cast<std::uint64_t>(cols * 100 + batch));
      Samples<TestType> all{typename Samples<TestType>::Inputs(101, cols), Eigen::VectorXi(101)};
      for (Index i = 0; i < all.size(); ++i) {
        for (Index j = 0; j < cols; ++j) all.inputs(i, j) = TestType(random.normal());
        all.labels(i) = static_cast<int>(random.uniform() * 10);
      }
      Minibatches<TestType> batches(all, batch);
      batches.shuffle(random);
      Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic> expected;
      Eigen::VectorXi labels;
      for (Index b = 0; b < batches.size(); ++b) {
        const Index n = std::min(batch, all.size() - b * batch);
        expected.resize(n, cols);
        labels.resize(n);
        for (Index k = 0; k < n; ++k) {
          const Index row = batches.order()[static_cast<std::size_t>(b * batch + k)];
          expected.row(k) = all.inputs.row(row);
          labels(k) = all.labels(row);
        }
        batches.load(b);
        CAPTURE(cols, batch, b);
        REQUIRE(batches.inputs().rows() == n);
        REQUIRE(batches.inputs().cols() == cols);
        CHECK((batches.inputs().array() == expected.array()).all());  // bit for bit
        CHECK(batches.labels() == labels);
      }
    }
  }
}

TEST_CASE("minibatches repeat with the seed, and start in the samples' order",
          "[data][minibatch]") {
  const auto all = numbered<double>(40);
  Minibatches<double> a(all, 8), b(all, 8);
  CHECK(a.order() == iota(40));
  a.load(1);
  CHECK(a.inputs()(0, 0) == 8);
  Random ra(5), rb(5), rc(6);
  a.shuffle(ra);
  b.shuffle(rb);
  CHECK(a.order() == b.order());
  b.shuffle(rc);
  CHECK(a.order() != b.order());
}

TEST_CASE("drop_last leaves out the smaller last batch", "[data][minibatch]") {
  const auto all = numbered<double>(23);
  CHECK(Minibatches<double>(all, 5, true).size() == 4);
  CHECK(Minibatches<double>(all, 23, true).size() == 1);
  CHECK(Minibatches<double>(all, 100).size() == 1);
  REQUIRE_THROWS_MATCHES(Minibatches<double>(all, 24, true), std::invalid_argument,
                         Catch::Message("descend::data::Minibatches: batch_size = 24 with "
                                        "drop_last leaves no batch of 23 samples"));
}

TEST_CASE("Minibatches rejects bad sizes and batches", "[data][minibatch]") {
  const auto all = numbered<double>(10);
  REQUIRE_THROWS_MATCHES(Minibatches<double>(all, 0), std::invalid_argument,
                         Catch::Message("descend::data::Minibatches: batch_size = 0 must be >= 1"));
  Minibatches<double> batches(all, 4);
  REQUIRE_THROWS_MATCHES(
      batches.load(3), std::invalid_argument,
      Catch::Message("descend::data::Minibatches::load: batch 3 is not in [0, 3)"));
  REQUIRE_THROWS_WITH(batches.load(-1), Catch::Contains("batch -1 is not in [0, 3)"));
  const Samples<double> empty;
  REQUIRE_THROWS_WITH(Minibatches<double>(empty, 4), "descend::data::Minibatches: no samples");
}

TEST_CASE("consecutive samples evaluate as a view, without a copy", "[data][minibatch][nn]") {
  // predict() on a block of the row-major samples gives what it gives on the
  // gathered batch of the same rows.
  const auto all = numbered<double>(30);
  Random random(2);
  const descend::nn::Dense<double> dense(3, 4, random, descend::nn::Init::torch_default);
  Minibatches<double> batches(all, 10);
  batches.load(1);
  Eigen::MatrixXd from_view(10, 4), from_copy(10, 4);
  dense.predict(all.inputs.middleRows(10, 10), from_view);
  dense.predict(batches.inputs(), from_copy);
  CHECK(from_view.isApprox(from_copy, 1e-14));
}
