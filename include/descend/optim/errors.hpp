// Exceptions thrown by descend and the checks that raise them.
#pragma once

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "descend/version.hpp"

namespace descend {

// A gradient whose shape differs from its parameter's, or a parameter whose
// shape or memory layout changed since its state was created. Derives from
// std::invalid_argument, which every other bad-input error is.
class ShapeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A gradient with a NaN or an infinity, met by a gradient transform that was
// told to throw on one (NonFiniteGuard, ClipGradNorm's error_if_nonfinite).
// Nothing was updated.
class NonFiniteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

// Code that runs only on the way to a throw: kept out of line, out of the
// hot functions' way and small in the user's object file.
#if defined(__GNUC__)
#define DESCEND_COLD __attribute__((noinline, cold))
#else
#define DESCEND_COLD
#endif

// Error messages are built from a few kinds of parts, each appended by one
// out-of-line function, so that a distinct message costs a few calls rather
// than a stream or an inlined formatter of its own.
DESCEND_COLD inline void append(std::string& out, const char* text) { out += text; }
DESCEND_COLD inline void append(std::string& out, const std::string& text) { out += text; }
DESCEND_COLD inline void append(std::string& out, double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", x);  // as a stream with precision 10
  out += buf;
}
DESCEND_COLD inline void append(std::string& out, long long x) { out += std::to_string(x); }
DESCEND_COLD inline void append(std::string& out, unsigned long long x) {
  out += std::to_string(x);
}
DESCEND_COLD inline void append(std::string& out, const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  out += buf;
}
template <class T, std::enable_if_t<std::is_integral<T>::value, int> = 0>
void append(std::string& out, T x) {
  if constexpr (std::is_signed<T>::value)
    append(out, static_cast<long long>(x));
  else
    append(out, static_cast<unsigned long long>(x));
}

template <class... Parts>
DESCEND_COLD std::string concat(const Parts&... parts) {
  std::string out;
  (append(out, parts), ...);
  return out;
}

template <class Scalar>
const char* scalar_name() {
  if (std::is_same<Scalar, float>::value) return "float";
  if (std::is_same<Scalar, double>::value) return "double";
  return "long double";
}

// Throws E with the message concat(parts...), out of line.
template <class E, class... Parts>
[[noreturn]] DESCEND_COLD void fail(const Parts&... parts) {
  throw E(concat(parts...));
}

// Every hyper-parameter check is written so that NaN fails it. None is on a
// hot path, so none is inlined into the constructors that call them.
struct Check {
  const char* who;  // e.g. "descend::Adam"

  DESCEND_COLD void at_least(const char* name, double value, double low) const {
    if (!(value >= low))
      fail<std::invalid_argument>(who, ": ", name, " = ", value, " must be >= ", low);
  }
  DESCEND_COLD void positive(const char* name, double value) const {
    if (!(value > 0) || std::isinf(value))
      throw std::invalid_argument(
          concat(who, ": ", name, " = ", value, " must be positive and finite"));
  }
  // low <= value <= high, or low <= value < high when high_open.
  DESCEND_COLD void in_range(const char* name, double value, double low, double high,
                             bool high_open) const {
    const bool ok = value >= low && (high_open ? value < high : value <= high);
    if (!ok)
      fail<std::invalid_argument>(who, ": ", name, " = ", value, " must be in [", low, ", ", high,
                                  high_open ? ")" : "]");
  }
  DESCEND_COLD void finite_non_negative(const char* name, double value) const {
    at_least(name, value, 0.0);
    if (std::isinf(value))
      fail<std::invalid_argument>(who, ": ", name, " = ", value, " must be finite");
  }
  // A finite value >= 0 that stays finite once rounded to Scalar (an lr of
  // 1e39 is a double but infinite as a float).
  template <class Scalar>
  DESCEND_COLD void representable(const char* name, double value) const {
    finite_non_negative(name, value);
    if (!std::isfinite(static_cast<Scalar>(value)))
      fail<std::invalid_argument>(who, ": ", name, " = ", value, " overflows ",
                                  scalar_name<Scalar>(), " (the optimizer's Scalar)");
  }
  // A positive finite value that stays positive and finite once rounded to
  // Scalar (an eps of 1e-50 is a double but 0 as a float, and would make a
  // zero gradient's step 0 / 0).
  template <class Scalar>
  DESCEND_COLD void positive_representable(const char* name, double value) const {
    positive(name, value);
    const Scalar rounded = static_cast<Scalar>(value);
    if (!(rounded > 0) || !std::isfinite(rounded))
      fail<std::invalid_argument>(who, ": ", name, " = ", value, " is ",
                                  rounded > 0 ? "infinite" : "zero", " as ", scalar_name<Scalar>(),
                                  " (the optimizer's Scalar)");
  }
  DESCEND_COLD void that(bool ok, const std::string& message) const {
    if (!ok) fail<std::invalid_argument>(who, ": ", message);
  }
  // No string is built unless the check fails (set_options() runs every check
  // at each step of a schedule that cycles momentum, and must not allocate).
  void that(bool ok, const char* message) const {
    if (!ok) fail<std::invalid_argument>(who, ": ", message);
  }
};

}  // namespace detail
}  // namespace descend
