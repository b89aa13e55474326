// Exceptions thrown by descend and the checks that raise them.
#pragma once

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

#include "descend/version.hpp"

namespace descend {

// A gradient whose shape differs from its parameter's, or a parameter whose
// shape or memory layout changed since its state was created. Derives from
// std::invalid_argument, which every other bad-input error is.
class ShapeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

namespace detail {

template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  out.precision(10);
  (out << ... << parts);
  return out.str();
}

// Every hyper-parameter check is written so that NaN fails it.
struct Check {
  const char* who;  // e.g. "descend::Adam"

  void at_least(const char* name, double value, double low) const {
    if (!(value >= low))
      throw std::invalid_argument(concat(who, ": ", name, " = ", value, " must be >= ", low));
  }
  void positive(const char* name, double value) const {
    if (!(value > 0) || std::isinf(value))
      throw std::invalid_argument(
          concat(who, ": ", name, " = ", value, " must be positive and finite"));
  }
  // low <= value <= high, or low <= value < high when high_open.
  void in_range(const char* name, double value, double low, double high, bool high_open) const {
    const bool ok = value >= low && (high_open ? value < high : value <= high);
    if (!ok)
      throw std::invalid_argument(concat(who, ": ", name, " = ", value, " must be in [", low, ", ",
                                         high, high_open ? ")" : "]"));
  }
  void finite_non_negative(const char* name, double value) const {
    at_least(name, value, 0.0);
    if (std::isinf(value))
      throw std::invalid_argument(concat(who, ": ", name, " = ", value, " must be finite"));
  }
  void that(bool ok, const std::string& message) const {
    if (!ok) throw std::invalid_argument(concat(who, ": ", message));
  }
};

}  // namespace detail
}  // namespace descend
