// descend::Arena (descend/optim/arena.hpp): many parameters in one block,
// updated as one, with the bits separate updates give.
#include "catch.hpp"
#include <cstdint>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "descend/training.hpp"
#include "helpers.hpp"

namespace {

using Shape = descend::ArenaShape;

const std::vector<Shape> kShapes = {{3, 5}, {1, 1}, {17, 1}, {0, 4}, {4, 16}, {2, 33}};

template <class Scalar>
void check_same_bits_as_separate(const testing::Maker<Scalar>& make) {
  descend::Arena<Scalar> arena(kShapes);
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  std::vector<Matrix> params, grads;
  std::mt19937 rng(3);
  std::normal_distribution<double> normal;
  for (std::size_t i = 0; i < arena.size(); ++i) {
    auto w = arena.param(i);
    for (Eigen::Index k = 0; k < w.size(); ++k) w.data()[k] = static_cast<Scalar>(normal(rng));
    params.push_back(w);
    grads.push_back(Matrix::Zero(w.rows(), w.cols()));
  }
  auto whole = make();
  auto separate = make();
  whole->add(arena.params(), arena.grads());
  for (std::size_t i = 0; i < arena.size(); ++i) separate->add(params[i], grads[i]);
  for (int step = 0; step < 7; ++step) {
    for (std::size_t i = 0; i < arena.size(); ++i) {
      auto g = arena.grad(i);
      for (Eigen::Index k = 0; k < g.size(); ++k)
        g.data()[k] = static_cast<Scalar>(normal(rng) * (k % 5 == 0 ? 0.0 : 1.0));
      grads[i] = g;
    }
    whole->step();
    separate->step();
  }
  for (std::size_t i = 0; i < arena.size(); ++i) {
    INFO("part " << i);
    const Matrix after = arena.param(i);
    REQUIRE(after.size() == params[i].size());
    // (memcmp of an empty part would pass it null pointers: undefined.)
    if (after.size() > 0)
      CHECK(std::memcmp(after.data(), params[i].data(), sizeof(Scalar) * after.size()) == 0);
  }
  // The padding between parts stayed zero.
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> mask = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>::Ones(
      arena.params().size());
  for (std::size_t i = 0; i < arena.size(); ++i) {
    const Scalar* start = arena.param(i).data();
    std::fill(mask.data() + (start - arena.params().data()),
              mask.data() + (start - arena.params().data()) + arena.param(i).size(), Scalar(0));
  }
  CHECK((arena.params().array() * mask.array()).abs().maxCoeff() == 0);
}

}  // namespace

TEST_CASE("an arena lays its parts out aligned, in order, at zero", "[arena]") {
  descend::Arena<float> arena(kShapes);
  REQUIRE(arena.size() == kShapes.size());
  const float* base = arena.params().data();
  std::ptrdiff_t end = 0;
  for (std::size_t i = 0; i < arena.size(); ++i) {
    INFO("part " << i);
    auto w = arena.param(i);
    auto g = arena.grad(i);
    CHECK(w.rows() == kShapes[i].rows);
    CHECK(w.cols() == kShapes[i].cols);
    CHECK(arena.shape(i).rows == kShapes[i].rows);
    const std::ptrdiff_t offset = w.data() - base;
    CHECK(offset % 16 == 0);  // 64 bytes of floats
    CHECK(offset >= end);     // in order, not overlapping
    CHECK(g.data() - arena.grads().data() == offset);
    CHECK(reinterpret_cast<std::uintptr_t>(w.data()) % EIGEN_MAX_ALIGN_BYTES == 0);
    end = offset + w.size();
  }
  CHECK(arena.params().size() >= end);
  CHECK(arena.params().size() - end < 16);
  CHECK(arena.params().isZero(0));
  CHECK(arena.grads().isZero(0));
}

TEST_CASE("an arena's maps stay valid when it moves, in a vector that reallocates too",
          "[arena]") {
  std::vector<descend::Arena<double>> arenas;
  arenas.emplace_back(std::vector<Shape>{{2, 2}, {3, 1}});
  auto w = arenas[0].param(1);
  w.setConstant(4.0);
  for (int i = 0; i < 20; ++i) arenas.emplace_back(std::vector<Shape>{{1, 1}});
  CHECK(arenas[0].param(1).data() == w.data());
  CHECK(arenas[0].param(1)(2, 0) == 4.0);
  descend::Arena<double> moved = std::move(arenas[0]);
  CHECK(moved.param(1).data() == w.data());
  w(0, 0) = 5.0;
  CHECK(moved.params()[w.data() - moved.params().data()] == 5.0);
}

TEST_CASE("an arena refuses bad shapes and indices by name", "[arena][errors]") {
  using descend::Arena;
  CHECK_THROWS_WITH((Arena<float>({{2, 2}, {-1, 3}})),
                    Catch::Contains("part 1 is -1 x 3: extents must be >= 0"));
  const Eigen::Index big = Eigen::Index(1) << 62;
  CHECK_THROWS_WITH((Arena<float>({{big, 8}})),
                    Catch::Contains("more coefficients than an index holds"));
  CHECK_THROWS_WITH((Arena<float>({{big, 1}, {big, 1}})), Catch::Contains("takes the arena past"));
  Arena<float> arena({{2, 2}});
  CHECK_THROWS_AS(arena.param(1), std::out_of_range);
  CHECK_THROWS_WITH(arena.grad(3), Catch::Contains("part 3 of an arena of 1"));
  const Eigen::VectorXf other(5);
  CHECK_THROWS_WITH(arena.part_of(other, 0),
                    Catch::Contains("a vector of 5 coefficients is not laid out as this arena's 16"));
}

TEST_CASE("zero_grad zeroes every gradient, and state reads back per part", "[arena]") {
  descend::Arena<float> arena({{2, 3}, {4, 1}});
  arena.grads().setConstant(1.f);
  arena.zero_grad();
  CHECK(arena.grads().isZero(0));
  descend::Sgd<float> sgd(descend::SgdOptions{0.1, 0.9});
  sgd.add(arena.params(), arena.grads());
  arena.grad(1).setConstant(2.f);
  sgd.step();
  const Eigen::VectorXf buffer = sgd.state(arena.params(), "momentum_buffer");
  CHECK(arena.part_of(buffer, 1).isApproxToConstant(2.f));
  CHECK(arena.part_of(buffer, 0).isZero(0));
  CHECK(arena.param(1).isApproxToConstant(-0.2f));
}

TEMPLATE_TEST_CASE("one update of an arena gives the bits of separate updates", "[arena]", float,
                   double) {
  for (const auto& [name, make] : testing::every_kernel<TestType>()) {
    INFO(name);
    check_same_bits_as_separate<TestType>(make);
  }
}
