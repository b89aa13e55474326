// Run-time instruction-set dispatch (descend/optim/detail/isa.hpp), as the
// precompiled library does it: the level DESCEND_ISA asks for is the one
// used, a bad request is an exception naming it, and every level the CPU
// has gives the baseline's bits for every optimizer and option.
#include "catch.hpp"
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "helpers.hpp"

namespace {

using descend::Isa;

// Sets a level for the duration of a scope, as the first optimizer of a
// process would have chosen it.
class LevelScope {
 public:
  explicit LevelScope(int level) : saved_(descend::detail::dispatch_level.load()) {
    descend::detail::dispatch_level.store(level);
  }
  ~LevelScope() { descend::detail::dispatch_level.store(saved_); }
  LevelScope(const LevelScope&) = delete;
  LevelScope& operator=(const LevelScope&) = delete;

 private:
  int saved_;
};

// DESCEND_ISA set (or unset) for the duration of a scope.
class EnvScope {
 public:
  explicit EnvScope(const char* value) {
    const char* old = std::getenv("DESCEND_ISA");
    had_ = old != nullptr;
    if (had_) old_ = old;
    if (value)
      setenv("DESCEND_ISA", value, 1);
    else
      unsetenv("DESCEND_ISA");
  }
  ~EnvScope() {
    if (had_)
      setenv("DESCEND_ISA", old_.c_str(), 1);
    else
      unsetenv("DESCEND_ISA");
  }
  EnvScope(const EnvScope&) = delete;
  EnvScope& operator=(const EnvScope&) = delete;

 private:
  bool had_ = false;
  std::string old_;
};

// Six steps on a contiguous parameter of an odd size (packets and a tail at
// every width) and on one with every other coefficient (gathered in chunks),
// with gradients that vary in sign and size; returns both parameters' final
// coefficients.
template <class Scalar>
std::vector<Scalar> run_at(int level, const testing::Maker<Scalar>& make) {
  LevelScope scope(level);
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  constexpr Eigen::Index kSize = 1000 + 13;
  std::mt19937 rng(7);
  std::normal_distribution<double> normal;
  Vector contiguous(kSize), strided_memory(2 * kSize), g(kSize);
  for (Eigen::Index i = 0; i < kSize; ++i) contiguous[i] = static_cast<Scalar>(normal(rng));
  for (Eigen::Index i = 0; i < 2 * kSize; ++i)
    strided_memory[i] = static_cast<Scalar>(normal(rng));
  Eigen::Map<Vector, 0, Eigen::InnerStride<2>> strided(strided_memory.data(), kSize);
  auto opt = make();
  for (int step = 0; step < 6; ++step) {
    for (Eigen::Index i = 0; i < kSize; ++i)
      g[i] = static_cast<Scalar>(normal(rng) * (i % 7 == 0 ? 1e-3 : 1.0));
    opt->update(contiguous, g);
    opt->update(strided, g);
  }
  std::vector<Scalar> out(contiguous.data(), contiguous.data() + kSize);
  out.insert(out.end(), strided_memory.data(), strided_memory.data() + 2 * kSize);
  return out;
}

template <class Scalar>
bool same_bits(const std::vector<Scalar>& a, const std::vector<Scalar>& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(Scalar)) == 0;
}

}  // namespace

TEST_CASE("the dispatched level is DESCEND_ISA's, else the widest the CPU has", "[isa]") {
  const Isa cpu = descend::supported_isa();
  const char* env = std::getenv("DESCEND_ISA");
  const std::string asked = env ? env : "";
  INFO("supported: " << descend::isa_name(cpu) << ", DESCEND_ISA=" << asked);
  if (asked.empty())
    CHECK(descend::dispatch_isa() == cpu);
  else
    CHECK(descend::isa_name(descend::dispatch_isa()) == asked);
}

TEST_CASE("a DESCEND_ISA descend does not know, or the CPU lacks, is refused by name",
          "[isa][errors]") {
  LevelScope unset(-1);
  {
    EnvScope env("avx9");
    CHECK_THROWS_WITH(descend::Adam<float>(),
                      Catch::Contains("descend::Adam: DESCEND_ISA=avx9 is not an instruction set") &&
                          Catch::Contains("baseline, avx2 or avx512"));
    CHECK(descend::detail::dispatch_level.load() == -1);  // nothing chosen
  }
  {
    EnvScope env("");  // empty: as unset
    descend::Sgd<double> sgd;
    CHECK(descend::dispatch_isa() == descend::supported_isa());
  }
  if (descend::supported_isa() != Isa::avx512) {
    descend::detail::dispatch_level.store(-1);
    EnvScope env("avx512");
    CHECK_THROWS_WITH(descend::Sgd<float>(),
                      Catch::Contains("DESCEND_ISA=avx512 asks for more than this CPU has"));
  }
  descend::detail::dispatch_level.store(-1);
  EnvScope env("baseline");
  CHECK(descend::dispatch_isa() == Isa::baseline);
}

TEMPLATE_TEST_CASE("every level this CPU has gives the baseline's bits, for every kernel", "[isa]",
                   float, double) {
  const int widest = static_cast<int>(descend::supported_isa());
  for (const auto& [name, make] : testing::every_kernel<TestType>()) {
    INFO(name);
    const std::vector<TestType> baseline = run_at<TestType>(0, make);
    for (int level = 1; level <= widest; ++level) {
      INFO("level " << descend::isa_name(static_cast<Isa>(level)));
      CHECK(same_bits(run_at<TestType>(level, make), baseline));
    }
  }
}
