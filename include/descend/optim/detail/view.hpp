// Strided views onto parameter and gradient memory, and the one-pass
// traversal every optimizer kernel runs on.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <type_traits>
#include <utility>

#include "descend/optim/detail/simd.hpp"

// DESCEND_NOINLINE is also on the optimizers' members that do the work:
// never inlined into the user's code, they cost nothing per call that shows
// beside a pass over a parameter, and an `extern template`
// (DESCEND_PRECOMPILED) then keeps the compiler from instantiating them in
// every file (g++ instantiates inline members of an extern template in order
// to inline them).
#if defined(__GNUC__)
#define DESCEND_ALWAYS_INLINE inline __attribute__((always_inline))
#define DESCEND_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define DESCEND_ALWAYS_INLINE __forceinline
#define DESCEND_NOINLINE __declspec(noinline)
#else
#define DESCEND_ALWAYS_INLINE inline
#define DESCEND_NOINLINE
#endif

namespace descend {
namespace detail {

using Index = Eigen::Index;

// A 2-D window onto memory in (row, col) coordinates: coefficient (i, j) lives
// at data[i * row_stride + j * col_stride]. T is Scalar or const Scalar.
template <class T>
struct View {
  T* data = nullptr;
  Index rows = 0;
  Index cols = 0;
  Index row_stride = 1;
  Index col_stride = 1;

  Index size() const { return rows * cols; }
};

// Strides along an axis of length 1 never matter; setting them to 0 lets two
// views of the same cells compare equal whatever Eigen reports for them.
template <class T>
View<T> canonical(View<T> v) {
  if (v.rows <= 1) v.row_stride = 0;
  if (v.cols <= 1) v.col_stride = 0;
  return v;
}

// Whether T derives from some Eigen::DenseBase<...> (VectorBlock, for one,
// derives from DenseBase<Block<...>>, not from DenseBase<VectorBlock>).
template <class D>
std::true_type dense_base_test(const Eigen::DenseBase<D>*);
std::false_type dense_base_test(...);
template <class T>
constexpr bool is_eigen_dense() {
  return decltype(dense_base_test(std::declval<T*>()))::value;
}

template <class Derived>
constexpr bool has_direct_access() {
  return (Derived::Flags & Eigen::DirectAccessBit) != 0;
}

// The view of a direct-access Eigen object (Matrix, Array, Map, Ref, Block).
template <class Derived>
auto view_of(Derived& x) {
  using T = std::remove_pointer_t<decltype(x.data())>;
  const Index inner = x.innerStride();
  const Index outer = x.outerStride();
  constexpr bool row_major = Derived::IsRowMajor;
  return canonical(
      View<T>{x.data(), x.rows(), x.cols(), row_major ? outer : inner, row_major ? inner : outer});
}

// f(x, i, j) for every coefficient x = v(i, j), column by column.
template <class T, class F>
void for_each_element(const View<T>& v, F&& f) {
  for (Index j = 0; j < v.cols; ++j)
    for (Index i = 0; i < v.rows; ++i) f(v.data[i * v.row_stride + j * v.col_stride], i, j);
}

// Elements per gathered chunk of a strided parameter: the stack buffers the
// traversal copies it through hold this many coefficients.
inline constexpr Index kChunk = 256;

// Parameters at least this large are split across OpenMP threads when descend
// is built with DESCEND_OPENMP (CMake option), and only if contiguous.
inline constexpr Index kParallelThreshold = Index(1) << 16;

// A kernel is a copyable function object with
//   template <class V> void apply(Scalar* w, const Scalar* g, Scalar* s, Index n) const
// that updates the V::kSize coefficients at w from the gradient at g and the
// state at s, s + n, s + 2n, ... (one buffer after another, n apart). V is
// Wide<Scalar> for full packets, Vec<Scalar> for single coefficients.

// Whether v covers its coefficients consecutively in column-major (or
// row-major) order. Canonical views of vectors are both.
template <class T>
bool contiguous_col_major(const View<T>& v) {
  return (v.rows <= 1 || v.row_stride == 1) && (v.cols <= 1 || v.col_stride == v.rows);
}
template <class T>
bool contiguous_row_major(const View<T>& v) {
  return (v.cols <= 1 || v.col_stride == 1) && (v.rows <= 1 || v.row_stride == v.cols);
}

// A kernel that sees the gradient times `scale` (each product rounded to
// Scalar, as a separate multiplication would round it): the scaled packet is
// handed over through a local array, which the compiler keeps in a register.
template <class Scalar, class Kernel>
struct ScaledGradient {
  Kernel kernel;
  Scalar scale;

