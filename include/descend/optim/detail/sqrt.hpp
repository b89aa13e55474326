// A vectorised square root that is the IEEE one (correctly rounded), as
// std::sqrt and PyTorch's optimizers compute it.
//
// Eigen's own .sqrt() is not, by default: with EIGEN_FAST_MATH = 1 (Eigen's
// default) its float packets on SSE, AVX and AVX-512, and its double packets
// on AVX-512, compute an rsqrt estimate refined by Newton steps. That loses up
// to two bits, flushes denormal inputs to zero and turns +inf into NaN. The
// optimizers' results would then depend on the instruction set they were
// compiled for. The hardware square-root instructions used here are exact and
// fast enough: an update is limited by memory, not by them.
#pragma once

#include <Eigen/Core>
#include <cmath>

#include "descend/optim/detail/isa.hpp"

namespace descend {
namespace detail {
inline namespace DESCEND_ISA_NAMESPACE {  // (isa.hpp)

// Packets Eigen's psqrt may approximate, mapped to the exact instruction.
// (Eigen's packet types on x86 are the intrinsic vector types themselves.)
#if defined(EIGEN_VECTORIZE_SSE2)
inline Eigen::internal::Packet4f ieee_psqrt(const Eigen::internal::Packet4f& x) {
  return _mm_sqrt_ps(x);
}
inline Eigen::internal::Packet2d ieee_psqrt(const Eigen::internal::Packet2d& x) {
  return _mm_sqrt_pd(x);
}
#endif
#if defined(EIGEN_VECTORIZE_AVX)
inline Eigen::internal::Packet8f ieee_psqrt(const Eigen::internal::Packet8f& x) {
  return _mm256_sqrt_ps(x);
}
inline Eigen::internal::Packet4d ieee_psqrt(const Eigen::internal::Packet4d& x) {
  return _mm256_sqrt_pd(x);
}
#endif
#if defined(EIGEN_VECTORIZE_AVX512)
// GCC 12.1-12.2's unmasked AVX-512 intrinsics pass an undefined vector to the
// masked builtin behind them, which -Wmaybe-uninitialized can then report
// where they are inlined (GCC bug 105593, fixed in 12.3 and 13). With the
// argument itself as the pass-through under a full mask the instruction is
// the same and nothing is undefined, so the optimizers' kernels compile
// without a warning at -Wall -Werror -march=native (simd.hpp's max, min and
// maximum do the same; tools/check_native_warnings.sh checks it).
inline Eigen::internal::Packet16f ieee_psqrt(const Eigen::internal::Packet16f& x) {
  return _mm512_mask_sqrt_ps(x, static_cast<__mmask16>(0xFFFF), x);
}
inline Eigen::internal::Packet8d ieee_psqrt(const Eigen::internal::Packet8d& x) {
  return _mm512_mask_sqrt_pd(x, static_cast<__mmask8>(0xFF), x);
}
#endif
// Elsewhere descend takes Eigen's psqrt as it is: the exact instruction on
// AArch64 NEON; other targets are not checked here (test_sqrt would tell).
template <class Packet>
Packet ieee_psqrt(const Packet& x) {
  return Eigen::internal::psqrt(x);
}

template <class Scalar>
struct IeeeSqrtOp {
  Scalar operator()(const Scalar& x) const { return std::sqrt(x); }
  template <class Packet>
  Packet packetOp(const Packet& x) const {
    return ieee_psqrt(x);
  }
};

// sqrt(x) of an Eigen array expression, vectorised and correctly rounded.
template <class Derived>
auto sqrt(const Eigen::ArrayBase<Derived>& x) {
  return x.unaryExpr(IeeeSqrtOp<typename Derived::Scalar>());
}

}  // namespace DESCEND_ISA_NAMESPACE
}  // namespace detail
}  // namespace descend

namespace Eigen {
namespace internal {
template <class Scalar>
struct functor_traits<descend::detail::IeeeSqrtOp<Scalar>> {
  enum {
    Cost = functor_traits<scalar_sqrt_op<Scalar>>::Cost,
    PacketAccess = packet_traits<Scalar>::HasSqrt
  };
};
}  // namespace internal
}  // namespace Eigen
