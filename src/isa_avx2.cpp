// descend::precompiled's kernels for AVX2 and FMA (see src/isa_kernels.hpp).
#define DESCEND_ISA_TU isa_avx2
#include "isa_kernels.hpp"
