// descend::precompiled's kernels for AVX-512 F, DQ, BW and VL (see src/isa_kernels.hpp).
#define DESCEND_ISA_TU isa_avx512
#include "isa_kernels.hpp"
