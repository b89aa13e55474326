// Exceptions thrown by descend and the checks that raise them.
#pragma once

#include <cmath>
#include <cstdio>
#include <initializer_list>
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

// Error messages are built from a few kinds of parts (text, numbers,
// addresses), each a MessagePart, by one out-of-line function for all
// messages: a distinct message costs its call site an array of parts, not a
// formatter of its own (one per message, as variadic templates would make).
struct MessagePart {
  enum Kind : unsigned char { kText, kString, kReal, kSigned, kUnsigned, kAddress };
  Kind kind;
  union {
    const char* text;
    const std::string* string;
    double real;
    long long signed_value;
    unsigned long long unsigned_value;
    const void* address;
  };
  MessagePart(const char* t) : kind(kText), text(t) {}              // NOLINT: implicit
  MessagePart(const std::string& s) : kind(kString), string(&s) {}  // NOLINT
  MessagePart(const void* p) : kind(kAddress), address(p) {}        // NOLINT
  template <class T, std::enable_if_t<std::is_arithmetic<T>::value, int> = 0>
  MessagePart(T x) {  // NOLINT
    if constexpr (std::is_floating_point<T>::value) {
      kind = kReal;
      real = static_cast<double>(x);
    } else if constexpr (std::is_signed<T>::value) {
      kind = kSigned;
      signed_value = static_cast<long long>(x);
    } else {
      kind = kUnsigned;
      unsigned_value = static_cast<unsigned long long>(x);
    }
  }
};

DESCEND_COLD inline std::string concat_parts(std::initializer_list<MessagePart> parts) {
  std::string out;
  char buf[32];
  for (const MessagePart& part : parts) {
    switch (part.kind) {
      case MessagePart::kText:
        out += part.text;
        continue;
      case MessagePart::kString:
        out += *part.string;
        continue;
      case MessagePart::kReal:  // as a stream with precision 10
        std::snprintf(buf, sizeof buf, "%.10g", part.real);
        break;
      case MessagePart::kSigned:  // as std::to_string
        std::snprintf(buf, sizeof buf, "%lld", part.signed_value);
        break;
      case MessagePart::kUnsigned:
        std::snprintf(buf, sizeof buf, "%llu", part.unsigned_value);
        break;
      case MessagePart::kAddress:
        std::snprintf(buf, sizeof buf, "%p", part.address);
        break;
    }
    out += buf;
  }
  return out;
}

#if defined(__GNUC__)
#define DESCEND_INLINE_PARTS inline __attribute__((always_inline))
#else
#define DESCEND_INLINE_PARTS inline
#endif

template <class... Parts>
DESCEND_INLINE_PARTS std::string concat(const Parts&... parts) {
  return concat_parts({MessagePart(parts)...});
}

// Throws E with the message concat_parts(parts), out of line: one function
// per exception type.
template <class E>
[[noreturn]] DESCEND_COLD void throw_message(std::initializer_list<MessagePart> parts) {
  throw E(concat_parts(parts));
}

template <class Scalar>
const char* scalar_name() {
  if (std::is_same<Scalar, float>::value) return "float";
  if (std::is_same<Scalar, double>::value) return "double";
  return "long double";
}

// Throws E with the message concat(parts...); the call site only lays out
// the parts.
template <class E, class... Parts>
[[noreturn]] DESCEND_INLINE_PARTS void fail(const Parts&... parts) {
  throw_message<E>({MessagePart(parts)...});
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
