// The library's kernels for one wider instruction set (see
// descend/optim/detail/isa.hpp): src/isa_avx2.cpp and src/isa_avx512.cpp
// define DESCEND_ISA_TU and include this, each compiled with that set's
// flags and -ffp-contract=off. Each kernel of every optimizer in
// src/precompiled.cpp is instantiated here, plain and with a scaled gradient
// (view.hpp's ScaledGradient); a kernel missing from the list is an
// undefined symbol when anything links descend::precompiled.
#pragma once

#if !defined(DESCEND_ISA_TU)
#error "src/isa_kernels.hpp is included by src/isa_avx2.cpp and src/isa_avx512.cpp only"
#endif

#include "descend/descend.hpp"

namespace descend {
namespace detail {
inline namespace DESCEND_ISA_TU {  // (the inline namespace of isa.hpp)

// flatten: every call inside, to Eigen's packet and scalar functions too, is
// inlined, so that no function compiled for this instruction set is left out
// of line under a name the rest of the program shares (with this file
// always at -O2; ctest isa.symbols checks the object).
template <class Scalar, class Kernel>
__attribute__((flatten)) void run_out_of_line(const Kernel& kernel, Scalar* w, const Scalar* g,
                                              Scalar* s, Index n, Index count) {
  run(kernel, w, g, s, n, count);
}

}  // namespace DESCEND_ISA_TU
}  // namespace detail

// Explicit instantiation may name the optimizers' private kernel types.
#define DESCEND_ISA_KERNEL_FOR(Scalar, K)                                               \
  template void detail::DESCEND_ISA_TU::run_out_of_line<Scalar, K>(                      \
      const K&, Scalar*, const Scalar*, Scalar*, detail::Index, detail::Index);          \
  template void detail::DESCEND_ISA_TU::run_out_of_line<Scalar, detail::ScaledGradient<Scalar, K>>( \
      const detail::ScaledGradient<Scalar, K>&, Scalar*, const Scalar*, Scalar*, detail::Index,  \
      detail::Index);
#define DESCEND_ISA_KERNEL(Optimizer, Kernel)           \
  DESCEND_ISA_KERNEL_FOR(float, Optimizer<float>::Kernel) \
  DESCEND_ISA_KERNEL_FOR(double, Optimizer<double>::Kernel)

DESCEND_ISA_KERNEL(Sgd, Kernel)
DESCEND_ISA_KERNEL(Sgd, PlainKernel)
DESCEND_ISA_KERNEL(Adagrad, Kernel)
DESCEND_ISA_KERNEL(Rmsprop, Kernel)
DESCEND_ISA_KERNEL(Adadelta, Kernel)
DESCEND_ISA_KERNEL(Adam, Kernel)
DESCEND_ISA_KERNEL(Rprop, Kernel)
DESCEND_ISA_KERNEL(Asgd, Kernel)
DESCEND_ISA_KERNEL(Lion, Kernel)
DESCEND_ISA_KERNEL(Nadam, Kernel)
DESCEND_ISA_KERNEL(Radam, Kernel)
DESCEND_ISA_KERNEL(Adamax, Kernel)

}  // namespace descend
