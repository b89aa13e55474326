// What real code does to registered objects: resizes, swaps, moves,
// reallocation, overlapping views, aliasing, copies, many parameters. Each
// case was written against the registration that preceded the current one
// and failed there (a throw that forget() could not clear, lost state, a
// heap-buffer-overflow, a double update, a quadratic add()).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <new>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "descend/descend.hpp"

using Catch::Contains;
using descend::Adam;
using descend::Sgd;
using descend::SgdOptions;

namespace {
SgdOptions plain_sgd(double lr) {
  SgdOptions o;
  o.lr = lr;
  return o;
}
}  // namespace

TEST_CASE("a resized registered Matrix throws until forget() on it, then starts afresh",
          "[registration]") {
  Adam<double> opt;
  Eigen::MatrixXd w = Eigen::MatrixXd::Ones(2, 3), g = Eigen::MatrixXd::Ones(2, 3);
  opt.add(w, g);
  opt.step();
  w.resize(4, 4);
  g.setOnes(4, 4);
  w.setZero();
  CHECK_THROWS_WITH(opt.step(),
                    Contains("registered parameter #0") && Contains("Call forget() on it"));
  CHECK(w.isZero(0));    // nothing was updated
  CHECK(opt.forget(w));  // found as the object, though its memory changed
  CHECK_FALSE(opt.has_state(w));
  opt.step();
  CHECK(opt.step_count(w) == 1);
  // Adam's first step is -lr * sign(g) (to 1e-8 relative: eps).
  CHECK(w(3, 3) == Approx(-1e-3).epsilon(1e-7));
  CHECK(opt.num_states() == 1);
}

TEST_CASE("swapped registered matrices keep their own moments and step counts", "[registration]") {
  Adam<double> opt;
  Eigen::VectorXd a = Eigen::VectorXd::Zero(3), b = Eigen::VectorXd::Zero(3);
  Eigen::VectorXd ga = Eigen::VectorXd::Constant(3, 1.0), gb = Eigen::VectorXd::Constant(3, -2.0);
  opt.add(a, ga);
  opt.step();
  opt.step();  // a: step 2
  opt.add(b, gb);
  opt.step();  // a: 3, b: 1
  const Eigen::ArrayXd m_a = opt.state(a, "exp_avg"), m_b = opt.state(b, "exp_avg");
  std::swap(a, b);  // swaps buffers: a now holds b's old memory
  ga.setZero();
  gb.setZero();
  opt.step();
  CHECK(opt.step_count(a) == 4);
  CHECK(opt.step_count(b) == 2);
  // With g = 0, m = 0.9 m: each object's own history, not the buffer's.
  CHECK((opt.state(a, "exp_avg") - 0.9 * m_a).abs().maxCoeff() < 1e-15);
  CHECK((opt.state(b, "exp_avg") - 0.9 * m_b).abs().maxCoeff() < 1e-15);
  CHECK(opt.num_states() == 2);
}

TEST_CASE("a registered Matrix that takes over another registration's memory is an error",
          "[registration]") {
  Sgd<double> opt(plain_sgd(0.1));
  Eigen::MatrixXd a = Eigen::MatrixXd::Ones(3, 3), ga = Eigen::MatrixXd::Ones(3, 3);
  Eigen::MatrixXd b = Eigen::MatrixXd::Ones(3, 3);
  Eigen::VectorXd gm = Eigen::VectorXd::Ones(9);
  opt.add(a, ga);
  opt.add(Eigen::Map<Eigen::VectorXd>(b.data(), 9), gm);  // a view of b's buffer
  opt.step();
  a = std::move(b);  // a now owns the buffer the Map views
  const Eigen::MatrixXd a_before = a;
  CHECK_THROWS_WITH(opt.step(), Contains("registered parameter #1") &&
                                    Contains("shares memory with registered parameter #0"));
  CHECK(a == a_before);
}

TEST_CASE("Maps of std::vector elements survive the vector's reallocation", "[registration]") {
  // A registered Matrix is read where it was (descend cannot see a vector
  // move its elements); a Map views the element's heap buffer, which moves
  // with it. Reserving the vector first works as well.
  Sgd<double> opt(plain_sgd(0.5));
  std::vector<Eigen::VectorXd> w(1, Eigen::VectorXd::Zero(4));
  Eigen::VectorXd g = Eigen::VectorXd::Ones(4);
  opt.add(Eigen::Map<Eigen::VectorXd>(w[0].data(), 4), g);
  const double* buffer = w[0].data();
  for (int i = 0; i < 100; ++i) w.emplace_back(8);  // reallocates several times
  REQUIRE(w[0].data() == buffer);
  opt.step();
  CHECK(w[0](3) == -0.5);
}

