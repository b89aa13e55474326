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
inline namespace DESCEND_ISA_NAMESPACE {  // (isa.hpp)

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
// The Vec of the packet half as wide as V's (V's own where there is none).
template <class V>
using Half = Vec<typename Eigen::internal::unpacket_traits<decltype(V::v)>::half>;

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
// Eigen's pmax and pmin: the same choice as Eigen's .max() and std::max (the
// first argument where either is NaN, and where they compare equal, as +0
// and -0).
template <class P>
P packet_max(const P& a, const P& b) {
  return Eigen::internal::pmax(a, b);
}
template <class P>
P packet_min(const P& a, const P& b) {
  return Eigen::internal::pmin(a, b);
}
#if defined(EIGEN_VECTORIZE_AVX512)
// Eigen's own, with a defined pass-through for GCC 12 (see sqrt.hpp).
inline Eigen::internal::Packet16f packet_max(const Eigen::internal::Packet16f& a,
                                             const Eigen::internal::Packet16f& b) {
  return _mm512_mask_max_ps(b, static_cast<__mmask16>(0xFFFF), b, a);
}
inline Eigen::internal::Packet8d packet_max(const Eigen::internal::Packet8d& a,
                                            const Eigen::internal::Packet8d& b) {
  return _mm512_mask_max_pd(b, static_cast<__mmask8>(0xFF), b, a);
}
inline Eigen::internal::Packet16f packet_min(const Eigen::internal::Packet16f& a,
                                             const Eigen::internal::Packet16f& b) {
  return _mm512_mask_min_ps(b, static_cast<__mmask16>(0xFFFF), b, a);
}
inline Eigen::internal::Packet8d packet_min(const Eigen::internal::Packet8d& a,
                                            const Eigen::internal::Packet8d& b) {
  return _mm512_mask_min_pd(b, static_cast<__mmask8>(0xFF), b, a);
}
#endif
template <class P>
Vec<P> max(Vec<P> a, Vec<P> b) {
  return {packet_max(a.v, b.v)};
}

// A Vec of the same type as V with every coefficient s.
template <class V>
V broadcast(typename V::Scalar s) {
  return splat<decltype(V::v)>(s);
}

// Comparisons give a mask (every bit set where true, clear where false) for
// select(); a NaN compares false, as in C++.
template <class P>
Vec<P> lt(Vec<P> a, Vec<P> b) {
  return {Eigen::internal::pcmp_lt(a.v, b.v)};
}
template <class P>
Vec<P> gt(Vec<P> a, Vec<P> b) {
  return {Eigen::internal::pcmp_lt(b.v, a.v)};
}
template <class P>
Vec<P> eq(Vec<P> a, Vec<P> b) {
  return {Eigen::internal::pcmp_eq(a.v, b.v)};
}
// mask ? a : b, coefficient by coefficient (mask from lt, gt or eq).
template <class P>
Vec<P> select(Vec<P> mask, Vec<P> a, Vec<P> b) {
  return {Eigen::internal::pselect(mask.v, a.v, b.v)};
}
template <class P>
Vec<P> abs(Vec<P> a) {
  return {Eigen::internal::pabs(a.v)};
}
template <class P>
Vec<P> min(Vec<P> a, Vec<P> b) {
  return {packet_min(a.v, b.v)};
}
// Eigen's pmax<PropagateNaN>, for maximum() below.
template <class P>
P packet_maximum(const P& a, const P& b) {
  return Eigen::internal::pmax<Eigen::PropagateNaN>(a, b);
}
#if defined(EIGEN_VECTORIZE_AVX512)
// Eigen's pminmax_propagate_nan over packet_max (see sqrt.hpp for why).
inline Eigen::internal::Packet16f packet_maximum(const Eigen::internal::Packet16f& a,
                                                 const Eigen::internal::Packet16f& b) {
  return Eigen::internal::pselect(Eigen::internal::pcmp_eq(a, a), packet_max(b, a), a);
}
inline Eigen::internal::Packet8d packet_maximum(const Eigen::internal::Packet8d& a,
                                                const Eigen::internal::Packet8d& b) {
  return Eigen::internal::pselect(Eigen::internal::pcmp_eq(a, a), packet_max(b, a), a);
}
#endif
// As torch.maximum: the larger, and NaN where either is NaN (where max()
// above, like std::max, can drop a NaN).
template <class P>
Vec<P> maximum(Vec<P> a, Vec<P> b) {
  return {packet_maximum(a.v, b.v)};
}
// s * sign(a), with sign as torch.sign (PyTorch 1.13, float and double): s
// where a > 0, -s where a < 0, and s * 0 for +0, -0 and NaN. Bit for bit the
// product for a finite s, without the multiply per packet (Lion's step).
template <class P>
Vec<P> times_sign(typename Vec<P>::Scalar s, Vec<P> a) {
  using S = typename Vec<P>::Scalar;
  const Vec<P> zero = splat<P>(S(0));
  return select(gt(a, zero), splat<P>(s), select(lt(a, zero), splat<P>(-s), splat<P>(s * S(0))));
}
// As torch.sign: 1 where a > 0, -1 where a < 0, and +0 for +0, -0 and NaN.
template <class P>
Vec<P> sign(Vec<P> a) {
  return times_sign(typename Vec<P>::Scalar(1), a);
}
// As torch.clamp(a, low, high) for low <= high: min(max(a, low), high), and
// NaN stays NaN (on x86 and in the scalar tail max and min return their
// first argument where either is NaN, so the bits are those of std::max then
// std::min): one instruction each, where two selects took four. NEON's
// vmax/vmin keep NaN too, but order -0 below +0.
template <class P>
Vec<P> clamp(Vec<P> a, typename Vec<P>::Scalar low, typename Vec<P>::Scalar high) {
  return min(max(a, splat<P>(low)), splat<P>(high));
}

}  // namespace DESCEND_ISA_NAMESPACE
}  // namespace detail
}  // namespace descend

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
