// Vec<P>: one register of coefficients, P an Eigen packet type (Packet4f,
// Packet8d, ...) or the scalar itself, with the arithmetic of an update
// written as ordinary expressions. A kernel is written once, as a template on
// its Vec type, and runs on full packets and then on single coefficients for
// the tail, so every coefficient sees the same operations in the same order.
//
// Writing kernels on packets rather than as Eigen array statements keeps a
// whole update in registers (one load and one store per array and element,
// however many equations), and instantiates two small functions per optimizer
// instead of an expression tree per statement, chunk size and option.
#pragma once

#include <Eigen/Core>

#include "descend/optim/detail/sqrt.hpp"

// Eigen's x86 packet types are the intrinsic vector types, whose alignment
// attributes GCC reports as ignored when they are template arguments (Eigen
// silences the same warning in its own headers).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif

namespace descend {
namespace detail {

template <class P>
struct Vec {
  using Scalar = typename Eigen::internal::unpacket_traits<P>::type;
  static constexpr int kSize = Eigen::internal::unpacket_traits<P>::size;

  P v;

  static Vec load(const Scalar* p) { return {Eigen::internal::ploadu<P>(p)}; }
  void store(Scalar* p) const { Eigen::internal::pstoreu(p, v); }
};

// The Vec of the widest packet Eigen uses for Scalar with this compiler's flags.
template <class Scalar>
using Wide = Vec<typename Eigen::internal::packet_traits<Scalar>::type>;

template <class P>
Vec<P> splat(typename Vec<P>::Scalar s) {
  return {Eigen::internal::pset1<P>(s)};
}

template <class P>
Vec<P> operator+(Vec<P> a, Vec<P> b) {
  return {Eigen::internal::padd(a.v, b.v)};
}
template <class P>
Vec<P> operator-(Vec<P> a, Vec<P> b) {
  return {Eigen::internal::psub(a.v, b.v)};
}
template <class P>
Vec<P> operator*(Vec<P> a, Vec<P> b) {
  return {Eigen::internal::pmul(a.v, b.v)};
}
template <class P>
Vec<P> operator/(Vec<P> a, Vec<P> b) {
  return {Eigen::internal::pdiv(a.v, b.v)};
}

// A scalar on either side is broadcast (the compiler hoists the broadcast out
// of the loop).
template <class P>
Vec<P> operator+(Vec<P> a, typename Vec<P>::Scalar b) {
  return a + splat<P>(b);
}
template <class P>
Vec<P> operator+(typename Vec<P>::Scalar a, Vec<P> b) {
  return splat<P>(a) + b;
}
template <class P>
Vec<P> operator-(Vec<P> a, typename Vec<P>::Scalar b) {
  return a - splat<P>(b);
}
template <class P>
Vec<P> operator*(typename Vec<P>::Scalar a, Vec<P> b) {
  return splat<P>(a) * b;
}
template <class P>
Vec<P> operator*(Vec<P> a, typename Vec<P>::Scalar b) {
  return a * splat<P>(b);
}

// Correctly rounded, as std::sqrt (see sqrt.hpp).
template <class P>
Vec<P> sqrt(Vec<P> a) {
  return {ieee_psqrt(a.v)};
}
// Eigen's pmax: the same choice as Eigen's .max() and std::max on NaN.
template <class P>
Vec<P> max(Vec<P> a, Vec<P> b) {
  return {Eigen::internal::pmax(a.v, b.v)};
}

}  // namespace detail
}  // namespace descend

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