TEST_CASE("registered parameters and gradients may not overlap", "[registration]") {
  Sgd<double> opt;
  Eigen::MatrixXd w = Eigen::MatrixXd::Ones(4, 4), g = Eigen::MatrixXd::Ones(4, 4);
  Eigen::MatrixXd corner_grad = Eigen::MatrixXd::Ones(2, 2);
  opt.add(w, g);
  CHECK_THROWS_WITH(opt.add(w.topLeftCorner(2, 2), corner_grad),
                    Contains("registered parameter #1") && Contains("its parameter") &&
                        Contains("shares memory with registered parameter #0"));
  Eigen::MatrixXd v = Eigen::MatrixXd::Ones(4, 4);
  CHECK_THROWS_WITH(opt.add(v, g), Contains("its gradient") && Contains("registered parameter #0"));
  CHECK_THROWS_WITH(opt.add(g.col(1), v.col(1)), Contains("its parameter"));
  CHECK(opt.num_registered() == 1);
  opt.step();  // the refused ones left nothing behind
  CHECK(w(0, 0) == Approx(1 - 1e-3));
  CHECK(corner_grad(0, 0) == 1);
}

TEST_CASE("interleaved strided views that share no coefficient may both be registered",
          "[registration]") {
  // Columns of a row-major matrix: their spans overlap, their coefficients don't.
  Sgd<double> opt(plain_sgd(1));
  Eigen::Matrix<double, 3, 3, Eigen::RowMajor> w = Eigen::Matrix3d::Zero();
  Eigen::Matrix<double, 3, 3, Eigen::RowMajor> g = Eigen::Matrix3d::Ones();
  opt.add(w.col(0), g.col(0));
  opt.add(w.col(2), g.col(2));
  CHECK_THROWS_WITH(opt.add(w.row(1), g.row(1)), Contains("shares memory"));
  opt.step();
  CHECK(w.col(0).isConstant(-1));
  CHECK(w.col(1).isZero(0));
  CHECK(w.col(2).isConstant(-1));
}

TEST_CASE("a gradient that is its own parameter is refused by add() and update()",
          "[registration][aliasing]") {
  Sgd<double> opt;
  Eigen::VectorXd w = Eigen::VectorXd::Ones(5);
  CHECK_THROWS_WITH(opt.add(w, w), Contains("shares memory with its parameter"));
  CHECK(opt.num_registered() == 0);
  CHECK_THROWS_WITH(opt.update(w, w), Contains("shares memory with its parameter"));
  CHECK(w.isOnes(0));
  CHECK_FALSE(opt.has_state(w));
}

TEST_CASE("a gradient overlapping its parameter by one coefficient is refused", "[aliasing]") {
  // Before: 252 of 1000 SGD coefficients differed from the copied gradient.
  Sgd<double> opt(plain_sgd(0.1));
  Eigen::VectorXd memory = Eigen::VectorXd::LinSpaced(1001, 0, 1);
  Eigen::Map<Eigen::VectorXd> w(memory.data() + 1, 1000), g(memory.data(), 1000);
  const Eigen::VectorXd before = memory;
  CHECK_THROWS_WITH(opt.update(w, g), Contains("shares memory with its parameter"));
  CHECK(memory == before);
  opt.update(w, Eigen::VectorXd(g));  // copied first: fine
  CHECK(w(999) == Approx(1 - 0.1 * before(999)));
}

TEST_CASE("a gradient that is the parameter's own state is refused", "[aliasing]") {
  descend::Adadelta<double> opt;
  Eigen::VectorXd w = Eigen::VectorXd::Ones(4);
  opt.update(w, Eigen::VectorXd::Constant(4, 0.5));
  const Eigen::VectorXd before = w;
  const auto square_avg = opt.state(w, "square_avg");
  CHECK_THROWS_WITH(opt.update(w, square_avg), Contains("own optimizer state"));
  CHECK(w == before);
  CHECK(opt.step_count(w) == 1);
}

TEST_CASE("update() on a registered parameter is an error naming the registration",
          "[registration]") {
  Adam<float> opt;
  Eigen::VectorXf a = Eigen::VectorXf::Ones(3), ga = a, b = a, gb = a;
  opt.add(a, ga);
  opt.add(b, gb);
  opt.step();
  const Eigen::VectorXf before = b;
  CHECK_THROWS_WITH(opt.update(b, gb),
                    Contains("is registered (#1)") && Contains("count its step twice"));
  CHECK(b == before);
  CHECK(opt.step_count(b) == 1);
}

