// Strided views onto parameter and gradient memory, and the one-pass chunked
// traversal every optimizer kernel runs on.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <type_traits>
#include <utility>

// Inline everything a function calls. Used on one call: a kernel on a chunk.
// Without it GCC keeps each Eigen statement of a kernel as its own out-of-line
// loop, which costs more than the arithmetic on small parameters (64 floats).
#if defined(__GNUC__)
#define DESCEND_FLATTEN __attribute__((flatten))
#define DESCEND_ALWAYS_INLINE inline __attribute__((always_inline))
#define DESCEND_NOINLINE __attribute__((noinline))
#else
#define DESCEND_FLATTEN
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

// Elements per chunk of the traversal: every statement of an update runs over
// one chunk while it sits in L1, so the update is one pass over memory. 256
// measured best here (Zen 4, -O2 and -O3 -march=native: 64 was up to 20 %
// slower for Adam at N = 1e7); -DDESCEND_CHUNK=N overrides it for tuning. The
// result does not depend on it: every element sees the same operations.
#ifndef DESCEND_CHUNK
#define DESCEND_CHUNK 256
#endif
inline constexpr Index kChunk = DESCEND_CHUNK;
inline constexpr Index kSmallChunk = 64;

// Parameters at least this large are split across OpenMP threads when descend
// is built with DESCEND_OPENMP (CMake option), and only if contiguous.
inline constexpr Index kParallelThreshold = Index(1) << 16;

// What a kernel sees: Size (kChunk, kSmallChunk, or Dynamic for a shorter or gathered chunk)
// contiguous coefficients of the parameter and of the gradient, and the
// matching slice of each state buffer. Kernels are generic lambdas, compiled
// once for each Size.
template <class Scalar, int Size>
struct Chunk {
  using Map = Eigen::Map<Eigen::Array<Scalar, Size, 1>>;
  using ConstMap = Eigen::Map<const Eigen::Array<Scalar, Size, 1>>;
  // A temporary of the chunk's size, on the stack.
  using Array =
      Eigen::Array<Scalar, Size, 1, Eigen::ColMajor, Size == Eigen::Dynamic ? kChunk : Size, 1>;

  Map param;
  ConstMap grad;
  Scalar* state_base;
  Index state_size;  // elements per state buffer (the parameter's size)
  Index offset;      // position of this chunk in each state buffer

  Map state(Index buffer) const {
    return Map(state_base + buffer * state_size + offset, param.size());
  }
};

// kernel(chunk), with every statement of the kernel inlined.
template <class Kernel, class C>
DESCEND_FLATTEN void run_kernel(Kernel& kernel, C& chunk) {
  kernel(chunk);
}

// Calls body(g) with the gradient the update rule sees: g, or g + lambda w
// (PyTorch's L2 weight_decay) computed into a stack temporary.
template <class C, class Scalar, class Body>
void with_weight_decay(const C& c, Scalar weight_decay, Body&& body) {
  if (weight_decay != 0) {
    const typename C::Array g = c.grad + weight_decay * c.param;  // g = g + λ w
    body(g);
  } else {
    body(c.grad);
  }
}

// Calls f(std::bool_constant<b>{}...) for the runtime flags b..., so that a
// kernel tests its options at compile time rather than once per chunk.
template <class F>
decltype(auto) with_flags(F&& f) {
  return f();
}
template <class F, class... Rest>
decltype(auto) with_flags(F&& f, bool first, Rest... rest) {
  if (first)
    return with_flags([&](auto... c) -> decltype(auto) { return f(std::true_type{}, c...); },
                      rest...);
  return with_flags([&](auto... c) -> decltype(auto) { return f(std::false_type{}, c...); },
                    rest...);
}

// Whether v covers n consecutive coefficients in column-major (or row-major)
// order. Canonical views of vectors are both.
template <class T>
bool contiguous_col_major(const View<T>& v) {
  return (v.rows <= 1 || v.row_stride == 1) && (v.cols <= 1 || v.col_stride == v.rows);
}
template <class T>
bool contiguous_row_major(const View<T>& v) {
  return (v.cols <= 1 || v.col_stride == 1) && (v.rows <= 1 || v.row_stride == v.cols);
}

#if defined(DESCEND_USE_OPENMP)
// f(k) for k in [0, count), split across OpenMP threads.
template <class F>
#if defined(__GNUC__)
__attribute__((noinline))
#endif
void parallel_for(Index count, const F& f) {
#pragma omp parallel for schedule(static)
  for (Index k = 0; k < count; ++k) f(k);
}
#endif

