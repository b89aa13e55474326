// descend's vectorised square root must be the IEEE one: Eigen's .sqrt() on
// float packets is an rsqrt estimate plus a Newton step under its default
// EIGEN_FAST_MATH, which is off by up to two bits, flushes denormals to zero
// and maps +inf to NaN.
#include "catch.hpp"
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "descend/optim/adam.hpp"
#include "descend/optim/detail/sqrt.hpp"

namespace {

template <class Scalar>
bool same_bits(Scalar a, Scalar b) {
  return std::memcmp(&a, &b, sizeof(Scalar)) == 0;
}

// Values that probe every part of the range: random significands at every
// exponent, denormals, zeros, the smallest normal and its neighbours, the
// largest finite value and infinity.
template <class Scalar>
std::vector<Scalar> probe_values() {
  using L = std::numeric_limits<Scalar>;
  std::vector<Scalar> v = {Scalar(0),
                           Scalar(-0.0),
                           L::denorm_min(),
                           L::min() / 2,
                           L::min(),
                           std::nextafter(L::min(), Scalar(0)),
                           std::nextafter(L::min(), Scalar(1)),
                           L::max(),
                           L::infinity(),
                           Scalar(1),
                           Scalar(2),
                           Scalar(0.25)};
  std::mt19937 rng(7);
  std::uniform_real_distribution<Scalar> significand(1, 2);
  for (int e = L::min_exponent - L::digits; e < L::max_exponent; ++e)
    for (int k = 0; k < 3; ++k) v.push_back(std::ldexp(significand(rng), e - 1));
  while (v.size() % 64 != 0) v.push_back(significand(rng));
  return v;
}

}  // namespace

TEMPLATE_TEST_CASE("detail::sqrt is the correctly rounded square root, vectorised", "[sqrt]", float,
                   double) {
  const std::vector<TestType> values = probe_values<TestType>();
  // Fixed 64-element blocks are evaluated in packets, as the kernels' chunks are.
  using Block = Eigen::Array<TestType, 64, 1>;
  for (std::size_t i0 = 0; i0 < values.size(); i0 += 64) {
    const Block x = Eigen::Map<const Block>(values.data() + i0);
    const Block r = descend::detail::sqrt(x);
    for (int k = 0; k < 64; ++k) {
      INFO("sqrt(" << x(k) << ") = " << r(k) << ", std::sqrt gives " << std::sqrt(x(k)));
      CHECK(same_bits(r(k), std::sqrt(x(k))));
    }
  }
  // Dynamic size, with a tail that is not a whole packet.
  const auto n = static_cast<Eigen::Index>(values.size()) - 3;
  const Eigen::Array<TestType, Eigen::Dynamic, 1> r = descend::detail::sqrt(
      Eigen::Map<const Eigen::Array<TestType, Eigen::Dynamic, 1>>(values.data(), n));
  int mismatches = 0;
  for (Eigen::Index k = 0; k < n; ++k) mismatches += !same_bits(r(k), std::sqrt(values[k]));
  CHECK(mismatches == 0);
}

TEST_CASE("Adam<float> with a gradient whose square overflows leaves the weight as PyTorch does",
          "[sqrt][adam]") {
  // g = 1e30: g^2 overflows, so v = inf and denom = sqrt(inf) + eps = inf;
  // the step m^ / denom = 1e30 / inf = 0 and w stays 1. An approximate
  // square root that maps inf to NaN would make w NaN.
  Eigen::ArrayXf w = Eigen::ArrayXf::Ones(64);
  descend::Adam<float> adam;
  adam.update(w, Eigen::ArrayXf::Constant(64, 1e30f));
  CHECK((w == 1.0f).all());
}