TEST_CASE("optimizers cannot be copied, only moved", "[registration]") {
  STATIC_REQUIRE_FALSE(std::is_copy_constructible<Adam<float>>::value);
  STATIC_REQUIRE_FALSE(std::is_copy_assignable<Sgd<double>>::value);
  STATIC_REQUIRE(std::is_move_constructible<Adam<float>>::value);
  // A moved optimizer keeps its registrations and state.
  Sgd<double> a(plain_sgd(1));
  Eigen::VectorXd w = Eigen::VectorXd::Zero(2), g = Eigen::VectorXd::Ones(2);
  a.add(w, g);
  a.step();
  Sgd<double> b = std::move(a);
  b.step();
  CHECK(w(0) == -2);
  CHECK(b.step_count(w) == 2);
}

TEST_CASE("a hundred thousand parameters register and step", "[registration]") {
  // add() finds its neighbours in an ordered index (O(log n)); the linear
  // scan it replaced took 5.5 s for 16 000 parameters (see bench for times).
  const int n = 100000;
  std::vector<Eigen::VectorXf> w(n, Eigen::VectorXf::Zero(2)), g(n, Eigen::VectorXf::Ones(2));
  Sgd<float> opt(plain_sgd(0.5));
  for (int i = 0; i < n; ++i) opt.add(w[i], g[i]);
  CHECK(opt.num_registered() == static_cast<std::size_t>(n));
  opt.step();
  CHECK(w[n - 1](1) == -0.5f);
  CHECK(w[0](0) == -0.5f);
  opt.zero_grad();
  CHECK(g[n / 2].isZero(0));
}

TEST_CASE("a parameter registered twice is refused, by object or by memory", "[registration]") {
  Sgd<double> opt;
  Eigen::VectorXd w = Eigen::VectorXd::Ones(3), g = w, g2 = w;
  opt.add(w, g);
  CHECK_THROWS_WITH(opt.add(w, g2), Contains("already registered (#0)"));
  CHECK_THROWS_WITH(opt.add(Eigen::Map<Eigen::VectorXd>(w.data(), 3), g2),
                    Contains("shares memory with registered parameter #0"));
  CHECK(opt.num_registered() == 1);
}

TEST_CASE("update() of a registered parameter is refused before its first step too",
          "[registration]") {
  Sgd<double> opt(plain_sgd(1));
  Eigen::VectorXd w = Eigen::VectorXd::Zero(3), g = Eigen::VectorXd::Ones(3);
  opt.add(w, g);
  CHECK_THROWS_WITH(opt.update(w, g), Contains("is registered"));
  CHECK_THROWS_WITH(opt.update(w.head(2), g.head(2)),
                    Contains("shares memory with registered parameter (#0)"));
  CHECK(w.isZero(0));
  // State update() made before add() becomes the registration's own.
  Eigen::VectorXd v = Eigen::VectorXd::Zero(3), gv = Eigen::VectorXd::Ones(3);
  opt.update(v, gv);
  opt.add(v, gv);
  CHECK_THROWS_WITH(opt.update(v, gv), Contains("is registered (#1)"));
  opt.step();
  CHECK(opt.step_count(v) == 2);
  CHECK(opt.step_count(w) == 1);
}

TEST_CASE("remove() unregisters a pair, drops its state and renumbers the later ones",
          "[registration]") {
  Adam<double> opt;
  Eigen::MatrixXd a = Eigen::MatrixXd::Ones(2, 2), b = a, c = a;
  Eigen::MatrixXd g = Eigen::MatrixXd::Ones(2, 2), gb = g, gc = g;
  Eigen::VectorXd m = Eigen::VectorXd::Ones(3), gm = m;
  opt.add(a, g);
  opt.add(b, gb);
  opt.add(Eigen::Map<Eigen::VectorXd>(m.data(), 3), gm);
  opt.add(c, gc);
  opt.step();
  REQUIRE(opt.num_states() == 4);
  CHECK(opt.remove(b));
  CHECK_FALSE(opt.remove(b));
  CHECK_FALSE(opt.has_state(b));
  CHECK(opt.num_registered() == 3);
  CHECK(opt.num_states() == 3);
  // A registered view is removed through a view of the same memory.
  CHECK_FALSE(opt.remove(m.head(2)));
  CHECK(opt.remove(m));
  CHECK(opt.num_registered() == 2);
  // b and m are free: update() may drive them, add() may take them again.
  opt.update(b, gb);
  CHECK(opt.step_count(b) == 1);
  opt.add(m, gm);
  opt.step();
  CHECK(opt.step_count(a) == 2);
  CHECK(opt.step_count(c) == 2);
  CHECK(opt.step_count(m) == 1);
  // c is #1 now.
  c.resize(3, 3);
  CHECK_THROWS_WITH(opt.step(), Contains("registered parameter #1"));
}