// kernel(chunk) over n contiguous coefficients: full chunks of kChunk, then
// fixed-size chunks of kSmallChunk (small parameters such as biases and
// 64-element layers live entirely there), then a dynamic tail.
template <class Scalar, class Kernel>
DESCEND_ALWAYS_INLINE void contiguous_chunks(Scalar* p, const Scalar* g, Index n, Scalar* state,
                                             Index state_size, Index base, bool may_thread,
                                             Kernel& kernel) {
  using Full = Chunk<Scalar, kChunk>;
  const Index full = n / kChunk;
  auto full_chunk = [&](Index k) {
    const Index i0 = k * kChunk;
    Full chunk{typename Full::Map(p + i0), typename Full::ConstMap(g + i0), state, state_size,
               base + i0};
    run_kernel(kernel, chunk);
  };
#if defined(DESCEND_USE_OPENMP)
  // Entering a parallel region costs microseconds even with one thread:
  // small parameters never do. The region lives in its own function so that
  // this one, the path of every small parameter, stays free of OpenMP.
  if (may_thread && n >= kParallelThreshold) {
    parallel_for(full, full_chunk);
  } else {
    for (Index k = 0; k < full; ++k) full_chunk(k);
  }
#else
  (void)may_thread;
  for (Index k = 0; k < full; ++k) full_chunk(k);
#endif
  using Small = Chunk<Scalar, kSmallChunk>;
  Index i0 = full * kChunk;
  for (; i0 + kSmallChunk <= n; i0 += kSmallChunk) {
    Small chunk{typename Small::Map(p + i0), typename Small::ConstMap(g + i0), state, state_size,
                base + i0};
    run_kernel(kernel, chunk);
  }
  if (i0 < n) {
    using Tail = Chunk<Scalar, Eigen::Dynamic>;
    Tail chunk{typename Tail::Map(p + i0, n - i0), typename Tail::ConstMap(g + i0, n - i0), state,
               state_size, base + i0};
    run_kernel(kernel, chunk);
  }
}

// for_each_chunk (below) when p or g is not in one piece.
template <class Scalar, class Kernel>
DESCEND_NOINLINE void for_each_chunk_in_pieces(const View<Scalar>& p, const View<const Scalar>& g,
                                               Scalar* state, Kernel& kernel) {
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

  if (p_inner == 1 && g_inner == 1) {
    // Contiguous runs (the columns of a Block, say), one after the other.
    for (Index o = 0; o < outer_size; ++o)
      contiguous_chunks(p.data + o * p_outer, g.data + o * g_outer, inner_size, state, n,
                        o * inner_size, outer_size == 1, kernel);
    return;
  }

  alignas(64) Scalar p_buf[kChunk];
  alignas(64) Scalar g_buf[kChunk];
  using Dyn = Chunk<Scalar, Eigen::Dynamic>;
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
      Dyn chunk{typename Dyn::Map(p_inner == 1 ? p_ptr : p_buf, len),
                typename Dyn::ConstMap(g_inner == 1 ? g_ptr : g_buf, len), state, n,
                o * inner_size + i0};
      run_kernel(kernel, chunk);
      if (p_inner != 1) {
        for (Index k = 0; k < len; ++k) p_ptr[k * p_inner] = p_buf[k];
      }
    }
  }
}

// Runs kernel(chunk) over the parameter in memory order. State buffers are
// laid out in the same order: element k of a buffer belongs to the k-th
// coefficient visited. Contiguous runs are used in place; strided ones are
// gathered into a stack buffer and the parameter is scattered back.
// The common case, both in one piece, is inlined into the caller's loop over
// parameters: many small parameters pay no call for it.
template <class Scalar, class Kernel>
DESCEND_ALWAYS_INLINE void for_each_chunk(const View<Scalar>& p, const View<const Scalar>& g,
                                          Scalar* state, Kernel&& kernel) {
  if ((contiguous_col_major(p) && contiguous_col_major(g)) ||
      (contiguous_row_major(p) && contiguous_row_major(g))) {
    contiguous_chunks(p.data, g.data, p.size(), state, p.size(), 0, true, kernel);
  } else {
    for_each_chunk_in_pieces(p, g, state, kernel);
  }
}

}  // namespace detail
}  // namespace descend