  template <class V>
  DESCEND_ALWAYS_INLINE void apply(Scalar* w, const Scalar* g, Scalar* s, Index n) const {
    alignas(64) Scalar scaled[V::kSize];
    (scale * V::load(g)).store(scaled);
    kernel.template apply<V>(w, scaled, s, n);
  }
};

#if defined(DESCEND_DISPATCH)
// The library's kernels for the wider instruction sets (src/isa_kernels.hpp
// instantiates them), for run() to dispatch to; see isa.hpp.
namespace isa_avx2 {
template <class Scalar, class Kernel>
void run_out_of_line(const Kernel& kernel, Scalar* w, const Scalar* g, Scalar* s, Index n,
                     Index count);
}
namespace isa_avx512 {
template <class Scalar, class Kernel>
void run_out_of_line(const Kernel& kernel, Scalar* w, const Scalar* g, Scalar* s, Index n,
                     Index count);
}
#endif

inline namespace DESCEND_ISA_NAMESPACE {  // (isa.hpp)

// After the packets of V: one packet of each narrower width that fits (with
// AVX-512, 8 and then 4 floats), so that at most 3 floats or 1 double are
// left for one at a time, as with SSE. Same bits: every width does the same
// IEEE operations on each coefficient (tested at every x86 level by test_isa;
// NEON's half packet, Packet2f, is built but untested here: no ARM machine).
// Returns where the rest starts.
template <class V, class Scalar, class Kernel>
DESCEND_ALWAYS_INLINE Index run_narrower(const Kernel& kernel, Scalar* w, const Scalar* g,
                                         Scalar* s, Index n, Index count, Index i) {
  using H = Half<V>;
  if constexpr (H::kSize > 1 && H::kSize < V::kSize) {
    if (i + H::kSize <= count) {
      kernel.template apply<H>(w + i, g + i, s + i, n);
      i += H::kSize;
    }
    return run_narrower<H>(kernel, w, g, s, n, count, i);
  }
  return i;
}

// run(): the kernel over count contiguous coefficients, packets first, then
// one at a time. The kernel is taken by value so that its constants live in
// registers rather than behind a pointer the stores might alias.
template <class Scalar, class Kernel>
DESCEND_ALWAYS_INLINE void run(Kernel kernel, Scalar* w, const Scalar* g, Scalar* s, Index n,
                               Index count) {
#if defined(DESCEND_DISPATCH)
  // Set before any optimizer exists (its constructor calls select_isa()).
  const int level = dispatch_level.load(std::memory_order_relaxed);
  if (level == static_cast<int>(Isa::avx512))
    return isa_avx512::run_out_of_line(kernel, w, g, s, n, count);
  if (level == static_cast<int>(Isa::avx2))
    return isa_avx2::run_out_of_line(kernel, w, g, s, n, count);
#endif
  using V = Wide<Scalar>;
  Index i = 0;
  for (; i + V::kSize <= count; i += V::kSize) kernel.template apply<V>(w + i, g + i, s + i, n);
  for (i = run_narrower<V>(kernel, w, g, s, n, count, i); i < count; ++i)
    kernel.template apply<Vec<Scalar>>(w + i, g + i, s + i, n);
}

#if defined(DESCEND_USE_OPENMP)
// The kernel over n contiguous coefficients in blocks split across OpenMP
// threads. Entering a parallel region costs microseconds even with one
// thread, so only large parameters come here, and the region lives in its own
// function so that the path of every small parameter stays free of OpenMP.
template <class Scalar, class Kernel>
DESCEND_NOINLINE void run_parallel(const Kernel& kernel, Scalar* w, const Scalar* g, Scalar* s,
                                   Index n) {
  const Index blocks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
  for (Index b = 0; b < blocks; ++b) {
    const Index i0 = b * kChunk;
    run(kernel, w + i0, g + i0, s + i0, n, std::min(kChunk, n - i0));
  }
}
#endif

// for_each_coefficient (below) when p or g is not in one piece.
template <class Scalar, class Kernel>
DESCEND_NOINLINE void run_in_pieces(const Kernel& kernel, const View<Scalar>& p,
                                    const View<const Scalar>& g, Scalar* state) {
  const Index n = p.size();
  const bool inner_is_rows = p.cols == 1 || (p.rows != 1 && p.row_stride <= p.col_stride);
  Index inner_size = inner_is_rows ? p.rows : p.cols;
  Index outer_size = inner_is_rows ? p.cols : p.rows;
  const Index p_inner = inner_is_rows ? p.row_stride : p.col_stride;
  const Index p_outer = inner_is_rows ? p.col_stride : p.row_stride;
  const Index g_inner = inner_is_rows ? g.row_stride : g.col_stride;
  const Index g_outer = inner_is_rows ? g.col_stride : g.row_stride;
  if (outer_size > 1 && p_outer == p_inner * inner_size && g_outer == g_inner * inner_size) {
    inner_size *= outer_size;  // both are one evenly strided run
    outer_size = 1;
  }

  alignas(64) Scalar p_buf[kChunk];
  alignas(64) Scalar g_buf[kChunk];
  for (Index o = 0; o < outer_size; ++o) {
    Scalar* p_run = p.data + o * p_outer;
    const Scalar* g_run = g.data + o * g_outer;
    for (Index i0 = 0; i0 < inner_size; i0 += kChunk) {
      const Index len = std::min(kChunk, inner_size - i0);
      Scalar* p_ptr = p_run + i0 * p_inner;
      const Scalar* g_ptr = g_run + i0 * g_inner;
      if (p_inner != 1) {
        for (Index k = 0; k < len; ++k) p_buf[k] = p_ptr[k * p_inner];
      }
      if (g_inner != 1) {
        for (Index k = 0; k < len; ++k) g_buf[k] = g_ptr[k * g_inner];
      }
      run(kernel, p_inner == 1 ? p_ptr : p_buf, g_inner == 1 ? g_ptr : g_buf,
          state + o * inner_size + i0, n, len);
      if (p_inner != 1) {
        for (Index k = 0; k < len; ++k) p_ptr[k * p_inner] = p_buf[k];
      }
    }
  }
}

// Runs the kernel over every coefficient of the parameter in memory order.
// State buffers are laid out in the same order: element k of a buffer belongs
// to the k-th coefficient visited. Contiguous runs are used in place; strided
// ones are gathered into a stack buffer and the parameter is scattered back.
// The common case, both in one piece and the gradient unscaled, is inlined
// into the caller's loop over parameters: many small parameters pay no call
// for it. Every other case runs the scaled kernel out of line, one
// instantiation per kernel rather than two (a scale of 1 changes no
// gradient: 1 * g is g), in one piece where p and g are (single-threaded).
// A gradient scale other than 1 comes from maximize or clipping.
template <class Scalar, class Kernel>
DESCEND_ALWAYS_INLINE void for_each_coefficient(const Kernel& kernel, const View<Scalar>& p,
                                                const View<const Scalar>& g, Scalar* state,
                                                Scalar scale) {
  if (scale == Scalar(1) && ((contiguous_col_major(p) && contiguous_col_major(g)) ||
                             (contiguous_row_major(p) && contiguous_row_major(g)))) {
    const Index n = p.size();
#if defined(DESCEND_USE_OPENMP)
    if (n >= kParallelThreshold) return run_parallel(kernel, p.data, g.data, state, n);
#endif
    run(kernel, p.data, g.data, state, n, n);
  } else {
    run_in_pieces(ScaledGradient<Scalar, Kernel>{kernel, scale}, p, g, state);
  }
}

template <class Scalar, class Kernel>
DESCEND_ALWAYS_INLINE void for_each_coefficient(const Kernel& kernel, const View<Scalar>& p,
                                                const View<const Scalar>& g, Scalar* state) {
  for_each_coefficient(kernel, p, g, state, Scalar(1));
}

}  // namespace DESCEND_ISA_NAMESPACE

}  // namespace detail
}  // namespace descend