TEST_CASE("after a move made registrations overlap, remove() lets training go on",
          "[registration]") {
  Sgd<double> opt(plain_sgd(0.1));
  Eigen::MatrixXd a = Eigen::MatrixXd::Ones(3, 3), ga = Eigen::MatrixXd::Ones(3, 3);
  Eigen::MatrixXd b = Eigen::MatrixXd::Ones(3, 3);
  Eigen::VectorXd gm = Eigen::VectorXd::Ones(9);
  Eigen::Map<Eigen::VectorXd> view(b.data(), 9);
  opt.add(a, ga);
  opt.add(view, gm);
  opt.step();
  a = std::move(b);
  CHECK_THROWS(opt.step());
  CHECK(opt.remove(view));
  opt.step();
  CHECK(a(0, 0) == Approx(0.9 - 0.1));
}

TEST_CASE("add() sees registered matrices where they are now, after a swap", "[registration]") {
  Sgd<double> opt(plain_sgd(0.1));
  Eigen::MatrixXd a = Eigen::MatrixXd::Ones(2, 2), ga = Eigen::MatrixXd::Ones(2, 2);
  Eigen::MatrixXd spare = Eigen::MatrixXd::Zero(2, 2), gs = Eigen::MatrixXd::Ones(2, 2);
  opt.add(a, ga);
  opt.step();
  std::swap(a, spare);  // a's old buffer is spare's now, and no longer registered
  opt.add(Eigen::Map<Eigen::MatrixXd>(spare.data(), 2, 2), gs);
  CHECK_THROWS_WITH(opt.update(spare.col(0), gs.col(0)),  // registered, by the Map
                    Contains("shares memory with registered parameter (#1)"));
  opt.step();
  CHECK(opt.step_count(a) == 2);
}

TEST_CASE("memory a registered Matrix moved onto since the last step() is refused by step()",
          "[registration]") {
  // add() keeps its cost constant by not reading every registered object:
  // it can accept memory a registered Matrix moved onto since the last
  // step(). step() sees it and throws; remove() resolves it.
  Sgd<double> opt(plain_sgd(0.1));
  Eigen::MatrixXd a = Eigen::MatrixXd::Ones(2, 2), ga = Eigen::MatrixXd::Ones(2, 2);
  Eigen::MatrixXd other = Eigen::MatrixXd::Zero(2, 2), g = Eigen::MatrixXd::Ones(2, 2);
  opt.add(a, ga);
  opt.step();
  Eigen::Map<Eigen::MatrixXd> there(other.data(), 2, 2);
  std::swap(a, other);  // a now owns the memory `there` views
  opt.add(there, g);
  CHECK_THROWS_WITH(opt.step(), Contains("now shares memory with registered parameter #0"));
  CHECK(opt.remove(there));
  opt.step();
  CHECK(opt.step_count(a) == 2);
}

TEST_CASE("a registered Matrix that moves back onto memory added meanwhile is refused by step()",
          "[registration]") {
  Sgd<double> opt(plain_sgd(0.1));
  Eigen::MatrixXd a = Eigen::MatrixXd::Ones(2, 2), ga = Eigen::MatrixXd::Ones(2, 2);
  Eigen::MatrixXd c = Eigen::MatrixXd::Zero(2, 2), g = Eigen::MatrixXd::Ones(2, 2);
  opt.add(a, ga);
  opt.step();
  std::swap(a, c);
  Eigen::Map<Eigen::MatrixXd> old_a(c.data(), 2, 2);  // a's memory at the last step()
  opt.add(old_a, g);                                  // free now, so accepted
  std::swap(a, c);  // a is back where the last step() saw it, under the Map
  CHECK_THROWS_WITH(opt.step(), Contains("now shares memory with registered parameter #0"));
  CHECK(a(0, 0) == 0.9);
}

