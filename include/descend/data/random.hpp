// A small seeded random source whose numbers are fully specified by the
// seed: std::mt19937_64 bits turned into doubles by explicit formulas (the
// std:: distributions are implementation-defined), so a seed gives the same
// data bit for bit on one machine and across standard libraries.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

namespace descend {
namespace data {

class Random {
 public:
  explicit Random(std::uint64_t seed) : bits_(seed) {}

  // Uniform on [0, 1), 53 random bits.
  double uniform() { return static_cast<double>(bits_() >> 11) * 0x1.0p-53; }

  // Standard normal, Box-Muller (the cosine branch only).
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]: log(u1) is finite
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  std::mt19937_64 bits_;
};

}  // namespace data
}  // namespace descend
