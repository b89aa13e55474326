// Which instruction set the element-wise kernels run at.
//
// A file compiled with -march=x86-64 (the distributions' flags) gets SSE2
// kernels, whatever the CPU has. The precompiled library (descend::precompiled,
// CMake option DESCEND_DISPATCH, on by default on x86-64 with GCC or Clang)
// carries every optimizer's kernel three times: at the baseline its own flags
// give, for AVX2 (with FMA) and for AVX-512 (F, DQ, BW, VL). In a program
// that links it, the first optimizer constructed picks the widest the CPU and the OS
// support, or the level the environment variable DESCEND_ISA names
// (baseline, avx2 or avx512); a word it does not know, or a level this CPU
// lacks, makes that construction throw std::invalid_argument.
//
// Every level gives the same bits: the kernels do the same IEEE operations in
// the same order at every width (the wide ones are compiled with
// -ffp-contract=off, so no a * b + c becomes one fused, once-rounded fma),
// and their square roots are correctly rounded (sqrt.hpp).
//
// Header-only code does not dispatch: its kernels are those its own file's
// flags allow. Each level's kernels live in a namespace of their own
// (DESCEND_ISA_NAMESPACE), so that files compiled with different flags never
// share, through the linker, an inline function compiled for the wider set.
#pragma once

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "descend/optim/errors.hpp"

// The namespace of the code that depends on the instruction set (simd.hpp,
// sqrt.hpp, view.hpp's traversal): set by the library's per-level files
// (src/isa_*.cpp); isa_baseline in the library's own file, whatever its
// flags (it declares the other two levels' kernels); else from the
// compiler's flags.
#if defined(DESCEND_ISA_TU)
#define DESCEND_ISA_NAMESPACE DESCEND_ISA_TU
#elif defined(DESCEND_DISPATCH)
#define DESCEND_ISA_NAMESPACE isa_baseline
#elif defined(__AVX512F__)
#define DESCEND_ISA_NAMESPACE isa_avx512
#elif defined(__AVX2__)
#define DESCEND_ISA_NAMESPACE isa_avx2
#elif defined(__AVX__)
#define DESCEND_ISA_NAMESPACE isa_avx
#else
#define DESCEND_ISA_NAMESPACE isa_baseline
#endif

namespace descend {

// The levels the precompiled library dispatches to, narrowest first.
enum class Isa : int { baseline = 0, avx2 = 1, avx512 = 2 };

inline const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx2:
      return "avx2";
    case Isa::avx512:
      return "avx512";
    default:
      return "baseline";
  }
}

// The widest level this CPU and its OS support (baseline off x86-64, or
// with a compiler other than GCC and Clang).
inline Isa supported_isa() {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return Isa::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
#endif
  return Isa::baseline;
}

namespace detail {

// The chosen level, or -1 before the first optimizer. Constant-initialised:
// reading it costs a load, and no file's static initialisation can see it
// unset once an optimizer exists.
inline std::atomic<int> dispatch_level{-1};

// Chooses the level once (see the top of this file); `who` names the
// optimizer in the error. Out of line: a file pays for it once, whatever it
// constructs.
DESCEND_COLD inline Isa choose_isa(const char* who) {
  const Isa cpu = supported_isa();
  Isa chosen = cpu;
  const char* env = std::getenv("DESCEND_ISA");
  if (env != nullptr && *env != '\0') {
    if (std::strcmp(env, "baseline") == 0)
      chosen = Isa::baseline;
    else if (std::strcmp(env, "avx2") == 0)
      chosen = Isa::avx2;
    else if (std::strcmp(env, "avx512") == 0)
      chosen = Isa::avx512;
    else
      fail<std::invalid_argument>(who, ": DESCEND_ISA=", env,
                                  " is not an instruction set descend knows (baseline, avx2 or "
                                  "avx512)");
    if (static_cast<int>(chosen) > static_cast<int>(cpu))
      fail<std::invalid_argument>(who, ": DESCEND_ISA=", env, " asks for more than this CPU has (",
                                  isa_name(cpu), ")");
  }
  dispatch_level.store(static_cast<int>(chosen), std::memory_order_relaxed);
  return chosen;
}

inline Isa select_isa(const char* who) {
  const int level = dispatch_level.load(std::memory_order_relaxed);
  return level >= 0 ? static_cast<Isa>(level) : choose_isa(who);
}

}  // namespace detail

// The level descend::precompiled runs its kernels at in this process: the
// widest supported_isa() allows, or DESCEND_ISA's (std::invalid_argument if
// that is not one this CPU has).
inline Isa dispatch_isa() { return detail::select_isa("descend::dispatch_isa"); }

}  // namespace descend