TEST_CASE("a pair added on memory a registered Matrix left steps with state of its own",
          "[registration]") {
  // The moved registration's state is still keyed at its old memory until
  // step() moves it; the new pair's first step must neither check against
  // that state's shape nor take it.
  Adam<double> opt;
  Eigen::MatrixXd a = Eigen::MatrixXd::Ones(2, 3), ga = Eigen::MatrixXd::Ones(2, 3);
  Eigen::MatrixXd spare = Eigen::MatrixXd::Zero(2, 3), g = Eigen::MatrixXd::Ones(3, 2);
  opt.add(a, ga);
  opt.step();
  std::swap(a, spare);  // spare now holds a's old buffer
  Eigen::Map<Eigen::MatrixXd> there(spare.data(), 3, 2);
  opt.add(there, g);
  opt.step();
  opt.step();
  CHECK(opt.step_count(a) == 3);
  CHECK(opt.step_count(there) == 2);
  CHECK(opt.num_states() == 2);
}

TEST_CASE("update() of memory a registered Matrix left waits for the next step()",
          "[registration]") {
  Sgd<double> opt(plain_sgd(0.1));
  Eigen::MatrixXd a = Eigen::MatrixXd::Ones(2, 2), ga = Eigen::MatrixXd::Ones(2, 2);
  Eigen::MatrixXd spare = Eigen::MatrixXd::Zero(2, 2), g = Eigen::MatrixXd::Ones(2, 2);
  opt.add(a, ga);
  opt.step();
  std::swap(a, spare);
  CHECK_THROWS_WITH(opt.update(spare, g), Contains("was registered parameter #0's memory") &&
                                              Contains("call step() before update()"));
  CHECK(spare == Eigen::MatrixXd::Constant(2, 2, 0.9));  // untouched
  opt.step();                                            // a's state moves with a
  opt.update(spare, g);
  CHECK(opt.step_count(spare) == 1);
  CHECK(opt.step_count(a) == 2);
}

TEST_CASE("the address index agrees with std::unordered_map through inserts and erases",
          "[registration]") {
  // Keys crowded into few home cells (addresses 8 bytes apart hash apart,
  // but a table of 16 cells wraps), so that the backward-shift erase meets
  // runs that cross the end of the table.
  std::vector<char> memory(4096);
  descend::detail::AddressMap map;
  std::unordered_map<const void*, std::size_t> oracle;
  std::mt19937 rng(7);
  for (int round = 0; round < 20000; ++round) {
    const void* key = &memory[8 * std::uniform_int_distribution<int>(0, 63)(rng)];
    if (oracle.count(key) != 0) {
      CHECK(map.erase(key));
      oracle.erase(key);
    } else {
      map.insert(key, static_cast<std::size_t>(round));
      oracle.emplace(key, static_cast<std::size_t>(round));
    }
    REQUIRE(map.size() == oracle.size());
    if (round % 97 == 0) {
      for (int k = 0; k < 64; ++k) {
        const void* probe = &memory[8 * k];
        const auto it = oracle.find(probe);
        const std::size_t* found = map.find(probe);
        REQUIRE((found != nullptr) == (it != oracle.end()));
        if (found) REQUIRE(*found == it->second);
      }
    }
  }
  CHECK_FALSE(map.erase(memory.data() + 1));
  CHECK(map.find(nullptr) == nullptr);
}

TEST_CASE("the address index inserts within reserve() without moving its cells", "[registration]") {
  // What lets step() re-key moved state without allocating.
  std::vector<int> memory(100);
  descend::detail::AddressMap map;
  map.reserve(100);
  map.insert(&memory[0], 0);
  const std::size_t* first = map.find(&memory[0]);
  for (int i = 1; i < 100; ++i) map.insert(&memory[static_cast<std::size_t>(i)], 1);
  CHECK(map.find(&memory[0]) == first);  // the same table: nothing was reallocated
  descend::detail::AddressMap moved(std::move(map));
  CHECK(moved.size() == 100);
  CHECK(map.empty());                      // NOLINT(bugprone-use-after-move): defined empty
  CHECK(map.find(&memory[0]) == nullptr);  // NOLINT(bugprone-use-after-move)
}

TEST_CASE("the registrations' vector agrees with std::vector through growth, erases and copies",
          "[registration]") {
  struct Item {  // trivially copyable, wider than a word, as Registration is
    long a;
    double b;
    const void* c;
  };
  descend::detail::PodVector<Item> v;
  std::vector<Item> oracle;
  std::mt19937 rng(11);
  int own_when_full = 0;
  const auto same = [&] {
    REQUIRE(v.size() == oracle.size());
    REQUIRE(std::equal(v.begin(), v.end(), oracle.begin(), [](const Item& x, const Item& y) {
      return x.a == y.a && x.b == y.b && x.c == y.c;
    }));
  };
  for (long round = 0; round < 3000; ++round) {
    const int what = std::uniform_int_distribution<int>(0, 9)(rng);
    if (what < 5 || oracle.empty()) {
      const Item x{round, 0.5 * static_cast<double>(round), &oracle};
      v.push_back(x);
      oracle.push_back(x);
    } else if (what == 5) {
      // An element of its own, pushed while v is full (up to a thousand):
      // growing moves it first.
      while (v.capacity() < 1000 && v.size() < v.capacity()) {
        v.push_back(Item{-round, 0, nullptr});
        oracle.push_back(Item{-round, 0, nullptr});
      }
      const std::size_t k = std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng);
      own_when_full += v.size() == v.capacity() ? 1 : 0;
      v.push_back(v[k]);
      oracle.push_back(oracle[k]);
    } else if (what == 6) {
      const std::size_t k = std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng);
      CHECK(v.erase(v.begin() + k) == v.begin() + k);
      oracle.erase(oracle.begin() + static_cast<std::ptrdiff_t>(k));
    } else if (what == 7) {
      const std::size_t n = oracle.size() + std::uniform_int_distribution<std::size_t>(0, 3)(rng);
      v.resize(n);  // new elements value-initialized, as std::vector's
      oracle.resize(n);
    } else if (what == 8) {
      v.pop_back();
      oracle.pop_back();
    } else {
      descend::detail::PodVector<Item> copy(v);
      v = std::move(copy);
    }
    same();
  }
  CHECK(own_when_full >= 3);
  const descend::detail::PodVector<Item> copy(v);
  v.clear();
  CHECK(v.empty());
  CHECK(copy.size() == oracle.size());
  v = copy;
  same();
}

TEST_CASE("the registrations' vector grows within reserve() without moving", "[registration]") {
  // What lets step() fill its work items without allocating.
  descend::detail::PodVector<int> v;
  v.reserve(100);
  v.push_back(1);
  const int* first = v.data();
  for (int i = 1; i < 50; ++i) v.push_back(i);
  v.resize(100);  // as step() sizes its work items
  CHECK(v.data() == first);
  CHECK(v.capacity() == 100);
  CHECK(v[49] == 49);
  CHECK(v[99] == 0);
  descend::detail::PodVector<int> moved(std::move(v));
  CHECK(moved.data() == first);
  CHECK(v.empty());  // NOLINT(bugprone-use-after-move): defined empty
  descend::detail::PodVector<int> none;
  none.resize(0);
  CHECK(none.data() == nullptr);
  CHECK(none.erase(none.begin(), none.end()) == none.end());
}

TEST_CASE("state buffers start at zero, aligned for AVX-512, and move as their owner",
          "[registration]") {
  descend::detail::StateBuffer b(3 * 1000, sizeof(double));
  const double* data = b.as<double>();
  REQUIRE(data != nullptr);
  CHECK(reinterpret_cast<std::uintptr_t>(data) % 64 == 0);
  CHECK(b.bytes() == 3 * 1000 * sizeof(double));
  CHECK(std::all_of(data, data + 3000, [](double x) { return x == 0; }));
  descend::detail::StateBuffer moved(std::move(b));
  CHECK(moved.as<double>() == data);
  CHECK(b.as<double>() == nullptr);  // NOLINT(bugprone-use-after-move): defined empty
  CHECK(b.bytes() == 0);             // NOLINT(bugprone-use-after-move)
  descend::detail::StateBuffer other(1, 8);
  other = std::move(moved);
  CHECK(other.as<double>() == data);
  CHECK(descend::detail::StateBuffer(0, sizeof(float)).as<float>() == nullptr);
  // A size that wraps is refused before anything is allocated.
  const std::size_t huge = std::numeric_limits<std::size_t>::max() / 4 + 1;
  CHECK_THROWS_AS(descend::detail::StateBuffer(huge, sizeof(float)), std::bad_alloc);
  CHECK_THROWS_AS(descend::detail::checked_bytes(huge, 4), std::bad_alloc);
  CHECK(descend::detail::checked_bytes(huge - 1, 4) == 4 * (huge - 1));
}

TEST_CASE("the overlap index agrees with a map of each byte's owner through inserts and erases",
          "[registration]") {
  // Contiguous views (kept sorted by address) and strided ones (in a list),
  // of floats and doubles, in one buffer: overlapping() must find a view
  // that shares a byte with the new one whenever there is one. The oracle
  // knows nothing of spans or strides' algebra: it marks every byte of every
  // coefficient with its owner. The pairwise check, share_coefficients, must
  // agree with it too (a double and a float four bytes into it share memory
  // though their addresses differ).
  using descend::detail::Cells;
  using descend::detail::ViewSet;
  alignas(8) static char memory[4096];
  std::mt19937 rng(23);
  const auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const auto random_view = [&] {
    Cells c;
    c.width = pick(0, 1) == 0 ? 4 : 8;
    c.rows = pick(0, 4);
    c.cols = pick(1, 4);
    if (pick(0, 2) == 0) {  // strided: column-major, every other row, columns apart
      c.row_stride = 2;
      c.col_stride = 2 * c.rows + pick(0, 2);
    } else {  // contiguous, column- or row-major
      const bool col_major = pick(0, 1) == 0;
      c.row_stride = col_major ? 1 : c.cols;
      c.col_stride = col_major ? c.rows : 1;
    }
    c.data = memory;
    const descend::detail::Span s = descend::detail::span_of(c);
    // Four-byte steps for doubles too: a double may straddle two floats.
    c.data = memory + 4 * pick(0, static_cast<int>((4000 - (s.hi - s.lo)) / 4));
    return c;
  };
  // Calls f(byte offset in memory) for every byte of every coefficient of v.
  const auto for_each_byte = [&](const Cells& v, auto&& f) {
    for (Eigen::Index j = 0; j < v.cols; ++j)
      for (Eigen::Index i = 0; i < v.rows; ++i)
        for (Eigen::Index b = 0; b < v.width; ++b)
          f(v.data - memory + (i * v.row_stride + j * v.col_stride) * v.width + b);
  };
  constexpr std::size_t kFree = descend::detail::kNone;
  std::vector<std::size_t> owner(sizeof(memory), kFree);  // each byte's id
  ViewSet set;
  std::vector<std::pair<Cells, std::size_t>> oracle;  // id = registration number
  const auto own = [&](const Cells& v, std::size_t id) {
    for_each_byte(v, [&](std::ptrdiff_t b) { owner[static_cast<std::size_t>(b)] = id; });
  };
  std::size_t next_id = 0;
  int inserted = 0, refused = 0, mixed = 0;
  for (int round = 0; round < 4000; ++round) {
    const int what = pick(0, 9);
    if (what < 6 || oracle.empty()) {
      const Cells v = random_view();
      std::vector<std::size_t> meets;  // the owners of v's bytes
      for_each_byte(v, [&](std::ptrdiff_t b) {
        const std::size_t id = owner[static_cast<std::size_t>(b)];
        if (id != kFree && std::find(meets.begin(), meets.end(), id) == meets.end())
          meets.push_back(id);
      });
      for (const auto& e : oracle) {
        const bool shares = std::find(meets.begin(), meets.end(), e.second) != meets.end();
        REQUIRE(descend::detail::share_coefficients_outlined(v, e.first) == shares);
        // Floats and doubles met where the exact check runs (one is strided).
        const bool strided =
            !descend::detail::is_contiguous(v) || !descend::detail::is_contiguous(e.first);
        if (shares && strided && e.first.width != v.width) ++mixed;
      }
      const std::size_t got = set.overlapping(v);
      if (v.size() == 0 || meets.empty()) {
        REQUIRE(got == descend::detail::kNone);
        if (v.size() != 0) {
          set.insert(v, next_id);
          own(v, next_id);
          oracle.emplace_back(v, next_id++);
          ++inserted;
        }
      } else {
        REQUIRE(std::find(meets.begin(), meets.end(), got) != meets.end());
        ++refused;
      }
    } else if (what < 9) {  // erase one view, as inserted
      const std::size_t k = std::uniform_int_distribution<std::size_t>(0, oracle.size() - 1)(rng);
      set.erase(oracle[k].first);
      own(oracle[k].first, kFree);
      oracle.erase(oracle.begin() + static_cast<std::ptrdiff_t>(k));
    } else {  // remove an id; later ids move down by one, as registrations do
      const std::size_t id =
          oracle[std::uniform_int_distribution<std::size_t>(0, oracle.size() - 1)(rng)].second;
      set.remove_id(id);
      for (std::size_t& o : owner) o = o == id ? kFree : o != kFree && o > id ? o - 1 : o;
      oracle.erase(
          std::remove_if(oracle.begin(), oracle.end(),
                         [id](const std::pair<Cells, std::size_t>& e) { return e.second == id; }),
          oracle.end());
      for (auto& e : oracle) e.second -= e.second > id ? 1 : 0;
      next_id -= 1;
    }
    if (round % 50 == 0) {  // every view still there is found, under its id
      for (const auto& e : oracle) REQUIRE(set.overlapping(e.first) == e.second);
    }
  }
  CHECK(inserted > 100);
  CHECK(refused > 100);
  CHECK(mixed > 10);
  set.clear();
  for (const auto& e : oracle) CHECK(set.overlapping(e.first) == descend::detail::kNone);
}

TEST_CASE("strided views share memory when their coefficients overlap by some bytes",
          "[registration]") {
  // Every other double of a buffer, and every other float four bytes in: no
  // two coefficients start at the same address, but each float lies in the
  // second half of a double.
  alignas(8) static char memory[128];
  using descend::detail::Cells;
  const Cells doubles{memory, 4, 1, 2, 8, 8};
  const Cells floats{memory + 4, 4, 1, 4, 16, 4};
  const Cells apart{memory + 8, 4, 1, 4, 16, 4};  // the floats in the skipped doubles
  CHECK(descend::detail::share_coefficients_outlined(doubles, floats));
  CHECK(descend::detail::share_coefficients_outlined(floats, doubles));
  CHECK_FALSE(descend::detail::share_coefficients_outlined(doubles, apart));
  CHECK_FALSE(descend::detail::share_coefficients_outlined(apart, floats));
  // The same doubles walked backwards (a negative stride), and doubles four
  // bytes off, over [12, 20) and [28, 36): into two of the doubles, only
  // touching the floats and the floats apart.
  const Cells backwards{memory + 48, 4, 1, -2, 8, 8};
  const Cells straddling{memory + 12, 2, 1, 2, 16, 8};
  CHECK(descend::detail::share_coefficients_outlined(backwards, floats));
  CHECK_FALSE(descend::detail::share_coefficients_outlined(backwards, apart));
  CHECK(descend::detail::share_coefficients_outlined(straddling, doubles));
  CHECK(descend::detail::share_coefficients_outlined(backwards, straddling));
  CHECK_FALSE(descend::detail::share_coefficients_outlined(straddling, floats));
  CHECK_FALSE(descend::detail::share_coefficients_outlined(apart, straddling));
}

TEST_CASE("the registrations' names agree with std::vector<std::string>", "[registration]") {
  descend::detail::NameList names;
  std::vector<std::string> oracle;
  std::mt19937 rng(5);
  const char* const words[] = {"", "w", "bias", "layer1.weight", "", "a much longer name than SSO"};
  for (int round = 0; round < 2000; ++round) {
    const int what = std::uniform_int_distribution<int>(0, 3)(rng);
    if (what < 2 || oracle.empty()) {
      // Unnamed ("") most often, as registrations are.
      const std::string name = std::string(words[std::uniform_int_distribution<int>(0, 5)(rng)]) +
                               (round % 7 == 0 ? std::to_string(round) : std::string());
      names.reserve_for(name, oracle.size() + 1);
      names.push_back(name);
      oracle.push_back(name);
    } else if (what == 2) {
      const std::size_t k = std::uniform_int_distribution<std::size_t>(0, oracle.size() - 1)(rng);
      names.erase(k);
      oracle.erase(oracle.begin() + static_cast<std::ptrdiff_t>(k));
    } else {
      const std::string probe =
          oracle[std::uniform_int_distribution<std::size_t>(0, oracle.size() - 1)(rng)];
      const std::size_t at = names.find(probe);
      REQUIRE(at < oracle.size());
      CHECK(oracle[at] == probe);
      CHECK(std::find(oracle.begin(), oracle.end(), probe) - oracle.begin() ==
            static_cast<std::ptrdiff_t>(at));  // the first one
    }
    REQUIRE(names.size() == oracle.size());
    for (std::size_t i = 0; i < oracle.size(); i += 1 + oracle.size() / 8)
      REQUIRE(names[i] == oracle[i]);
  }
  CHECK(names.find("not there") == names.size());
  const descend::detail::NameList copy = names;
  for (std::size_t i = 0; i < oracle.size(); ++i) CHECK(copy[i] == oracle[i]);
}

TEST_CASE("buffer names list PyTorch's names in order, and at most four", "[registration]") {
  using descend::detail::BufferNames;
  const BufferNames adam{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  CHECK(adam.size() == 3);
  CHECK(adam.find("exp_avg_sq") == 1);
  CHECK(adam.find("exp_av") == 3);
  CHECK(adam.strings() == std::vector<std::string>{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"});
  CHECK(adam.joined() == "exp_avg, exp_avg_sq, max_exp_avg_sq");
  CHECK(BufferNames().joined() == "none");
  CHECK(BufferNames().strings().empty());
  BufferNames four{"a", "b", "c", "d"};
  CHECK_THROWS_AS(four.push_back("e"), std::length_error);
  CHECK(four.size() == 4);
}
