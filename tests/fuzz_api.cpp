// Fuzz test of descend's public optimizer API.
//
//   fuzz_api [--seconds S] [--iterations N] [--seed X] [--skip CHECK,...] [--trace]
//
// Drives Sgd, Adagrad, Rmsprop, Adadelta, Adam and AdamW, in float and
// double, with random options (valid and invalid), random shapes (empty, 1x1,
// tall, wide, up to ~700 coefficients), random Eigen kinds (dynamic and
// fixed-size Matrix and Array, row-major, Maps with random inner and outer
// strides into one fixed buffer, transposed Maps, Blocks, Refs, and for
// update() also expressions, temporaries and the parameter's own state from
// state()) and random call orders (update, add, step, zero_grad, forget,
// reset, set_lr, state lookups, moving the optimizer) mixed with what a
// program does to its objects between calls (resize a registered Matrix with
// or without its gradient, std::swap, move- and copy-assignment, new values,
// NaN and Inf included). Parameter groups (add_group, add() to a random or
// missing group, set_options, set_momentum, set_lr of one group or all,
// group_of), maximize, and gradient transforms (ClipGradNorm, ClipGradValue,
// ClipNormPerParameter, NonFiniteGuard, each with valid and invalid options;
// clear_transforms) are in the mix.
//
// It only does what a correct program may do: every object it registers, and
// every object a registered Map or Block views, lives in a fixed-size pool
// (std::array) and is never destroyed or moved to another address; a Matrix
// whose memory a registered Map views is never reallocated (resized to
// another size or copy-assigned); Blocks and Refs only view matrices that are
// never resized.
//
// The property checked for every call: it returns, or throws an exception
// that is a std::invalid_argument (descend::ShapeError is one); any other
// exception fails the run, except std::out_of_range for a group that does
// not exist and descend::NonFiniteError from step() with a guard or
// error_if_nonfinite installed. A skipped step() changes nothing either (a
// ClipGradValue may only clamp the registered gradients). A call that throws leaves everything bit-identical
// (compared with memcmp, so NaN compares equal to itself): every pool's
// coefficients, num_states(), num_registered(), lr(), current_lr(), and for
// every object and view the fuzzer knows, has_state(), step_count() and the
// bytes of each state buffer (or the exception such a lookup throws). State
// lookups and moving the optimizer must change nothing even when they
// succeed. Besides, documented behaviour is checked against a model of its
// own (addresses compared coefficient by coefficient, not with descend's
// code); each such check has a name, listed by --help, and --skip NAME turns
// one off (for a known bug that is not fixed yet).
//
// Prints `N passed, 0 failed`, N the number of calls checked, and exits 0; on
// a failure it prints the seed, the iteration, the optimizer and the call,
// and exits 1. The run is a function of the seed (stop it with --iterations
// to reproduce one); --trace prints every operation to stderr, for a crash
// that a sanitizer reports.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <unordered_set>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "descend/optim/adadelta.hpp"
#include "descend/optim/adagrad.hpp"
#include "descend/optim/adam.hpp"
#include "descend/optim/clip.hpp"
#include "descend/optim/guard.hpp"
#include "descend/optim/rmsprop.hpp"
#include "descend/optim/sgd.hpp"

namespace {

using Index = Eigen::Index;
constexpr int Dyn = Eigen::Dynamic;

// ---------------------------------------------------------------------------
// Reporting

struct Failure {  // not a std::exception: nothing in a library call's catch takes it
  std::string what;
};

[[noreturn]] void fail(const std::string& what) { throw Failure{what}; }

#if defined(__GNUC__)
std::string fmt(const char* format, ...) __attribute__((format(printf, 1, 2)));
#endif
std::string fmt(const char* format, ...) {
  char buf[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buf, sizeof buf, format, args);
  va_end(args);
  return buf;
}

// The checks of documented behaviour beyond the throw property; --skip NAME.
enum Oracle {
  kOracleOptions,        // constructor: accepts exactly the options its checks document
  kOracleShape,          // a gradient of another shape: ShapeError (update, add, step)
  kOracleEmpty,          // update() of an empty parameter (right gradient shape) is a no-op
  kOracleAlias,          // update(): a gradient sharing memory with its parameter or its state throws
  kOracleRegistered,     // update() of a registered parameter (by object or memory) throws
  kOracleAdd,            // add() succeeds exactly when nothing overlaps and the shapes agree
  kOracleAddMoved,       // add() throws when moves made registered memory overlap, saying so
  kOracleStepOverlap,    // step() throws when registered memory overlaps now
  kOracleStepCount,      // a successful step() counts one step for every non-empty registered parameter
  kOracleZeroGrad,       // zero_grad() zeroes every registered gradient
  kOracleForget,         // forget() returns whether there was state, and drops it
  kOracleReset,          // reset() drops all state
  kOracleLr,             // set_lr() accepts exactly finite values >= 0 representable in Scalar
  kOracleGroups,         // add_group() accepts exactly valid options; add() to a missing group: out_of_range; group_of()
  kOracleSetOptions,     // set_options()/set_momentum() throw exactly when the options are invalid or change a stateful group's buffers
  kOracleTransform,      // add_transform() accepts exactly valid options; clear_transforms() empties
  kOracleGuard,          // a skip or NonFiniteError only with a non-finite gradient and a guard (or error_if_nonfinite); a first guard stops it
  kOracleGradWrite,      // step() writes registered gradients only as a ClipGradValue clamps them
  kOracleReport,         // step()'s report: applied, skipped and updated agree with each other and the registrations
  kOracleGuardCount,     // a skipped step() reports skipped_in_a_row and skipped_total >= 1
  kNumOracles
};
const char* const kOracleNames[kNumOracles] = {
    "options", "shape", "empty", "alias", "registered", "add", "add-moved", "step-overlap",
    "step-count", "zero-grad", "forget", "reset", "lr", "groups", "set-options", "transform",
    "guard", "grad-write", "report", "guard-count"};
bool g_oracle_on[kNumOracles];
bool g_trace = false;  // --trace: every call and its outcome on stderr

// ---------------------------------------------------------------------------
// Randomness

struct Rng {
  std::mt19937_64 engine;
  explicit Rng(std::uint64_t seed) : engine(seed) {}
  Index below(Index n) {
    return n <= 1 ? 0 : static_cast<Index>(engine() % static_cast<std::uint64_t>(n));
  }
  Index range(Index lo, Index hi) { return lo + below(hi - lo + 1); }  // inclusive
  double uniform() { return static_cast<double>(engine() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return uniform() < p; }
  template <class T, std::size_t N>
  const T& pick(const T (&a)[N]) {
    return a[below(static_cast<Index>(N))];
  }
};

// ---------------------------------------------------------------------------
// The objects and views the fuzzer works on

enum Kind : int {
  // Objects (Matrix, Array): registered as objects; the dynamic ones are
  // resized, swapped and moved.
  kMat, kRowMat, kArr, kVec, kFix34, kFixRow43, kFix11, kFixArr25,
  // Views.
  kMapCol,    // Map<MatrixX, 0, Stride<Dyn, Dyn>>, into the buffer or a kMat's memory
  kMapRow,    // the same, row-major
  kMapT,      // a column-major strided Map, transposed
  kMapArr,    // Map<ArrayXX>, contiguous
  kMapVec,    // Map<VectorX, 0, InnerStride<>>
  kMapFix23,  // Map<Matrix<S, 2, 3>>
  kBlock,     // Block of the column-major stable matrix
  kBlockRow,  // Block of the row-major stable matrix
  kBlockFix,  // Block of a fixed-size 3x4 object
  kRef,       // Ref<MatrixX> of a Block of the column-major stable matrix
  kRefRow,    // Ref<RowVectorX, 0, InnerStride<>> of a row segment of it
  kWritableKinds,
  // Gradients for update() only.
  kExprScaled = kWritableKinds,  // s * (a Map of the buffer): no memory
  kExprParam,                    // s * param
  kConstant,                     // MatrixX::Constant(r, c, s)
  kStateMap,                     // Map<const MatrixX> over a state buffer from state()
  kConstRef,                     // Ref<const MatrixX> of an expression (a copy it holds)
  kTemp,                         // a MatrixX of its own
  kAllKinds
};
const char* const kKindNames[kAllKinds] = {
    "MatrixX", "RowMajor MatrixX", "ArrayXX", "VectorX", "Matrix<3,4>", "RowMajor Matrix<4,3>",
    "Matrix<1,1>", "Array<2,5>", "Map", "RowMajor Map", "transposed Map", "Map<ArrayXX>",
    "Map<VectorX, InnerStride>", "Map<Matrix<2,3>>", "Block", "RowMajor Block",
    "Block of Matrix<3,4>", "Ref<MatrixX>", "Ref<RowVectorX, InnerStride>", "s * Map",
    "s * param", "Constant", "Map of state()", "Ref<const MatrixX> of s * Map", "temporary MatrixX"};

constexpr bool is_object(int k) { return k <= kFixArr25; }
constexpr bool is_dynamic_object(int k) { return k <= kVec; }
constexpr bool is_map(int k) { return k >= kMapCol && k <= kMapFix23; }
constexpr std::uint64_t bit(int k) { return std::uint64_t(1) << k; }

// Which (parameter, gradient) kinds update() and add() are called with.
// Every pair is a template instantiation, and all of them would take minutes
// to build under the sanitizers, so: every parameter kind with a strided Map,
// with its own kind (the same object or overlapping views) and, for update(),
// with an expression of itself and with a Map of optimizer state; and the two
// most common parameter kinds (MatrixX, strided Map) with every gradient kind.
constexpr std::uint64_t kParamKinds = bit(kWritableKinds) - 1;
constexpr std::uint64_t kAddGradKinds = bit(kMat) | bit(kRowMat) | bit(kArr) | bit(kVec) |
                                        bit(kFix34) | bit(kFixRow43) | bit(kMapCol) | bit(kMapRow) |
                                        bit(kMapT) | bit(kMapVec) | bit(kMapArr) | bit(kBlock) |
                                        bit(kBlockRow) | bit(kBlockFix) | bit(kRef) | bit(kRefRow);
constexpr std::uint64_t kUpdateGradKinds = kAddGradKinds | bit(kExprScaled) | bit(kExprParam) |
                                           bit(kConstant) | bit(kStateMap) | bit(kConstRef) |
                                           bit(kTemp);
constexpr bool is_hub(int k) { return k == kMat || k == kMapCol; }
constexpr std::uint64_t add_grads_for(int param_kind) {
  return is_hub(param_kind) ? kAddGradKinds : bit(kMapCol) | bit(param_kind);
}
constexpr std::uint64_t update_grads_for(int param_kind) {
  return is_hub(param_kind) ? kUpdateGradKinds
                            : bit(kMapCol) | bit(param_kind) | bit(kExprParam) | bit(kStateMap);
}

template <class S>
struct Pools {
  using MatX = Eigen::Matrix<S, Dyn, Dyn>;
  using RowMatX = Eigen::Matrix<S, Dyn, Dyn, Eigen::RowMajor>;
  using ArrX = Eigen::Array<S, Dyn, Dyn>;
  using VecX = Eigen::Matrix<S, Dyn, 1>;
  static constexpr Index kBuffer = 4096;
  static constexpr Index kStableRows = 24, kStableCols = 32;

  alignas(64) std::array<S, kBuffer> buffer{};  // what Maps view
  std::array<MatX, 4> mat;
  std::array<RowMatX, 2> rowmat;
  std::array<ArrX, 2> arr;
  std::array<VecX, 2> vec;
  std::array<Eigen::Matrix<S, 3, 4>, 2> fix34;
  std::array<Eigen::Matrix<S, 4, 3, Eigen::RowMajor>, 2> fixrow43;
  std::array<Eigen::Matrix<S, 1, 1>, 2> fix11;
  std::array<Eigen::Array<S, 2, 5>, 2> fixarr25;
  MatX stable;        // what Blocks and Refs view: never resized
  RowMatX stable_row;  // kStableCols x kStableRows
};

constexpr int kPoolSize[kFixArr25 + 1] = {4, 2, 2, 2, 2, 2, 2, 2};

// Where a coefficient (i, j) lives: data + i * rs + j * cs.
template <class S>
struct Lay {
  const S* data = nullptr;
  Index rows = 0, cols = 0, rs = 1, cs = 1;
  Index size() const { return rows * cols; }
};

// One object or view. Objects are named by kind and pool index, and read
// afresh at every use (their memory and shape change); views are fixed.
template <class S>
struct Desc {
  Kind kind = kMat;
  int id = 0;            // pool index; for a Map: -1 the buffer, else the kMat whose memory it views
  Index r0 = 0, c0 = 0;  // Block, Ref: first row and column; Map: offset in its region (r0)
  Index rows = 0, cols = 0, rs = 1, cs = 1;  // views: shape and Map strides
  S* base = nullptr;         // a Map over a kMat's memory: that memory when the Map was made
  const S* cdata = nullptr;  // kStateMap
  Index region = 0;          // a Map: the number of coefficients in its region
  S value = 1;               // the scale or constant of an expression
};

template <class S>
bool same_desc(const Desc<S>& a, const Desc<S>& b) {
  if (a.kind != b.kind || a.id != b.id) return false;
  if (is_object(a.kind)) return true;
  return a.r0 == b.r0 && a.c0 == b.c0 && a.rows == b.rows && a.cols == b.cols && a.rs == b.rs &&
         a.cs == b.cs && a.base == b.base;
}

template <class S>
S* map_data(Pools<S>& P, const Desc<S>& d) {
  return (d.id == -1 ? P.buffer.data() : d.base) + d.r0;  // -2: base is the memory
}

// Calls f(x, std::integral_constant<int, kind>) with the Eigen object d
// names, x an lvalue of its own type. Mask limits the kinds this instantiates.
template <std::uint64_t Mask, class S, class F>
void with_view(Pools<S>& P, const Desc<S>& d, F&& f) {
  using MatX = typename Pools<S>::MatX;
  using RowMatX = typename Pools<S>::RowMatX;
  using Strided = Eigen::Stride<Dyn, Dyn>;
  if ((Mask & bit(d.kind)) == 0)
    fail(fmt("fuzzer: kind %s used where it was not compiled in", kKindNames[d.kind]));
  const auto call = [&](auto&& x, auto kind) {
    if constexpr ((Mask & bit(decltype(kind)::value)) != 0) f(x, kind);
  };
  switch (d.kind) {
    case kMat: return call(P.mat[d.id], std::integral_constant<int, kMat>());
    case kRowMat: return call(P.rowmat[d.id], std::integral_constant<int, kRowMat>());
    case kArr: return call(P.arr[d.id], std::integral_constant<int, kArr>());
    case kVec: return call(P.vec[d.id], std::integral_constant<int, kVec>());
    case kFix34: return call(P.fix34[d.id], std::integral_constant<int, kFix34>());
    case kFixRow43: return call(P.fixrow43[d.id], std::integral_constant<int, kFixRow43>());
    case kFix11: return call(P.fix11[d.id], std::integral_constant<int, kFix11>());
    case kFixArr25: return call(P.fixarr25[d.id], std::integral_constant<int, kFixArr25>());
    default: break;
  }
  // The views, built only where compiled in.
#define FUZZ_VIEW(K, ...)                                  \
  case K:                                                  \
    if constexpr ((Mask & bit(K)) != 0) {                  \
      auto&& x = __VA_ARGS__;                              \
      f(x, std::integral_constant<int, K>());              \
    }                                                      \
    return;
  switch (d.kind) {
    FUZZ_VIEW(kMapCol, Eigen::Map<MatX, 0, Strided>(map_data(P, d), d.rows, d.cols, Strided(d.cs, d.rs)))
    FUZZ_VIEW(kMapRow, Eigen::Map<RowMatX, 0, Strided>(map_data(P, d), d.rows, d.cols, Strided(d.rs, d.cs)))
    // (i, j) of the transpose is (j, i) of the Map: data + j * cs + i * rs.
    FUZZ_VIEW(kMapT, Eigen::Map<MatX, 0, Strided>(map_data(P, d), d.cols, d.rows, Strided(d.rs, d.cs)).transpose())
    FUZZ_VIEW(kMapArr, Eigen::Map<typename Pools<S>::ArrX>(map_data(P, d), d.rows, d.cols))
    FUZZ_VIEW(kMapVec, Eigen::Map<typename Pools<S>::VecX, 0, Eigen::InnerStride<>>(
                           map_data(P, d), d.rows, Eigen::InnerStride<>(d.rs)))
    FUZZ_VIEW(kMapFix23, Eigen::Map<Eigen::Matrix<S, 2, 3>>(map_data(P, d)))
    FUZZ_VIEW(kBlock, P.stable.block(d.r0, d.c0, d.rows, d.cols))
    FUZZ_VIEW(kBlockRow, P.stable_row.block(d.r0, d.c0, d.rows, d.cols))
    FUZZ_VIEW(kBlockFix, P.fix34[d.id].block(d.r0, d.c0, d.rows, d.cols))
    FUZZ_VIEW(kRef, Eigen::Ref<MatX>(P.stable.block(d.r0, d.c0, d.rows, d.cols)))
    FUZZ_VIEW(kRefRow, Eigen::Ref<Eigen::Matrix<S, 1, Dyn>, 0, Eigen::InnerStride<>>(
                           P.stable.row(d.r0).segment(d.c0, d.cols)))
    default:
      fail("fuzzer: with_view of a read-only kind");
  }
#undef FUZZ_VIEW
}

// The same for a gradient of update(), which may also be an expression.
template <std::uint64_t Mask, class S, class X, class F>
void with_grad(Pools<S>& P, const Desc<S>& d, X& param, F&& f) {
  using MatX = typename Pools<S>::MatX;
  using Strided = Eigen::Stride<Dyn, Dyn>;
  if ((Mask & bit(d.kind)) == 0)
    fail(fmt("fuzzer: gradient kind %s used where it was not compiled in", kKindNames[d.kind]));
  if (d.kind < kWritableKinds) {
    with_view<Mask & kParamKinds>(P, d, [&](auto& x, auto) { f(x); });
    return;
  }
  switch (d.kind) {
    case kExprScaled:
      if constexpr ((Mask & bit(kExprScaled)) != 0)
        f(d.value * Eigen::Map<const MatX, 0, Strided>(map_data(P, d), d.rows, d.cols, Strided(d.cs, d.rs)));
      return;
    case kExprParam:
      if constexpr ((Mask & bit(kExprParam)) != 0) f(d.value * param);
      return;
    case kConstant:
      if constexpr ((Mask & bit(kConstant)) != 0) f(MatX::Constant(d.rows, d.cols, d.value));
      return;
    case kStateMap:
      if constexpr ((Mask & bit(kStateMap)) != 0) f(Eigen::Map<const MatX>(d.cdata, d.rows, d.cols));
      return;
    case kConstRef:
      if constexpr ((Mask & bit(kConstRef)) != 0) {
        const Eigen::Map<const MatX, 0, Strided> m(map_data(P, d), d.rows, d.cols, Strided(d.cs, d.rs));
        const Eigen::Ref<const MatX> r(d.value * m);  // holds a copy
        f(r);
      }
      return;
    case kTemp:
      if constexpr ((Mask & bit(kTemp)) != 0) {
        MatX t = MatX::Constant(d.rows, d.cols, d.value);
        if (t.size() > 0) t(0) = -d.value;
        f(t);
      }
      return;
    default:
      fail("fuzzer: unknown gradient kind");
  }
}

template <class S>
Lay<S> lay_of(Pools<S>& P, const Desc<S>& d) {
  const Index R = Pools<S>::kStableRows;
  switch (d.kind) {
    case kMat: { const auto& m = P.mat[d.id]; return {m.data(), m.rows(), m.cols(), 1, m.rows()}; }
    case kRowMat: { const auto& m = P.rowmat[d.id]; return {m.data(), m.rows(), m.cols(), m.cols(), 1}; }
    case kArr: { const auto& m = P.arr[d.id]; return {m.data(), m.rows(), m.cols(), 1, m.rows()}; }
    case kVec: { const auto& m = P.vec[d.id]; return {m.data(), m.rows(), 1, 1, m.rows()}; }
    case kFix34: return {P.fix34[d.id].data(), 3, 4, 1, 3};
    case kFixRow43: return {P.fixrow43[d.id].data(), 4, 3, 3, 1};
    case kFix11: return {P.fix11[d.id].data(), 1, 1, 1, 1};
    case kFixArr25: return {P.fixarr25[d.id].data(), 2, 5, 1, 2};
    case kMapCol: case kMapRow: case kMapT: case kMapVec: case kMapArr: case kMapFix23:
    case kExprScaled: case kConstRef:
      return {map_data(P, d), d.rows, d.cols, d.rs, d.cs};
    case kBlock: case kRef:
      return {P.stable.data() + d.r0 + d.c0 * R, d.rows, d.cols, 1, R};
    case kRefRow:
      return {P.stable.data() + d.r0 + d.c0 * R, 1, d.cols, 1, R};
    case kBlockRow:
      return {P.stable_row.data() + d.r0 * R + d.c0, d.rows, d.cols, R, 1};
    case kBlockFix:
      return {P.fix34[d.id].data() + d.r0 + d.c0 * 3, d.rows, d.cols, 1, 3};
    case kStateMap:
      return {d.cdata, d.rows, d.cols, 1, d.rows};
    default:
      return {nullptr, d.rows, d.cols, 1, 1};  // no memory
  }
}

constexpr bool has_memory(int k) {
  return k < kWritableKinds || k == kStateMap || k == kConstRef || k == kTemp;
}

// Whether a and b share a coefficient: spans first, then address by address.
template <class S>
bool share(const Lay<S>& a, const Lay<S>& b) {
  if (a.size() == 0 || b.size() == 0) return false;
  const auto span = [](const Lay<S>& v, const S*& lo, const S*& hi) {
    lo = hi = v.data;
    const Index r = (v.rows - 1) * v.rs, c = (v.cols - 1) * v.cs;
    hi = v.data + r + c;  // strides are >= 0
  };
  const S *alo, *ahi, *blo, *bhi;
  span(a, alo, ahi);
  span(b, blo, bhi);
  if (ahi < blo || bhi < alo) return false;
  static thread_local std::vector<const S*> addresses;
  addresses.clear();
  for (Index j = 0; j < a.cols; ++j)
    for (Index i = 0; i < a.rows; ++i) addresses.push_back(a.data + i * a.rs + j * a.cs);
  std::sort(addresses.begin(), addresses.end());
  for (Index j = 0; j < b.cols; ++j)
    for (Index i = 0; i < b.rows; ++i)
      if (std::binary_search(addresses.begin(), addresses.end(), b.data + i * b.rs + j * b.cs))
        return true;
  return false;
}

template <class S>
std::string describe(Pools<S>& P, const Desc<S>& d) {
  const Lay<S> l = lay_of(P, d);
  std::string s = kKindNames[d.kind];
  if (is_object(d.kind)) return s + fmt(" #%d (%ldx%ld)", d.id, static_cast<long>(l.rows), static_cast<long>(l.cols));
  s += fmt(" %ldx%ld", static_cast<long>(d.rows), static_cast<long>(d.cols));
  if (is_map(d.kind) || d.kind == kExprScaled || d.kind == kConstRef) {
    s += d.id < 0 ? fmt(" at buffer+%ld", static_cast<long>(d.r0))
                  : fmt(" at MatrixX #%d's memory+%ld", d.id, static_cast<long>(d.r0));
    s += fmt(" (row stride %ld, col stride %ld)", static_cast<long>(d.rs), static_cast<long>(d.cs));
  } else if (d.kind == kBlock || d.kind == kBlockRow || d.kind == kRef || d.kind == kRefRow) {
    s += fmt(" at (%ld, %ld)", static_cast<long>(d.r0), static_cast<long>(d.c0));
  } else if (d.kind == kBlockFix) {
    s += fmt(" of Matrix<3,4> #%d at (%ld, %ld)", d.id, static_cast<long>(d.r0), static_cast<long>(d.c0));
  }
  if (d.kind == kExprScaled || d.kind == kExprParam || d.kind == kConstant || d.kind == kConstRef)
    s += fmt(", s = %g", static_cast<double>(d.value));
  return s;
}

// ---------------------------------------------------------------------------
// Options

struct Validity {
  bool ok = true;
  template <class S>
  double representable(double x) {  // finite, >= 0, finite as S
    ok = ok && x >= 0 && std::isfinite(x) && std::isfinite(static_cast<S>(x));
    return x;
  }
  template <class S>
  double positive_representable(double x) {
    ok = ok && x > 0 && std::isfinite(x) && static_cast<S>(x) > 0 && std::isfinite(static_cast<S>(x));
    return x;
  }
  double finite_non_negative(double x) {
    ok = ok && x >= 0 && std::isfinite(x);
    return x;
  }
  double unit(double x, bool open) {  // [0, 1) or [0, 1]
    ok = ok && x >= 0 && (open ? x < 1 : x <= 1);
    return x;
  }
};

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

double rate(Rng& r) {  // lr, weight_decay and the like: usually fine
  static const double usual[] = {1e-3, 1e-2, 0.1, 0.5, 1};
  static const double edge[] = {0, -0.0, 1e-30, 1e30, 3e38, 1e39, 1e300, -1e-12, -1, kNaN, kInf, -kInf};
  return r.chance(0.85) ? r.pick(usual) : r.pick(edge);
}
double small_rate(Rng& r) {  // weight decay, decay: usually 0
  static const double edge[] = {1e-4, 0.01, 1, 1e30, 1e39, -1e-3, kNaN, kInf};
  return r.chance(0.7) ? 0.0 : r.pick(edge);
}
double unit(Rng& r, const double* usual, std::size_t n) {
  static const double edge[] = {0, -0.0, 0.5, 1 - 1e-8, 0.9999999999999999, 1, 1.0000000000000002,
                                1.5, -1e-9, -1, kNaN, kInf};
  return r.chance(0.8) ? usual[r.below(static_cast<Index>(n))] : r.pick(edge);
}
double epsilon(Rng& r) {
  static const double usual[] = {1e-8, 1e-6, 1e-10};
  static const double edge[] = {1e-40, 1e-45, 1e-46, 1e-50, 1e-300, 5e-324, 0, -0.0, -1e-8, 1, 1e38, 1e39, kNaN, kInf};
  return r.chance(0.8) ? r.pick(usual) : r.pick(edge);
}

// Each optimizer's options: random values (valid or not), the model's own
// validity rules (as each header documents them), a description, the fields
// (for bitwise comparison) and which state buffers they give a parameter.
const double kMomenta[] = {0, 0, 0.9, 0.5};
const double kAlphas[] = {0.99, 0.9, 0};
const double kRmsMomenta[] = {0, 0, 0.9};
const double kRhos[] = {0.9, 0.95, 0.5};
const double kBeta1s[] = {0.9, 0.8, 0};
const double kBeta2s[] = {0.999, 0.99, 0.5};

descend::EpsPlacement placement(Rng& r) {
  return r.chance(0.5) ? descend::EpsPlacement::inside_sqrt : descend::EpsPlacement::outside_sqrt;
}
descend::MomentumStyle style(Rng& r) {
  return r.chance(0.5) ? descend::MomentumStyle::lr_inside : descend::MomentumStyle::lr_outside;
}

void randomize(Rng& r, descend::SgdOptions& o) {
  o.lr = rate(r);
  o.momentum = unit(r, kMomenta, 4);
  o.dampening = r.chance(0.7) ? 0 : unit(r, kMomenta, 4);
  o.nesterov = r.chance(0.3);
  o.weight_decay = small_rate(r);
  o.decay = small_rate(r);
  o.momentum_style = style(r);
  o.maximize = r.chance(0.3);
}
void randomize(Rng& r, descend::AdagradOptions& o) {
  o.lr = rate(r);
  o.lr_decay = small_rate(r);
  o.weight_decay = small_rate(r);
  o.initial_accumulator_value = small_rate(r);
  o.eps = epsilon(r);
  o.decay = small_rate(r);
  o.eps_placement = placement(r);
  o.maximize = r.chance(0.3);
}
void randomize(Rng& r, descend::RmspropOptions& o) {
  o.lr = rate(r);
  o.alpha = unit(r, kAlphas, 3);
  o.eps = epsilon(r);
  o.weight_decay = small_rate(r);
  o.momentum = unit(r, kRmsMomenta, 3);
  o.centered = r.chance(0.4);
  o.decay = small_rate(r);
  o.eps_placement = placement(r);
  o.momentum_style = style(r);
  o.maximize = r.chance(0.3);
}
void randomize(Rng& r, descend::AdadeltaOptions& o) {
  o.lr = rate(r);
  o.rho = unit(r, kRhos, 3);
  o.eps = epsilon(r);
  o.weight_decay = small_rate(r);
  o.decay = small_rate(r);
  o.eps_placement = placement(r);
  o.maximize = r.chance(0.3);
}
template <class O>  // AdamOptions, AdamWOptions
void randomize_adam(Rng& r, O& o) {
  o.lr = rate(r);
  o.beta1 = unit(r, kBeta1s, 3);
  o.beta2 = unit(r, kBeta2s, 3);
  o.eps = epsilon(r);
  o.weight_decay = small_rate(r);
  o.decay = small_rate(r);
  o.amsgrad = r.chance(0.4);
  o.eps_placement = r.chance(0.3) ? descend::EpsPlacement::inside_sqrt : descend::EpsPlacement::outside_sqrt;
  o.maximize = r.chance(0.3);
}
void randomize(Rng& r, descend::AdamOptions& o) {
  randomize_adam(r, o);
  o.decoupled_weight_decay = r.chance(0.3);
}
void randomize(Rng& r, descend::AdamWOptions& o) { randomize_adam(r, o); }

template <class S>
bool valid_options(const descend::SgdOptions& o) {
  Validity v;
  v.representable<S>(o.lr);
  v.unit(o.momentum, true);
  v.unit(o.dampening, false);
  v.representable<S>(o.weight_decay);
  v.finite_non_negative(o.decay);
  if (o.nesterov) v.ok = v.ok && o.momentum > 0 && o.dampening == 0;
  return v.ok;
}
template <class S>
bool valid_options(const descend::AdagradOptions& o) {
  Validity v;
  v.representable<S>(o.lr);
  v.finite_non_negative(o.lr_decay);
  v.representable<S>(o.weight_decay);
  v.representable<S>(o.initial_accumulator_value);
  v.positive_representable<S>(o.eps);
  v.finite_non_negative(o.decay);
  return v.ok;
}
template <class S>
bool valid_options(const descend::RmspropOptions& o) {
  Validity v;
  v.representable<S>(o.lr);
  v.unit(o.alpha, false);
  v.positive_representable<S>(o.eps);
  v.representable<S>(o.weight_decay);
  v.unit(o.momentum, true);
  v.finite_non_negative(o.decay);
  return v.ok;
}
template <class S>
bool valid_options(const descend::AdadeltaOptions& o) {
  Validity v;
  v.representable<S>(o.lr);
  v.unit(o.rho, false);
  v.positive_representable<S>(o.eps);
  v.representable<S>(o.weight_decay);
  v.finite_non_negative(o.decay);
  return v.ok;
}
template <class S, class O>
bool valid_adam(const O& o) {
  Validity v;
  v.representable<S>(o.lr);
  v.unit(o.beta1, true);
  v.unit(o.beta2, true);
  v.positive_representable<S>(o.eps);
  v.representable<S>(o.weight_decay);
  v.finite_non_negative(o.decay);
  return v.ok;
}
template <class S>
bool valid_options(const descend::AdamOptions& o) { return valid_adam<S>(o); }
template <class S>
bool valid_options(const descend::AdamWOptions& o) { return valid_adam<S>(o); }

std::string g17(double x) { return fmt("%.17g", x); }
std::string describe_options(const descend::SgdOptions& o) {
  return fmt("{lr %s, momentum %s, dampening %s, nesterov %d, weight_decay %s, decay %s, lr_inside %d, maximize %d}",
             g17(o.lr).c_str(), g17(o.momentum).c_str(), g17(o.dampening).c_str(), o.nesterov,
             g17(o.weight_decay).c_str(), g17(o.decay).c_str(),
             o.momentum_style == descend::MomentumStyle::lr_inside, o.maximize);
}
std::string describe_options(const descend::AdagradOptions& o) {
  return fmt("{lr %s, lr_decay %s, weight_decay %s, initial_accumulator_value %s, eps %s, decay %s, eps_inside %d, maximize %d}",
             g17(o.lr).c_str(), g17(o.lr_decay).c_str(), g17(o.weight_decay).c_str(),
             g17(o.initial_accumulator_value).c_str(), g17(o.eps).c_str(), g17(o.decay).c_str(),
             o.eps_placement == descend::EpsPlacement::inside_sqrt, o.maximize);
}
std::string describe_options(const descend::RmspropOptions& o) {
  return fmt("{lr %s, alpha %s, eps %s, weight_decay %s, momentum %s, centered %d, decay %s, maximize %d}",
             g17(o.lr).c_str(), g17(o.alpha).c_str(), g17(o.eps).c_str(), g17(o.weight_decay).c_str(),
             g17(o.momentum).c_str(), o.centered, g17(o.decay).c_str(), o.maximize);
}
std::string describe_options(const descend::AdadeltaOptions& o) {
  return fmt("{lr %s, rho %s, eps %s, weight_decay %s, decay %s, maximize %d}", g17(o.lr).c_str(),
             g17(o.rho).c_str(), g17(o.eps).c_str(), g17(o.weight_decay).c_str(), g17(o.decay).c_str(),
             o.maximize);
}
template <class O>
std::string describe_adam(const O& o, bool decoupled) {
  return fmt("{lr %s, beta1 %s, beta2 %s, eps %s, weight_decay %s, amsgrad %d, decay %s, eps_inside %d%s, maximize %d}",
             g17(o.lr).c_str(), g17(o.beta1).c_str(), g17(o.beta2).c_str(), g17(o.eps).c_str(),
             g17(o.weight_decay).c_str(), o.amsgrad, g17(o.decay).c_str(),
             o.eps_placement == descend::EpsPlacement::inside_sqrt, decoupled ? ", decoupled" : "", o.maximize);
}
std::string describe_options(const descend::AdamOptions& o) { return describe_adam(o, o.decoupled_weight_decay); }
std::string describe_options(const descend::AdamWOptions& o) { return describe_adam(o, false); }

// Every field as a double, for a bitwise comparison. AdamW's groups hold
// AdamOptions with decoupled weight decay: AdamWOptions give the same list.
double flag(bool b) { return b ? 1 : 0; }
double enum_value(descend::EpsPlacement p) { return static_cast<double>(static_cast<int>(p)); }
double enum_value(descend::MomentumStyle s) { return static_cast<double>(static_cast<int>(s)); }
std::vector<double> fields(const descend::SgdOptions& o) {
  return {o.lr, o.momentum, o.dampening, flag(o.nesterov), o.weight_decay, o.decay,
          enum_value(o.momentum_style), flag(o.maximize)};
}
std::vector<double> fields(const descend::AdagradOptions& o) {
  return {o.lr, o.lr_decay, o.weight_decay, o.initial_accumulator_value, o.eps, o.decay,
          enum_value(o.eps_placement), flag(o.maximize)};
}
std::vector<double> fields(const descend::RmspropOptions& o) {
  return {o.lr, o.alpha, o.eps, o.weight_decay, o.momentum, flag(o.centered), o.decay,
          enum_value(o.eps_placement), enum_value(o.momentum_style), flag(o.maximize)};
}
std::vector<double> fields(const descend::AdadeltaOptions& o) {
  return {o.lr, o.rho, o.eps, o.weight_decay, o.decay, enum_value(o.eps_placement), flag(o.maximize)};
}
std::vector<double> fields(const descend::AdamOptions& o) {
  return {o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, flag(o.amsgrad), flag(o.decoupled_weight_decay),
          o.decay, enum_value(o.eps_placement), flag(o.maximize)};
}
std::vector<double> fields(const descend::AdamWOptions& o) {
  return {o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, flag(o.amsgrad), 1.0,
          o.decay, enum_value(o.eps_placement), flag(o.maximize)};
}

// Which state buffers a parameter gets (the headers' names_of, as a code).
int buffers_of(const descend::SgdOptions& o) { return o.momentum == 0 ? 0 : 1; }
int buffers_of(const descend::AdagradOptions&) { return 0; }
int buffers_of(const descend::RmspropOptions& o) { return (o.centered ? 1 : 0) + (o.momentum > 0 ? 2 : 0); }
int buffers_of(const descend::AdadeltaOptions&) { return 0; }
int buffers_of(const descend::AdamOptions& o) { return o.amsgrad ? 1 : 0; }
int buffers_of(const descend::AdamWOptions& o) { return o.amsgrad ? 1 : 0; }

// The options a set_options() of Options starts from: a group's as options() returns them.
template <class O>
void assign(O& to, const O& from) { to = from; }
void assign(descend::AdamWOptions& to, const descend::AdamOptions& from) {
  to.lr = from.lr; to.beta1 = from.beta1; to.beta2 = from.beta2; to.eps = from.eps;
  to.weight_decay = from.weight_decay; to.amsgrad = from.amsgrad; to.decay = from.decay;
  to.eps_placement = from.eps_placement; to.maximize = from.maximize;
}

// The option that momentum()/set_momentum() reads and writes; nullptr without one.
double* momentum_of(descend::SgdOptions& o) { return &o.momentum; }
double* momentum_of(descend::AdagradOptions&) { return nullptr; }
double* momentum_of(descend::RmspropOptions& o) { return &o.momentum; }
double* momentum_of(descend::AdadeltaOptions&) { return nullptr; }
double* momentum_of(descend::AdamOptions& o) { return &o.beta1; }
double* momentum_of(descend::AdamWOptions& o) { return &o.beta1; }

// The option that decides the buffers, flipped (or nothing, where none does).
void flip_buffers(Rng& r, descend::SgdOptions& o) {
  o.momentum = o.momentum == 0 ? (r.chance(0.5) ? 0.9 : 0.5) : 0;
  if (o.momentum == 0) o.nesterov = false;
}
void flip_buffers(Rng& r, descend::RmspropOptions& o) {
  if (r.chance(0.5)) o.centered = !o.centered;
  else o.momentum = o.momentum > 0 ? 0 : 0.9;
}
template <class O>
void flip_buffers(Rng&, O& o) {
  if constexpr (std::is_same<O, descend::AdamOptions>::value || std::is_same<O, descend::AdamWOptions>::value)
    o.amsgrad = !o.amsgrad;
}

// ---------------------------------------------------------------------------
// The fuzzer for one Scalar type

enum Op {
  kOpConstruct, kOpUpdate, kOpAdd, kOpStep, kOpZeroGrad, kOpForget, kOpReset, kOpSetLr,
  kOpLookup, kOpMove, kOpRemove, kOpAddGroup, kOpSetOptions, kOpAddTransform, kOpClearTransforms,
  kNumCheckedOps,
  kOpResize = kNumCheckedOps, kOpSwap, kOpMoveAssign, kOpCopyAssign, kOpFill, kOpRepair, kNumOps
};
const char* const kOpNames[kNumOps] = {"construct", "update", "add", "step", "zero_grad", "forget",
                                       "reset", "set_lr", "lookup", "move optimizer", "remove", "add_group",
                                       "set_options", "add_transform", "clear_transforms", "resize",
                                       "swap", "move-assign", "copy-assign", "fill", "repair"};

struct Stats {
  std::uint64_t checked = 0, iterations = 0, episodes[2] = {0, 0};
  std::uint64_t ops[kNumOps] = {}, throws[kNumOps] = {}, shape_throws[kNumOps] = {};
  std::vector<std::pair<std::string, std::uint64_t>> reasons;
  std::uint64_t optimizers[6] = {};

  void reason(const std::string& message) {
    static const char* const patterns[][2] = {
        {"but parameter is", "gradient of another shape"},
        {"state was made for", "parameter resized or viewed differently"},
        {"shares memory with its parameter", "gradient shares memory with its parameter"},
        {"own optimizer state", "gradient is the parameter's state"},
        {"is registered (#", "update() of a registered parameter"},
        {"already registered", "parameter registered twice"},
        {"now shares memory", "registered memory moved into overlap"},
        {"shares memory with registered", "registration overlaps another"},
        {"has no state yet", "state() without state"},
        {"no state buffer named", "state() of an unknown name"},
        {"overflows", "option overflows Scalar"},
        {"as float", "option zero or infinite as float"},
        {"as double", "option zero or infinite as double"},
        {"nesterov", "nesterov without momentum"},
        {"does not exist", "a group that does not exist"},
        {"has state with buffers", "options that change a stateful group's buffers"},
        {"NonFiniteGuard", "non-finite gradient (guard)"},
        {"error_if_nonfinite", "non-finite norm (error_if_nonfinite)"},
        {"no momentum", "set_momentum() of a rule without one"},
        {"is not a NonFinitePolicy", "option out of range"},
        {"must be", "option out of range"},
    };
    const char* label = "other";
    for (const auto& p : patterns)
      if (message.find(p[0]) != std::string::npos) {
        label = p[1];
        break;
      }
    for (auto& r : reasons)
      if (r.first == label) {
        ++r.second;
        return;
      }
    reasons.emplace_back(label, 1);
  }
};

const char* const kOptimizerNames[6] = {"Sgd", "Adagrad", "Rmsprop", "Adadelta", "Adam", "AdamW"};

template <class S>
class Fuzzer {
 public:
  using Opt = descend::Optimizer<S>;
  using MatX = typename Pools<S>::MatX;

  Fuzzer(Rng& rng, Stats& stats) : rng_(rng), stats_(stats), P_(std::make_unique<Pools<S>>()) {
    for (auto& m : P_->mat) m.resize(0, 0);
    P_->stable.resize(Pools<S>::kStableRows, Pools<S>::kStableCols);
    P_->stable_row.resize(Pools<S>::kStableCols, Pools<S>::kStableRows);
  }

  bool active() const { return opt_ != nullptr; }
  const std::string& optimizer_description() const { return opt_desc_; }
  const std::string& current() const { return current_; }
  std::string registrations() {
    std::string s;
    for (std::size_t i = 0; i < regs_.size(); ++i)
      s += fmt("  #%zu: ", i) + describe(*P_, regs_[i].param) + ", " + describe(*P_, regs_[i].grad) + "\n";
    return s;
  }

  // A new episode: fresh pools and an optimizer of a random kind.
  void start() {
    opt_.reset();
    regs_.clear();
    transforms_.clear();
    moved_since_step_ = false;
    known_.clear();
    pinned_.clear();
    Pools<S>& P = *P_;
    fill(P.buffer.data(), Pools<S>::kBuffer);
    for (int k = kMat; k <= kVec; ++k)
      for (int i = 0; i < kPoolSize[k]; ++i) {
        Desc<S> d;
        d.kind = static_cast<Kind>(k);
        d.id = i;
        Index r, c;
        random_shape(r, c);
        if (k == kVec) c = 1;
        resize_object(d, r, c);
      }
    for (auto& m : P.fix34) fill(m.data(), m.size());
    for (auto& m : P.fixrow43) fill(m.data(), m.size());
    for (auto& m : P.fix11) fill(m.data(), m.size());
    for (auto& m : P.fixarr25) fill(m.data(), m.size());
    fill(P.stable.data(), P.stable.size());
    fill(P.stable_row.data(), P.stable_row.size());
    for (int attempt = 0; !opt_; ++attempt) construct(attempt >= 8);
  }

  void end() { opt_.reset(); }

  void op() {
    prune_known();
    current_ = "nothing (a mutation that did not apply)";
    static const int weights[kNumOps] = {
        /*construct*/ 0, /*update*/ 24, /*add*/ 9, /*step*/ 14, /*zero_grad*/ 3, /*forget*/ 5,
        /*reset*/ 1, /*set_lr*/ 3, /*lookup*/ 6, /*move*/ 1, /*remove*/ 2, /*add_group*/ 1,
        /*set_options*/ 4, /*add_transform*/ 3, /*clear_transforms*/ 1, /*resize*/ 6, /*swap*/ 5,
        /*move-assign*/ 4, /*copy-assign*/ 2, /*fill*/ 5, /*repair*/ 4};
    int total = 0;
    for (int w : weights) total += w;
    Index x = rng_.below(total);
    int o = 0;
    while (x >= weights[o]) x -= weights[o++];
    switch (o) {
      case kOpUpdate: op_update(); break;
      case kOpAdd: op_add(); break;
      case kOpStep: op_step(); break;
      case kOpZeroGrad: op_zero_grad(); break;
      case kOpForget: op_forget(); break;
      case kOpReset: op_reset(); break;
      case kOpSetLr: op_set_lr(); break;
      case kOpLookup: op_lookup(); break;
      case kOpMove: op_move(); break;
      case kOpRemove: op_remove(); break;
      case kOpAddGroup: op_add_group(); break;
      case kOpSetOptions: op_set_options(); break;
      case kOpAddTransform: op_add_transform(); break;
      case kOpClearTransforms: op_clear_transforms(); break;
      case kOpResize: op_resize(); break;
      case kOpSwap: op_swap(); break;
      case kOpMoveAssign: op_move_assign(); break;
      case kOpCopyAssign: op_copy_assign(); break;
      case kOpFill: op_fill(); break;
      case kOpRepair: op_repair(); break;
    }
    if (o >= kNumCheckedOps && moved_now()) moved_since_step_ = true;
  }

 private:
  struct Reg {
    Desc<S> param, grad;
    Lay<S> seen_param, seen_grad;  // where they were when descend last read them (add, step)
    std::size_t group = 0;
  };
  // A gradient transform as added (the model of add_transform()).
  enum TransformKind { kClipNorm, kClipValue, kClipPerParameter, kGuard };
  struct Transform {
    TransformKind kind;
    bool error_if_nonfinite = false;  // kClipNorm
    bool skip = false;                // kGuard: NonFinitePolicy::skip
  };
  enum Outcome { kOk, kThrewShape, kThrewInvalid, kThrewOutOfRange, kThrewNonFinite };
  // Exceptions besides std::invalid_argument that a call may throw (its documentation says when).
  enum Allow : unsigned { kAllowNone = 0, kAllowOutOfRange = 1, kAllowNonFinite = 2 };
  static constexpr std::size_t kMaxKnown = 32;
  static constexpr std::size_t kMaxRegistrations = 10;

  // -- values and shapes ----------------------------------------------------

  void fill(S* p, Index n) {
    const bool special = rng_.chance(0.15);
    for (Index i = 0; i < n; ++i) {
      if (special && rng_.chance(0.05)) {
        static const S values[] = {std::numeric_limits<S>::quiet_NaN(), std::numeric_limits<S>::infinity(),
                                   -std::numeric_limits<S>::infinity(), S(0), -S(0),
                                   std::numeric_limits<S>::max(), std::numeric_limits<S>::denorm_min()};
        p[i] = rng_.pick(values);
      } else {
        p[i] = static_cast<S>(rng_.uniform() * 4 - 2);
      }
    }
  }

  void random_shape(Index& r, Index& c) {
    switch (rng_.below(9)) {
      case 0: r = rng_.below(4); c = 0; if (rng_.chance(0.5)) std::swap(r, c); return;  // empty
      case 1: r = c = 1; return;
      case 2: r = rng_.range(2, 40); c = rng_.range(1, 2); return;     // tall
      case 3: r = rng_.range(1, 2); c = rng_.range(2, 40); return;     // wide
      case 4: case 5: r = rng_.range(1, 6); c = rng_.range(1, 6); return;
      case 6: r = rng_.range(1, 24); c = rng_.range(1, 24); return;
      case 7: {  // large: the kernels' packets and 256-coefficient chunks
        static const Index shapes[][2] = {{700, 1}, {1, 600}, {17, 37}, {300, 2}, {2, 260}, {23, 23}};
        const auto& s = rng_.pick(shapes);
        r = s[0];
        c = s[1];
        return;
      }
      default: {  // the fixed-size kinds' shapes
        static const Index shapes[][2] = {{3, 4}, {4, 3}, {1, 1}, {2, 5}, {2, 3}};
        const auto& s = rng_.pick(shapes);
        r = s[0];
        c = s[1];
        return;
      }
    }
  }

  // -- objects ---------------------------------------------------------------

  // A dynamic object may get new memory unless a registered Map views its
  // memory (a resize to the same number of coefficients keeps it).
  bool may_reallocate(const Desc<S>& d, Index new_size) {
    const Lay<S> l = lay_of(*P_, d);
    if (busy_ != nullptr && l.data == busy_) return false;  // the call being prepared uses it
    return l.size() == new_size || pinned_.count(l.data) == 0;
  }

  void resize_object(const Desc<S>& d, Index r, Index c) {
    Pools<S>& P = *P_;
    const S* before = lay_of(P, d).data;
    const Index before_size = lay_of(P, d).size();
    switch (d.kind) {
      case kMat: P.mat[d.id].resize(r, c); break;
      case kRowMat: P.rowmat[d.id].resize(r, c); break;
      case kArr: P.arr[d.id].resize(r, c); break;
      case kVec: P.vec[d.id].resize(r); break;
      default: fail("fuzzer: resize of a fixed-size object");
    }
    const Lay<S> l = lay_of(P, d);
    if (pinned_.count(before) != 0 && (before_size != l.size() || l.data != before))
      fail("fuzzer: a pinned buffer was reallocated");
    fill(const_cast<S*>(l.data), l.size());
  }

  Desc<S> random_object(int kind = -1) {
    Desc<S> d;
    d.kind = static_cast<Kind>(kind >= 0 ? kind : rng_.below(kFixArr25 + 1));
    d.id = static_cast<int>(rng_.below(kPoolSize[d.kind]));
    return d;
  }

  // -- views -----------------------------------------------------------------

  void random_strides(Index r, Index c, Index& rs, Index& cs) {
    const Index a = rng_.chance(0.6) ? 1 : rng_.range(2, 3);
    const Index pad = rng_.chance(0.6) ? 0 : rng_.range(1, 5);
    const Index form = rng_.below(10);
    if (form < 5) {
      rs = a;
      cs = r * a + pad;  // column by column
    } else if (form < 9) {
      cs = a;
      rs = c * a + pad;  // row by row
    } else {
      rs = rng_.range(0, 4);  // anything, the view may even overlap itself
      cs = rng_.range(0, 6);
    }
  }

  // A view (or object) of kind k and shape r x c, near `near` when given (to
  // overlap it). Returns false when the kind cannot have that shape.
  bool make(Kind k, Index r, Index c, const Desc<S>* near, Desc<S>& d) {
    Pools<S>& P = *P_;
    d = Desc<S>{};
    d.kind = k;
    d.rows = r;
    d.cols = c;
    d.value = static_cast<S>(rng_.chance(0.9) ? rng_.uniform() * 4 - 2 : rng_.chance(0.5) ? kNaN : kInf);
    switch (k) {
      case kMat: case kRowMat: case kArr: case kVec: {
        if (k == kVec && c != 1) return false;
        d = random_object(k);
        if (near && near->kind == k && rng_.chance(0.5)) d.id = near->id;
        const Lay<S> l = lay_of(P, d);
        if (l.rows == r && l.cols == c) return true;
        if (!rng_.chance(0.5) || !may_reallocate(d, r * c)) return false;
        resize_object(d, r, c);
        return true;
      }
      case kFix34: case kFixRow43: case kFix11: case kFixArr25: {
        d = random_object(k);
        const Lay<S> l = lay_of(P, d);
        return l.rows == r && l.cols == c;
      }
      case kMapCol: case kMapRow: case kMapT: case kMapArr: case kMapVec: case kMapFix23:
      case kExprScaled: case kConstRef: {
        if (k == kMapVec && c != 1) return false;
        if (k == kMapFix23 && (r != 2 || c != 3)) return false;
        if (k == kMapArr || k == kMapFix23) {
          d.rs = 1;
          d.cs = r;
        } else if (k == kMapVec) {
          d.rs = rng_.chance(0.6) ? 1 : rng_.range(2, 3);
          d.cs = r * d.rs;
        } else {
          random_strides(r, c, d.rs, d.cs);
        }
        const Index extent = r * c == 0 ? 0 : (r - 1) * d.rs + (c - 1) * d.cs + 1;
        // Region: near's, a MatrixX's memory (not one this call is about
        // to use otherwise), or the buffer.
        d.id = -1;
        d.region = Pools<S>::kBuffer;
        if (near && is_map(near->kind)) {
          d.id = near->id;
          d.base = near->base;
          d.region = near->region;
        } else if ((near && near->kind == kMat) ||
                   (!near && rng_.chance(0.15) && k != kExprScaled && k != kConstRef)) {
          d.id = near ? near->id : static_cast<int>(rng_.below(kPoolSize[kMat]));
          d.base = P.mat[d.id].data();
          d.region = P.mat[d.id].size();
        }
        if (extent > d.region) return false;
        const Index room = d.region - extent;
        if (near && is_map(near->kind)) {
          d.r0 = std::min(room, std::max<Index>(0, near->r0 + rng_.range(-3, 3)));
        } else if (near) {
          d.r0 = std::min(room, rng_.below(4));
        } else {
          d.r0 = rng_.chance(0.5) ? rng_.below(std::min<Index>(room, 96) + 1) : rng_.below(room + 1);
        }
        return true;
      }
      case kBlock: case kRef: case kBlockRow: case kBlockFix: case kRefRow: {
        const bool fixed = k == kBlockFix;
        const Index R = fixed ? 3 : k == kBlockRow ? Pools<S>::kStableCols : Pools<S>::kStableRows;
        const Index C = fixed ? 4 : k == kBlockRow ? Pools<S>::kStableRows : Pools<S>::kStableCols;
        if (k == kRefRow && r != 1) return false;
        if (r > R || c > C) return false;
        if (fixed) d.id = static_cast<int>(rng_.below(kPoolSize[kFix34]));
        if (near && near->kind == k && near->id == d.id && rng_.chance(0.7)) {
          d.r0 = std::min(R - r, std::max<Index>(0, near->r0 + rng_.range(-2, 2)));
          d.c0 = std::min(C - c, std::max<Index>(0, near->c0 + rng_.range(-2, 2)));
        } else {
          d.r0 = k == kRefRow ? rng_.below(R) : rng_.below(R - r + 1);
          d.c0 = rng_.below(C - c + 1);
        }
        return true;
      }
      default:
        return false;
    }
  }

  // Whether a Map's memory is still there: the buffer, memory that a
  // registered Map views (never freed), or its MatrixX's unchanged memory.
  bool valid_map(const Desc<S>& d) const {
    if (!is_map(d.kind) || d.id < 0 || pinned_.count(d.base) != 0) return true;
    const auto& m = P_->mat[d.id];
    return m.data() == d.base && m.size() == d.region;
  }

  void prune_known() {
    known_.erase(std::remove_if(known_.begin(), known_.end(),
                                [&](const Desc<S>& d) { return !valid_map(d); }),
                 known_.end());
  }

  void remember(const Desc<S>& d) {
    if (is_object(d.kind) || d.kind >= kWritableKinds) return;
    for (const Desc<S>& k : known_)
      if (same_desc(k, d)) return;
    if (known_.size() < kMaxKnown) {
      known_.push_back(d);
      return;
    }
    for (int attempt = 0; attempt < 8; ++attempt) {  // forget one that is not registered
      Desc<S>& victim = known_[static_cast<std::size_t>(rng_.below(static_cast<Index>(known_.size())))];
      if (!registered_view(victim)) {
        victim = d;
        return;
      }
    }
  }

  bool registered_view(const Desc<S>& d) const {
    for (const Reg& r : regs_)
      if (same_desc(r.param, d) || same_desc(r.grad, d)) return true;
    return false;
  }

  // A parameter for update() or add().
  Desc<S> choose_param() {
    const double x = rng_.uniform();
    if (x < 0.3) return random_object();
    if (x < 0.5 && !known_.empty())
      return known_[static_cast<std::size_t>(rng_.below(static_cast<Index>(known_.size())))];
    if (x < 0.6 && !regs_.empty())
      return regs_[static_cast<std::size_t>(rng_.below(static_cast<Index>(regs_.size())))].param;
    Index r, c;
    random_shape(r, c);
    Desc<S> d;
    for (int attempt = 0; attempt < 20; ++attempt) {
      const Kind k = static_cast<Kind>(rng_.range(kMapCol, kWritableKinds - 1));
      if (make(k, r, c, nullptr, d)) return d;
    }
    if (make(kMapCol, r, c, nullptr, d)) return d;
    return random_object();
  }

  // A gradient for p: usually of p's shape, sometimes p itself, near it, a
  // registered parameter or gradient, or (update only) an expression.
  Desc<S> choose_grad(const Desc<S>& p, bool for_update) {
    const Lay<S> lp = lay_of(*P_, p);
    busy_ = is_map(p.kind) && p.id >= 0 ? p.base : is_dynamic_object(p.kind) ? lp.data : nullptr;
    struct Clear {
      const S*& b;
      ~Clear() { b = nullptr; }
    } clear{busy_};
    Index r = lp.rows, c = lp.cols;
    if (rng_.chance(0.05)) random_shape(r, c);
    else if (rng_.chance(0.02)) std::swap(r, c);
    const std::uint64_t allowed = for_update ? update_grads_for(p.kind) : add_grads_for(p.kind);
    const double x = rng_.uniform();
    if (x < 0.08 && (allowed & bit(p.kind))) return p;
    Desc<S> d;
    if (x < 0.2) {
      if (p.kind != kMapFix23 && (is_map(p.kind) || p.kind == kMat) && (allowed & bit(kMapCol)) &&
          make(kMapCol, r, c, &p, d))
        return d;
      if ((p.kind == kBlock || p.kind == kBlockRow) && make(p.kind, r, c, &p, d)) return d;
    }
    if (x < 0.3 && !regs_.empty()) {
      const Reg& reg = regs_[static_cast<std::size_t>(rng_.below(static_cast<Index>(regs_.size())))];
      const Desc<S>& other = rng_.chance(0.5) ? reg.param : reg.grad;
      const Lay<S> lo = lay_of(*P_, other);
      if ((allowed & bit(other.kind)) && lo.rows == r && lo.cols == c) return other;
    }
    if (for_update && x < 0.55) {
      const Kind k = static_cast<Kind>(rng_.range(kExprScaled, kAllKinds - 1));
      if ((allowed & bit(k)) == 0) return make(kMapCol, r, c, nullptr, d) ? d : p;
      if (k == kExprParam || k == kConstant || k == kTemp) {
        make(kConstant, r, c, nullptr, d);  // the value
        d.kind = k;
        if (k == kExprParam) {  // s * param has the parameter's shape
          d.rows = lp.rows;
          d.cols = lp.cols;
        }
        return d;
      }
      if (k == kStateMap && state_map(p, r, c, d)) return d;
      if ((k == kExprScaled || k == kConstRef) && make(k, r, c, nullptr, d)) return d;
    }
    for (int attempt = 0; attempt < 20; ++attempt) {
      const Kind k = static_cast<Kind>(rng_.below(kWritableKinds));
      if ((allowed & bit(k)) && make(k, r, c, nullptr, d)) return d;
    }
    if (make(kMapCol, r, c, nullptr, d)) return d;
    return p;  // every parameter kind may be its own gradient
  }

  // A gradient over the memory of one of p's state buffers (or another's).
  bool state_map(const Desc<S>& p, Index r, Index c, Desc<S>& d) {
    const std::vector<std::string> names = opt_->buffer_names();
    if (names.empty()) return false;
    const Desc<S> owner = rng_.chance(0.7) || known_.empty()
                              ? p
                              : known_[static_cast<std::size_t>(rng_.below(static_cast<Index>(known_.size())))];
    const std::string& name = names[static_cast<std::size_t>(rng_.below(static_cast<Index>(names.size())))];
    const S* data = nullptr;
    Index size = 0;
    if (look(owner, kLookState, name, &data, &size) < 0 || size < r * c) return false;
    d = Desc<S>{};
    d.kind = kStateMap;
    d.rows = r;
    d.cols = c;
    d.cdata = data + rng_.below(size - r * c + 1);
    return true;
  }

  // -- the snapshot ------------------------------------------------------------

  struct Snapshot {
    std::vector<unsigned char> bytes;
    std::vector<std::int64_t> meta;
    std::vector<std::string> labels;   // filled only when describing a difference
    std::vector<std::size_t> ends;     // bytes.size() and meta.size() after each part
  };

  void put(Snapshot& s, const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    s.bytes.insert(s.bytes.end(), b, b + n);
  }
  void mark(Snapshot& s, bool labelled, const std::string& label) {
    s.ends.push_back(s.bytes.size());
    s.ends.push_back(s.meta.size());
    if (labelled) s.labels.push_back(label);
  }

  // Codes for a lookup that threw.
  static constexpr std::int64_t kLookupShapeError = -1000001, kLookupInvalid = -1000002;

  template <class F>
  std::int64_t lookup(F&& f) {
    try {
      return f();
    } catch (const descend::ShapeError&) {
      return kLookupShapeError;
    } catch (const std::invalid_argument&) {
      return kLookupInvalid;
    } catch (const std::exception& e) {
      fail(fmt("a state lookup threw %s (not std::invalid_argument): %s", typeid(e).name(), e.what()));
    } catch (const Failure&) {
      throw;
    } catch (...) {
      fail("a state lookup threw something that is not a std::exception");
    }
  }

  // One call through d, as the Eigen object it is: every lookup (and
  // forget) goes through here, so that each kind instantiates them once.
  enum Look { kLookHas, kLookCount, kLookState, kLookForget, kLookNames, kLookGroup };
  std::int64_t look_raw(const Desc<S>& d, Look what, const std::string& name = std::string(),
                        const S** data = nullptr, Index* size = nullptr) {
    std::int64_t result = 0;
    with_view<kParamKinds>(*P_, d, [&](auto& x, auto) {
      switch (what) {
        case kLookHas: result = opt_->has_state(x); break;
        case kLookCount: result = opt_->step_count(x); break;
        case kLookState: {
          const auto m = opt_->state(x, name);
          if (data) *data = m.data();
          if (size) *size = m.size();
          result = m.size();
          break;
        }
        case kLookForget: result = opt_->forget(x); break;
        case kLookNames: result = static_cast<std::int64_t>(opt_->buffer_names().size()); break;
        case kLookGroup: result = static_cast<std::int64_t>(opt_->group_of(x)); break;
      }
    });
    return result;
  }
  std::int64_t look(const Desc<S>& d, Look what, const std::string& name = std::string(),
                    const S** data = nullptr, Index* size = nullptr) {
    return lookup([&] { return look_raw(d, what, name, data, size); });
  }

  // A Map of the memory and layout l: the parameter as update() finds it.
  static Desc<S> memory_of(const Lay<S>& l) {
    Desc<S> d;
    d.kind = kMapCol;
    d.id = -2;
    d.base = const_cast<S*>(l.data);
    d.rows = l.rows;
    d.cols = l.cols;
    d.rs = l.rs;
    d.cs = l.cs;
    return d;
  }

  // names: every group's buffer names; common: those every group has (a
  // parameter's state has its group's buffers).
  void snapshot_state(Snapshot& s, const Desc<S>& d, const std::vector<std::string>& names,
                      const std::vector<std::string>& common) {
    const std::int64_t has = look(d, kLookHas);
    s.meta.push_back(has);
    if (has < 0) return;
    const std::int64_t count = look(d, kLookCount);
    s.meta.push_back(count);
    if (has == 0) {
      if (count != 0) fail(fmt("has_state() is false but step_count() is %ld", static_cast<long>(count)));
      return;
    }
    for (const std::string& name : names) {
      const S* data = nullptr;
      Index size = 0;
      const std::int64_t n = look(d, kLookState, name, &data, &size);
      if (n == kLookupInvalid && std::find(common.begin(), common.end(), name) != common.end())
        fail(fmt("state('%s') threw (not ShapeError) although has_state() is true", name.c_str()));
      s.meta.push_back(n);
      if (n >= 0) put(s, data, sizeof(S) * static_cast<std::size_t>(size));
    }
  }

  void take(Snapshot& s, bool labelled = false) {
    Pools<S>& P = *P_;
    s.bytes.clear();
    s.meta.clear();
    s.labels.clear();
    s.ends.clear();
    put(s, P.buffer.data(), sizeof P.buffer);
    mark(s, labelled, "the buffer that Maps view");
    for (int k = kMat; k <= kFixArr25; ++k)
      for (int i = 0; i < kPoolSize[k]; ++i) {
        Desc<S> d;
        d.kind = static_cast<Kind>(k);
        d.id = i;
        const Lay<S> l = lay_of(P, d);
        s.meta.push_back(static_cast<std::int64_t>(reinterpret_cast<std::uintptr_t>(l.data)));
        s.meta.push_back(l.rows);
        s.meta.push_back(l.cols);
        put(s, l.data, sizeof(S) * static_cast<std::size_t>(l.size()));
        mark(s, labelled, "the coefficients of " + (labelled ? describe(P, d) : std::string()));
      }
    put(s, P.stable.data(), sizeof(S) * static_cast<std::size_t>(P.stable.size()));
    put(s, P.stable_row.data(), sizeof(S) * static_cast<std::size_t>(P.stable_row.size()));
    mark(s, labelled, "the matrices that Blocks and Refs view");
    s.meta.push_back(static_cast<std::int64_t>(opt_->num_states()));
    s.meta.push_back(static_cast<std::int64_t>(opt_->num_registered()));
    const double lrs[2] = {opt_->lr(), opt_->current_lr()};
    put(s, lrs, sizeof lrs);
    mark(s, labelled, "num_states(), num_registered(), lr() or current_lr()");
    s.meta.push_back(static_cast<std::int64_t>(opt_->num_groups()));
    s.meta.push_back(static_cast<std::int64_t>(opt_->num_transforms()));
    typed([&](auto& o, auto) {
      for (std::size_t g = 0; g < o.num_groups(); ++g) {
        const std::vector<double> f = fields(o.options(g));
        put(s, f.data(), sizeof(double) * f.size());
        const double lr = o.lr(g);
        put(s, &lr, sizeof lr);
      }
    });
    mark(s, labelled, "num_groups(), num_transforms(), or a group's options or lr()");
    std::vector<std::string> names, common = opt_->buffer_names(0);
    for (std::size_t g = 0; g < opt_->num_groups(); ++g) {
      const std::vector<std::string> n = opt_->buffer_names(g);
      for (const std::string& name : n)
        if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
      common.erase(std::remove_if(common.begin(), common.end(),
                                  [&](const std::string& c) { return std::find(n.begin(), n.end(), c) == n.end(); }),
                   common.end());
    }
    for (int k = kMat; k <= kFixArr25; ++k)
      for (int i = 0; i < kPoolSize[k]; ++i) {
        Desc<S> d;
        d.kind = static_cast<Kind>(k);
        d.id = i;
        snapshot_state(s, d, names, common);
        mark(s, labelled, "has_state/step_count/state of " + (labelled ? describe(P, d) : std::string()));
      }
    for (const Desc<S>& d : known_) {
      snapshot_state(s, d, names, common);
      mark(s, labelled, "has_state/step_count/state of " + (labelled ? describe(P, d) : std::string()));
    }
  }

  // Fails unless the state now equals before_ byte for byte, naming the
  // first part that differs.
  void expect_unchanged(const char* when) {
    take(after_);
    if (after_.bytes == before_.bytes && after_.meta == before_.meta) return;
    Snapshot labelled;
    take(labelled, true);
    std::string what = "something";
    const auto part_equal = [&](std::size_t part) {
      const auto range = [&](const Snapshot& s, int which, std::size_t& lo, std::size_t& hi) {
        lo = part == 0 ? 0 : s.ends[2 * part - 2 + static_cast<std::size_t>(which)];
        hi = s.ends[2 * part + static_cast<std::size_t>(which)];
      };
      std::size_t b0, b1, a0, a1, m0, m1, n0, n1;
      range(before_, 0, b0, b1);
      range(after_, 0, a0, a1);
      range(before_, 1, m0, m1);
      range(after_, 1, n0, n1);
      return b1 - b0 == a1 - a0 && m1 - m0 == n1 - n0 &&
             std::memcmp(before_.bytes.data() + b0, after_.bytes.data() + a0, b1 - b0) == 0 &&
             std::equal(before_.meta.begin() + static_cast<std::ptrdiff_t>(m0),
                        before_.meta.begin() + static_cast<std::ptrdiff_t>(m1),
                        after_.meta.begin() + static_cast<std::ptrdiff_t>(n0));
    };
    const std::size_t parts = std::min(before_.ends.size(), after_.ends.size()) / 2;
    for (std::size_t part = 0; part < parts; ++part)
      if (!part_equal(part)) {
        what = part < labelled.labels.size() ? labelled.labels[part] : "a part";
        break;
      }
    fail(fmt("%s, %s changed", when, what.c_str()));
  }

  // -- checked calls ---------------------------------------------------------------

  // Runs f and classifies how it ended; anything thrown but a
  // std::invalid_argument (or the fuzzer's own Failure) is a finding.
  template <class F>
  Outcome outcome_of(F&& f, std::string& message, unsigned allow = kAllowNone) {
    try {
      f();
      return kOk;
    } catch (const descend::ShapeError& e) {
      message = e.what();
      return kThrewShape;
    } catch (const std::invalid_argument& e) {
      message = e.what();
      return kThrewInvalid;
    } catch (const std::out_of_range& e) {
      if ((allow & kAllowOutOfRange) == 0)
        fail(fmt("threw std::out_of_range, which is not a std::invalid_argument: %s", e.what()));
      message = e.what();
      return kThrewOutOfRange;
    } catch (const descend::NonFiniteError& e) {
      if ((allow & kAllowNonFinite) == 0)
        fail(fmt("threw descend::NonFiniteError with no guard or error_if_nonfinite installed: %s", e.what()));
      message = e.what();
      return kThrewNonFinite;
    } catch (const std::exception& e) {
      fail(fmt("threw %s, which is not a std::invalid_argument: %s", typeid(e).name(), e.what()));
    } catch (const Failure&) {
      throw;  // the fuzzer's own
    } catch (...) {
      fail("threw something that is not a std::exception");
    }
  }

  // Runs one library call: it returns or throws std::invalid_argument, and a
  // throw (or, with `must_not_change`, anything) leaves every byte as it was.
  template <class F>
  Outcome call(Op op, F&& f, bool must_not_change = false, unsigned allow = kAllowNone) {
    take(before_);
    std::string message;
    const Outcome out = outcome_of(f, message, allow);
    ++stats_.checked;
    ++stats_.ops[op];
    last_message_ = message;
    if (g_trace) std::fprintf(stderr, "    %s: %s\n", current_.c_str(), out == kOk ? "returned" : message.c_str());
    if (out != kOk) {
      ++stats_.throws[op];
      if (out == kThrewShape) ++stats_.shape_throws[op];
      stats_.reason(message);
      settle_grads();
      expect_unchanged(("after it threw \"" + message + "\"").c_str());
    } else if (must_not_change) {
      expect_unchanged("after it returned");
    }
    return out;
  }

  bool on(Oracle o) const { return g_oracle_on[o]; }
  [[noreturn]] void oracle_fail(Oracle o, const std::string& what) {
    fail(fmt("[check '%s'] %s", kOracleNames[o], what.c_str()));
  }
  std::string threw_or_returned(Outcome out) const {
    return out == kOk ? std::string("returned") : "threw \"" + last_message_ + "\"";
  }

  void check_lay(const Lay<S>& l, const Desc<S>& d, const S* data, Index rows, Index cols) {
    if ((rows * cols != 0 && data != l.data) || rows != l.rows || cols != l.cols)
      fail("fuzzer: its model of " + describe(*P_, d) + " is wrong");
  }

  // -- construction ------------------------------------------------------------------

  template <class O, class Options>
  void build(const Options& options, bool valid, const std::string& description, int which) {
    current_ = "construct " + description;
    std::unique_ptr<Opt> made;
    opt_desc_ = description;
    // No optimizer yet: the snapshot would have nothing to read; a throwing
    // constructor leaves nothing behind by construction.
    std::string message;
    const Outcome out = outcome_of([&] { made = std::make_unique<O>(options); }, message);
    ++stats_.checked;
    ++stats_.ops[kOpConstruct];
    if (out != kOk) {
      ++stats_.throws[kOpConstruct];
      stats_.reason(message);
    }
    if (on(kOracleOptions) && (out == kOk) != valid)
      oracle_fail(kOracleOptions, out == kOk ? "accepted options that its checks reject"
                                             : "rejected valid options: " + message);
    if (out != kOk) return;
    opt_ = std::move(made);
    ++stats_.optimizers[which];
    mover_ = [](Opt& o) -> std::unique_ptr<Opt> { return std::make_unique<O>(std::move(static_cast<O&>(o))); };
  }

  void construct(bool plain) {
    switch (rng_.below(6)) {
      case 0: return construct_as<descend::Sgd<S>, descend::SgdOptions>(plain, 0);
      case 1: return construct_as<descend::Adagrad<S>, descend::AdagradOptions>(plain, 1);
      case 2: return construct_as<descend::Rmsprop<S>, descend::RmspropOptions>(plain, 2);
      case 3: return construct_as<descend::Adadelta<S>, descend::AdadeltaOptions>(plain, 3);
      case 4: return construct_as<descend::Adam<S>, descend::AdamOptions>(plain, 4);
      default: return construct_as<descend::AdamW<S>, descend::AdamWOptions>(plain, 5);
    }
  }

  template <class O, class Options>
  void construct_as(bool plain, int which) {
    Options o;
    if (!plain) randomize(rng_, o);
    const char* scalar = std::is_same<S, float>::value ? "float" : "double";
    build<O>(o, valid_options<S>(o), fmt("%s<%s>", kOptimizerNames[which], scalar) + describe_options(o), which);
    if (!opt_) return;
    which_ = which;
    if (rng_.chance(0.3))  // groups from the start: valid and invalid options
      for (Index n = rng_.range(1, 2); n > 0; --n) op_add_group();
  }

  // Calls f(the optimizer as its own type, a default Options of its kind).
  template <class F>
  void typed(F&& f) {
    switch (which_) {
      case 0: return f(static_cast<descend::Sgd<S>&>(*opt_), descend::SgdOptions{});
      case 1: return f(static_cast<descend::Adagrad<S>&>(*opt_), descend::AdagradOptions{});
      case 2: return f(static_cast<descend::Rmsprop<S>&>(*opt_), descend::RmspropOptions{});
      case 3: return f(static_cast<descend::Adadelta<S>&>(*opt_), descend::AdadeltaOptions{});
      case 4: return f(static_cast<descend::Adam<S>&>(*opt_), descend::AdamOptions{});
      default: return f(static_cast<descend::AdamW<S>&>(*opt_), descend::AdamWOptions{});
    }
  }

  // -- the model's view of registrations ------------------------------------------------

  // Whether a registered parameter or gradient moved since descend last saw
  // it (at add() or step()), even if it has moved back since.
  bool any_moved() { return moved_since_step_ || moved_now(); }

  bool moved_now() {
    for (const Reg& r : regs_)
      if (lay_of(*P_, r.param).data != r.seen_param.data || lay_of(*P_, r.grad).data != r.seen_grad.data)
        return true;
    return false;
  }

  bool registered_overlap_now() {
    std::vector<Lay<S>> lays;
    for (const Reg& r : regs_) {
      lays.push_back(lay_of(*P_, r.param));
      lays.push_back(lay_of(*P_, r.grad));
    }
    for (std::size_t i = 0; i < lays.size(); ++i)
      for (std::size_t j = i + 1; j < lays.size(); ++j)
        if (share(lays[i], lays[j])) return true;
    return false;
  }

  bool is_registered_param_object(const Desc<S>& d) const {
    if (!is_object(d.kind)) return false;
    for (const Reg& r : regs_)
      if (r.param.kind == d.kind && r.param.id == d.id) return true;
    return false;
  }

  // Whether p is a registered parameter: the object, or a non-empty view
  // whose first coefficient is a registered parameter's now.
  bool is_registered_param(const Desc<S>& p) {
    if (is_registered_param_object(p)) return true;
    const Lay<S> lp = lay_of(*P_, p);
    if (lp.size() == 0) return false;
    for (const Reg& r : regs_) {
      const Lay<S> l = lay_of(*P_, r.param);
      if (l.size() > 0 && l.data == lp.data) return true;
    }
    return false;
  }

  // The step count of a registered parameter as the API reports it: the
  // object's own, or that of the memory it is at (whose state a first step
  // adopts). -1 when unknown: a lookup throws, or the memory is where another
  // registration was at the last step() (state still keyed there is that
  // one's, and follows it).
  // by_memory: the count is that of state at its memory, which a first
  // step adopts only if update() made it and the registration is in group 0.
  std::int64_t effective_count(const Reg& r, bool* by_memory = nullptr) {
    if (by_memory) *by_memory = true;
    if (is_object(r.param.kind)) {
      const std::int64_t has = look(r.param, kLookHas);
      if (has < 0) return -1;
      if (has == 1) {
        if (by_memory) *by_memory = false;
        const std::int64_t count = look(r.param, kLookCount);
        return count < 0 ? -1 : count;
      }
    }
    const Lay<S> l = lay_of(*P_, r.param);
    for (const Reg& other : regs_)
      if (&other != &r && other.seen_param.size() > 0 && other.seen_param.data == l.data) return -1;
    const std::int64_t count = look(memory_of(l), kLookCount);
    return count < 0 ? -1 : count;
  }

  // -- operations ---------------------------------------------------------------------

  void op_update() {
    Desc<S> p = choose_param();
    const Desc<S> g = choose_grad(p, true);
    Pools<S>& P = *P_;
    const Lay<S> lp = lay_of(P, p), lg = lay_of(P, g);
    current_ = "update(" + describe(P, p) + ", " + describe(P, g) + ")";
    // What the documentation says must happen.
    const bool shape_differs = lp.rows != lg.rows || lp.cols != lg.cols;
    const bool empty = lp.size() == 0;
    const bool aliased = has_memory(g.kind) && g.kind != kTemp && g.kind != kConstRef && share(lp, lg);
    const bool registered = is_registered_param(p);
    // update() may miss memory a registered object moved onto since the last
    // step() (documented; step() drops state update() made there).
    const bool must_refuse = is_registered_param_object(p) || (registered && !any_moved());
    bool state_aliased = false, layout_differs = false;
    if (!shape_differs && !empty && !registered && has_memory(g.kind) && g.kind != kTemp &&
        g.kind != kConstRef) {
      // The parameter's own state, as update() finds it: by memory.
      const Desc<S> m = memory_of(lp);
      const std::int64_t has = look(m, kLookHas);
      layout_differs = has == kLookupShapeError;
      if (has == 1) {
        for (const std::string& name : opt_->buffer_names()) {
          const S* data = nullptr;
          Index size = 0;
          look(m, kLookState, name, &data, &size);
          state_aliased = state_aliased || share(Lay<S>{data, size, 1, 1, size}, lg);
        }
      }
    }
    const Outcome out = call(kOpUpdate, [&] {
      with_view<kParamKinds>(P, p, [&](auto& x, auto kind) {
        with_grad<update_grads_for(decltype(kind)::value)>(P, g, x, [&](const auto& gr) {
          check_lay(lp, p, x.data(), x.rows(), x.cols());
          opt_->update(x, gr);
        });
      });
    });
    if (out == kOk) remember(p);
    if (on(kOracleShape) && shape_differs && out != kThrewShape)
      oracle_fail(kOracleShape, "a gradient of another shape: expected ShapeError, but update() " + threw_or_returned(out));
    if (shape_differs) return;
    if (on(kOracleEmpty) && empty && out != kOk)
      oracle_fail(kOracleEmpty, "update() of an empty parameter " + threw_or_returned(out));
    if (empty) return;
    if (on(kOracleAlias) && (aliased || state_aliased) && out == kOk)
      oracle_fail(kOracleAlias, aliased ? "update() accepted a gradient that shares memory with its parameter"
                                        : "update() accepted a gradient that shares memory with the parameter's state");
    if (on(kOracleRegistered) && must_refuse && out == kOk)
      oracle_fail(kOracleRegistered, "update() accepted a registered parameter (step() updates it)");
    if (on(kOracleShape) && layout_differs && out == kOk)
      oracle_fail(kOracleShape, "update() at memory whose state has another layout returned");
  }

  void op_add() {
    if (regs_.size() >= kMaxRegistrations) return op_step();
    Desc<S> p = choose_param();
    Desc<S> g = choose_grad(p, false);
    Pools<S>& P = *P_;
    const Lay<S> lp = lay_of(P, p), lg = lay_of(P, g);
    current_ = "add(" + describe(P, p) + ", " + describe(P, g) + ")";
    const bool shape_differs = lp.rows != lg.rows || lp.cols != lg.cols;
    // Why it must throw, if it must: with the registrations where they are
    // now (documented), and where descend last read them.
    const auto conflict = [&](bool now) {
      if (shape_differs) return std::string("the shapes differ");
      if (is_registered_param_object(p)) return std::string("the parameter object is registered");
      if (share(lp, lg)) return std::string("the gradient shares memory with its parameter");
      for (std::size_t i = 0; i < regs_.size(); ++i) {
        const Lay<S> a = now ? lay_of(P, regs_[i].param) : regs_[i].seen_param;
        const Lay<S> b = now ? lay_of(P, regs_[i].grad) : regs_[i].seen_grad;
        if (share(lp, a) || share(lp, b) || share(lg, a) || share(lg, b))
          return fmt("it shares memory with registration #%zu (%s, %s)%s", i,
                     describe(P, regs_[i].param).c_str(), describe(P, regs_[i].grad).c_str(),
                     now ? " as they are now" : " as they were at the last step()");
      }
      return std::string();
    };
    const std::string why = conflict(true), why_seen = conflict(false);
    const std::size_t before = opt_->num_registered();
    // The group: usually one that exists, sometimes one that does not.
    const std::size_t groups = opt_->num_groups();
    const double gx = rng_.uniform();
    const std::size_t group = gx < 0.6 ? 0 : gx < 0.95 ? static_cast<std::size_t>(rng_.below(static_cast<Index>(groups)))
                                                      : groups + static_cast<std::size_t>(rng_.below(3));
    const bool missing = group >= groups;
    current_ += fmt(" to group %zu", group);
    const Outcome out = call(kOpAdd, [&] {
      with_view<kParamKinds>(P, p, [&](auto& x, auto kind) {
        with_view<add_grads_for(decltype(kind)::value)>(P, g, [&](auto& gr, auto) {
          check_lay(lp, p, x.data(), x.rows(), x.cols());
          check_lay(lg, g, gr.data(), gr.rows(), gr.cols());
          opt_->add(x, gr, group);
        });
      });
    }, false, kAllowOutOfRange);
    // A missing group: std::out_of_range, unless the shapes differ (checked first).
    if (on(kOracleGroups) && missing && !shape_differs && out != kThrewOutOfRange)
      oracle_fail(kOracleGroups, fmt("add() to group %zu of %zu: expected std::out_of_range, but it ", group, groups) +
                                     threw_or_returned(out));
    if (on(kOracleGroups) && !missing && out == kThrewOutOfRange)
      oracle_fail(kOracleGroups, "add() to an existing group threw std::out_of_range: " + last_message_);
    if (missing) return;
    if (on(kOracleShape) && shape_differs && out != kThrewShape)
      oracle_fail(kOracleShape, "a gradient of another shape: expected ShapeError, but add() " + threw_or_returned(out));
    if (out == kOk && !why.empty() && !any_moved() && on(kOracleAdd))
      oracle_fail(kOracleAdd, "add() accepted it, but " + why);
    // A registered object that moved since the last step() may have moved
    // onto the new pair's memory, which add() need not see: step() refuses
    // it (step-overlap). add() refuses everything while moves made
    // registered memory overlap, saying so.
    if (out != kOk && why.empty()) {
      const bool overlap_now = registered_overlap_now();
      const Oracle o = overlap_now ? kOracleAddMoved : kOracleAdd;
      if (on(o) && (!overlap_now || last_message_.find("now shares memory") == std::string::npos))
        oracle_fail(o, "add() threw \"" + last_message_ + "\", but nothing overlaps it now" +
                           (why_seen.empty() ? std::string() : " (" + why_seen + ")"));
    }
    if (out != kOk) return;
    if (opt_->num_registered() != before + 1) fail("add() returned but num_registered() did not grow by one");
    for (const Desc<S>* d : {&p, &g})
      if (is_map(d->kind) && d->id >= 0) pinned_.insert(d->base);
    regs_.push_back({p, g, lp, lg, group});
    if (on(kOracleGroups) && is_object(p.kind)) {
      std::size_t found = groups + 100;
      const Outcome o = outcome_of([&] { with_view<kParamKinds>(P, p, [&](auto& x, auto) { found = opt_->group_of(x); }); },
                                   last_message_);
      if (o != kOk || found != group)
        oracle_fail(kOracleGroups, fmt("group_of() of a parameter just added to group %zu ", group) +
                                       (o == kOk ? fmt("is %zu", found) : "threw \"" + last_message_ + "\""));
    }
    remember(p);
    remember(g);
  }

  void op_step() {
    Pools<S>& P = *P_;
    current_ = fmt("step() with %zu registrations, %zu transforms", regs_.size(), transforms_.size());
    bool shape_differs = false;
    std::string overlap;
    std::vector<Lay<S>> lays;
    for (const Reg& r : regs_) {
      const Lay<S> a = lay_of(P, r.param), b = lay_of(P, r.grad);
      shape_differs = shape_differs || a.rows != b.rows || a.cols != b.cols;
      lays.push_back(a);
      lays.push_back(b);
    }
    for (std::size_t i = 0; i < lays.size() && overlap.empty(); ++i)
      for (std::size_t j = i + 1; j < lays.size() && overlap.empty(); ++j)
        if (share(lays[i], lays[j]))
          overlap = fmt("registration #%zu's %s and #%zu's %s share memory", i / 2, i % 2 ? "gradient" : "parameter",
                        j / 2, j % 2 ? "gradient" : "parameter");
    std::vector<std::int64_t> counts;
    std::vector<char> by_memory(regs_.size(), 0);
    if (on(kOracleStepCount))
      for (std::size_t i = 0; i < regs_.size(); ++i) {
        bool m = false;
        counts.push_back(effective_count(regs_[i], &m));
        by_memory[i] = m;
      }
    // The gradients as the transforms will find them.
    bool nonfinite = false, extreme = false;
    std::size_t non_empty = 0;
    grads_before_.clear();
    for (std::size_t i = 0; i < regs_.size(); ++i) {
      const Lay<S>& l = lays[2 * i + 1];
      non_empty += lays[2 * i].size() > 0 ? 1 : 0;
      for (Index j = 0; j < l.cols; ++j)
        for (Index k = 0; k < l.rows; ++k) {
          S* a = const_cast<S*>(l.data + k * l.rs + j * l.cs);
          grads_before_.emplace_back(a, *a);
          nonfinite = nonfinite || !std::isfinite(*a);
          extreme = extreme || !(std::abs(static_cast<double>(*a)) <= 1e100);  // a norm may overflow
        }
    }
    bool guard = false, skip_guard = false, error_clip = false;
    for (const Transform& t : transforms_) {
      guard = guard || t.kind == kGuard;
      skip_guard = skip_guard || (t.kind == kGuard && t.skip);
      error_clip = error_clip || (t.kind == kClipNorm && t.error_if_nonfinite);
    }
    descend::StepReport report;
    const Outcome out = call(kOpStep, [&] { report = opt_->step(); }, false,
                             guard || error_clip ? kAllowNonFinite : kAllowNone);
    if (on(kOracleShape) && shape_differs && out != kThrewShape)
      oracle_fail(kOracleShape, "a registered gradient of another shape: expected ShapeError, but step() " + threw_or_returned(out));
    if (on(kOracleStepOverlap) && !overlap.empty() && out == kOk)
      oracle_fail(kOracleStepOverlap, "step() returned, but " + overlap);
    if (on(kOracleGuard) && out == kThrewNonFinite && !(guard && nonfinite) && !(error_clip && extreme))
      oracle_fail(kOracleGuard, "step() threw NonFiniteError, but every registered gradient is finite (and not huge): " +
                                    last_message_);
    const bool skipped = out == kOk && report.skipped;
    if (skipped) {
      if (on(kOracleGuard) && !(skip_guard && nonfinite))
        oracle_fail(kOracleGuard, nonfinite ? "step() skipped with no NonFiniteGuard of policy skip installed"
                                            : "step() skipped, but every registered gradient is finite");
      settle_grads();
      expect_unchanged("after a skipped step()");
      const descend::StepReport& last = opt_->last_step();
      if (on(kOracleReport) && (report.applied || report.updated != 0 || !last.skipped || last.applied ||
                                last.updated != 0))
        oracle_fail(kOracleReport, fmt("a skipped step() reports applied %d, updated %zu; last_step(): skipped %d, "
                                       "applied %d, updated %zu", report.applied, report.updated, last.skipped,
                                       last.applied, last.updated));
      // Known to fail with two guards: the second, which did not run, reports its own zeros.
      if (on(kOracleGuardCount) && (last.skipped_in_a_row == 0 || last.skipped_total == 0))
        oracle_fail(kOracleGuardCount, fmt("a skipped step() reports skipped_in_a_row %zu, skipped_total %zu",
                                           last.skipped_in_a_row, last.skipped_total));
    } else if (out == kOk) {
      if (on(kOracleGuard) && nonfinite && !transforms_.empty() && transforms_[0].kind == kGuard)
        oracle_fail(kOracleGuard, "a NonFiniteGuard added first let a step with a non-finite gradient through");
      if (overlap.empty()) settle_grads(false);
      const descend::StepReport& last = opt_->last_step();
      if (on(kOracleReport) &&
          (report.updated != non_empty || report.applied != (non_empty > 0) || last.applied != report.applied ||
           last.updated != report.updated || last.skipped || report.lr.size() < opt_->num_groups()))
        oracle_fail(kOracleReport, fmt("step() of %zu non-empty registrations reports applied %d, updated %zu, "
                                       "%zu group rates (%zu groups); last_step(): applied %d, updated %zu, skipped %d",
                                       non_empty, report.applied, report.updated, report.lr.size(),
                                       opt_->num_groups(), last.applied, last.updated, last.skipped));
    }
    grads_before_.clear();
    if (out == kOk && !skipped) {
      for (Reg& r : regs_) {
        r.seen_param = lay_of(P, r.param);
        r.seen_grad = lay_of(P, r.grad);
      }
      moved_since_step_ = false;
    }
    if (out != kOk || skipped || !on(kOracleStepCount)) return;
    for (std::size_t i = 0; i < regs_.size(); ++i) {
      if (lays[2 * i].size() == 0 || counts[i] < 0) continue;
      const std::int64_t now = effective_count(regs_[i]);
      // State update() made at the memory of a registration in another group
      // is dropped, not adopted: the first step starts afresh.
      if (now == 1 && by_memory[i] && regs_[i].group != 0) continue;
      if (now != counts[i] + 1)
        oracle_fail(kOracleStepCount, fmt("registration #%zu (%s, group %zu): step_count %ld before step(), %ld after",
                                          i, describe(P, regs_[i].param).c_str(), regs_[i].group,
                                          static_cast<long>(counts[i]), static_cast<long>(now)));
    }
  }

  // Checks that the registered gradients (grads_before_) hold their values,
  // or (with a ClipGradValue installed) values clamped towards zero, and
  // with `restore` writes the old values back for a bitwise comparison.
  void settle_grads(bool restore = true) {
    if (grads_before_.empty()) return;
    bool value_clip = false;
    for (const Transform& t : transforms_) value_clip = value_clip || t.kind == kClipValue;
    for (const auto& [a, old] : grads_before_) {
      const S now = *a;
      const bool same = std::memcmp(&now, &old, sizeof(S)) == 0;
      const bool clamped = value_clip && !std::isnan(old) && std::signbit(now) == std::signbit(old) &&
                           std::abs(now) < std::abs(old);
      if (!same && !clamped && on(kOracleGradWrite))
        oracle_fail(kOracleGradWrite, fmt("step() changed a registered gradient's coefficient from %a to %a (%s)",
                                          static_cast<double>(old), static_cast<double>(now),
                                          value_clip ? "not a clamp towards zero" : "no ClipGradValue is installed"));
    }
    if (restore)
      for (const auto& [a, old] : grads_before_) *a = old;
  }

  void op_zero_grad() {
    current_ = "zero_grad()";
    const Outcome out = call(kOpZeroGrad, [&] { opt_->zero_grad(); });
    if (out != kOk || !on(kOracleZeroGrad)) return;
    for (std::size_t i = 0; i < regs_.size(); ++i) {
      const Lay<S> l = lay_of(*P_, regs_[i].grad);
      for (Index j = 0; j < l.cols; ++j)
        for (Index k = 0; k < l.rows; ++k)
          if (!(l.data[k * l.rs + j * l.cs] == S(0)))
            oracle_fail(kOracleZeroGrad, fmt("registration #%zu's gradient is not zero after zero_grad()", i));
    }
  }

  Desc<S> some_known() {
    const double x = rng_.uniform();
    if (x < 0.4 || known_.empty()) return random_object();
    if (x < 0.6 && !regs_.empty()) {
      const Reg& r = regs_[static_cast<std::size_t>(rng_.below(static_cast<Index>(regs_.size())))];
      return rng_.chance(0.7) ? r.param : r.grad;
    }
    return known_[static_cast<std::size_t>(rng_.below(static_cast<Index>(known_.size())))];
  }

  void op_forget() { forget(some_known()); }

  // remove() of a registration's parameter unregisters it (a registered
  // object always; a view when it still views exactly the registered memory).
  void op_remove() {
    if (regs_.empty()) return op_add();
    const std::size_t i = static_cast<std::size_t>(rng_.below(static_cast<Index>(regs_.size())));
    const Desc<S> p = regs_[i].param;
    if (!is_object(p.kind)) {
      // By memory: only when that names registration #i alone.
      const Lay<S> lp = lay_of(*P_, p);
      int matches = 0;
      for (const Reg& r : regs_) {
        const Lay<S> l = lay_of(*P_, r.param);
        matches += l.data == lp.data && l.rows == lp.rows && l.cols == lp.cols ? 1 : 0;
      }
      const Lay<S> seen = regs_[i].seen_param;
      if (lp.size() == 0 || matches != 1 || seen.data != lp.data) return op_step();
    }
    current_ = fmt("remove(%s) of registration #%zu", describe(*P_, p).c_str(), i);
    const std::size_t before = opt_->num_registered();
    bool removed = false;
    call(kOpRemove, [&] {
      with_view<kParamKinds>(*P_, p, [&](auto& x, auto) { removed = opt_->remove(x); });
    });
    if (opt_->num_registered() != before - (removed ? 1 : 0))
      fail(fmt("remove() returned %d but num_registered() went from %zu to %zu", removed, before,
               opt_->num_registered()));
    if (!removed && is_registered_param_object(p)) fail("remove() of a registered object returned false");
    if (removed) regs_.erase(regs_.begin() + static_cast<std::ptrdiff_t>(i));
  }

  void forget(const Desc<S>& d) {
    current_ = "forget(" + describe(*P_, d) + ")";
    const std::int64_t had = look(d, kLookHas);
    bool result = false;
    const Outcome out = call(kOpForget, [&] { result = look_raw(d, kLookForget) != 0; });
    if (out != kOk || !on(kOracleForget)) return;
    if (had >= 0 && result != (had == 1))
      oracle_fail(kOracleForget, fmt("forget() returned %d, but has_state() was %d", result, had == 1));
    const std::int64_t has = look(d, kLookHas);
    if (has != 0) oracle_fail(kOracleForget, fmt("after forget(), has_state() %s", has == 1 ? "is true" : "throws"));
  }

  void op_reset() {
    current_ = "reset()";
    const Outcome out = call(kOpReset, [&] { opt_->reset(); });
    if (out != kOk || !on(kOracleReset)) return;
    if (opt_->num_states() != 0) oracle_fail(kOracleReset, "num_states() is not 0 after reset()");
    if (!(opt_->current_lr() == opt_->lr())) oracle_fail(kOracleReset, "current_lr() is not lr() after reset()");
  }

  void op_set_lr() {
    static const double values[] = {1e-3, 0.1, 1, 0, -0.0, 1e30, 3.4e38, 3.5e38, 1e39, 1e300, -1e-9, -1, kNaN, kInf, -kInf};
    const double lr = rng_.pick(values);
    // set_lr(lr) sets every group's; set_lr(lr, g) one group's (std::out_of_range if missing).
    const std::size_t n = opt_->num_groups();
    const bool one = rng_.chance(0.4);
    const std::size_t g = !one ? 0 : rng_.chance(0.05) ? n : static_cast<std::size_t>(rng_.below(static_cast<Index>(n)));
    current_ = one ? fmt("set_lr(%.17g, %zu)", lr, g) : fmt("set_lr(%.17g)", lr);
    Validity v;
    v.representable<S>(lr);
    std::vector<double> lrs;
    for (std::size_t k = 0; k < n; ++k) lrs.push_back(opt_->lr(k));
    const Outcome out = call(kOpSetLr, [&] {
      if (one)
        opt_->set_lr(lr, g);
      else
        opt_->set_lr(lr);
    }, false, kAllowOutOfRange);
    if (!on(kOracleLr)) return;
    if (g >= n) {
      if (out != kThrewOutOfRange) oracle_fail(kOracleLr, "set_lr() of a missing group " + threw_or_returned(out));
      return;
    }
    if ((out == kOk) != v.ok) oracle_fail(kOracleLr, "set_lr() " + threw_or_returned(out));
    if (out != kOk) return;
    for (std::size_t k = 0; k < n; ++k) {
      const double want = !one || k == g ? lr : lrs[k];
      if (!(opt_->lr(k) == want)) oracle_fail(kOracleLr, fmt("lr(%zu) is %.17g, expected %.17g", k, opt_->lr(k), want));
    }
  }

  void op_lookup() {
    const Desc<S> d = rng_.chance(0.8) ? some_known() : choose_param();
    const std::vector<std::string> names = opt_->buffer_names();
    const int which = static_cast<int>(rng_.below(5));
    std::string name = names.empty() || rng_.chance(0.2) ? std::string("momentum") : names[static_cast<std::size_t>(rng_.below(static_cast<Index>(names.size())))];
    static const char* const what[] = {"has_state", "step_count", "state", "buffer_names", "group_of"};
    current_ = fmt("%s(%s%s)", what[which], describe(*P_, d).c_str(), which == 2 ? (", \"" + name + "\"").c_str() : "");
    static const Look looks[] = {kLookHas, kLookCount, kLookState, kLookNames, kLookGroup};
    std::int64_t result = 0;
    const Outcome out = call(kOpLookup, [&] { result = look_raw(d, looks[which], name); }, true);
    // group_of() of a registered Matrix or Array: the group it was added to.
    if (which == 4 && on(kOracleGroups) && is_object(d.kind))
      for (const Reg& r : regs_)
        if (r.param.kind == d.kind && r.param.id == d.id &&
            (out != kOk || result != static_cast<std::int64_t>(r.group)))
          oracle_fail(kOracleGroups, fmt("group_of() of a parameter added to group %zu ", r.group) +
                                         (out == kOk ? fmt("is %ld", static_cast<long>(result)) : threw_or_returned(out)));
  }

  void op_move() {
    current_ = "move the optimizer into a new one";
    call(kOpMove, [&] { opt_ = mover_(*opt_); }, true);
  }

  // -- groups and transforms ---------------------------------------------------------

  void op_add_group() {
    if (opt_->num_groups() >= 4) return op_set_options();
    typed([&](auto& o, auto tag) {
      using Options = decltype(tag);
      Options options;
      if (rng_.chance(0.7)) randomize(rng_, options);
      const bool valid = valid_options<S>(options);
      const std::size_t before = o.num_groups();
      std::size_t index = before + 100;
      current_ = "add_group(" + describe_options(options) + ")";
      const Outcome out = call(kOpAddGroup, [&] { index = o.add_group(options); });
      if (!on(kOracleGroups)) return;
      if ((out == kOk) != valid || (out != kOk && out != kThrewInvalid))
        oracle_fail(kOracleGroups, std::string(valid ? "valid" : "invalid") + " options: add_group() " + threw_or_returned(out));
      if (out == kOk && (index != before || o.num_groups() != before + 1 || fields(o.options(index)) != fields(options)))
        oracle_fail(kOracleGroups, fmt("add_group() returned %zu with %zu groups before and %zu after, or options(%zu) "
                                       "are not the options given", index, before, o.num_groups(), index));
    });
  }

  // Whether any parameter of group g has state: 1, 0, or -1 when the model
  // cannot tell (a registered view's memory has state that may be update()'s,
  // made for group 0; or registrations moved since the last step()). Slots
  // of a group other than 0 are always a registration's own; update() makes
  // group 0's.
  int group_state(std::size_t g) {
    if (opt_->num_states() == 0) return 0;
    if (any_moved()) return -1;
    bool unknown = false;
    std::size_t others = 0;  // slots of the other groups' registrations
    for (const Reg& r : regs_) {
      const bool object = is_object(r.param.kind);
      const std::int64_t has = object ? look(r.param, kLookHas) : look(memory_of(lay_of(*P_, r.param)), kLookHas);
      if (has < 0) {
        unknown = true;
        continue;
      }
      if (has == 0) continue;
      if (r.group == g && (object || g == 0)) return 1;  // a view of group 0: adopted at add(), or its own
      if (!object) {
        unknown = true;
        continue;
      }
      ++others;
    }
    if (unknown) return -1;
    if (g != 0) return 0;
    return opt_->num_states() > others ? 1 : 0;  // the rest are update()'s, of group 0
  }

  void op_set_options() {
    typed([&](auto& o, auto tag) {
      using Options = decltype(tag);
      const std::size_t n = o.num_groups();
      const bool missing = rng_.chance(0.05);
      const std::size_t g = missing ? n + static_cast<std::size_t>(rng_.below(2))
                                    : static_cast<std::size_t>(rng_.below(static_cast<Index>(n)));
      Options options, now;
      if (!missing) {
        assign(options, o.options(g));
        assign(now, o.options(g));
      }
      const bool momentum_call = rng_.chance(0.25);
      const bool has_momentum = o.momentum_name() != nullptr;
      double momentum = 0;
      const double x = rng_.uniform();
      if (momentum_call) {
        static const double values[] = {0, 0.5, 0.9, 0.95, 0.99, 1, -0.1, kNaN};
        momentum = rng_.pick(values);
        if (double* m = momentum_of(options)) *m = momentum;
      } else if (x < 0.35) {
        flip_buffers(rng_, options);
      } else if (x < 0.85) {
        randomize(rng_, options);
      }  // else the group's own options again
      const bool valid = valid_options<S>(options);
      const bool buffers_change = !missing && buffers_of(options) != buffers_of(now);
      const int state = !missing && valid && buffers_change ? group_state(g) : 0;
      const std::vector<std::string> names_before = missing ? std::vector<std::string>() : o.buffer_names(g);
      current_ = momentum_call ? fmt("set_momentum(%.17g, %zu)", momentum, g)
                               : "set_options(" + describe_options(options) + fmt(", %zu)", g);
      current_ += fmt(" (buffers change %d, group has state %d)", buffers_change, state);
      const Outcome out = call(kOpSetOptions, [&] {
        if (momentum_call)
          o.set_momentum(momentum, g);
        else
          o.set_options(options, g);
      }, false, kAllowOutOfRange);
      if (!on(kOracleSetOptions)) return;
      Outcome expected = kOk;
      if (momentum_call && !has_momentum) expected = kThrewInvalid;
      else if (missing) expected = kThrewOutOfRange;
      else if (!valid || (buffers_change && state == 1)) expected = kThrewInvalid;
      const bool either = expected == kOk && buffers_change && state < 0;
      if (out != expected && !(either && out == kThrewInvalid)) {
        const char* const names[] = {"return", "throw ShapeError", "throw std::invalid_argument",
                                     "throw std::out_of_range", "throw NonFiniteError"};
        oracle_fail(kOracleSetOptions, fmt("expected it to %s (options %s, buffers change %d, group has state %d), but it ",
                                           names[expected], valid ? "valid" : "invalid", buffers_change, state) +
                                           threw_or_returned(out));
      }
      if (out != kOk) return;
      if (fields(o.options(g)) != fields(options))
        oracle_fail(kOracleSetOptions, "options() after it returned are not the options set: " + describe_options(o.options(g)));
      if (momentum_call && !(o.momentum(g) == momentum))
        oracle_fail(kOracleSetOptions, fmt("momentum(%zu) is %.17g after set_momentum(%.17g)", g, o.momentum(g), momentum));
      if ((o.buffer_names(g) != names_before) != buffers_change)
        oracle_fail(kOracleSetOptions, fmt("buffer_names(%zu) %s, but the model says the buffers %s", g,
                                           o.buffer_names(g) != names_before ? "changed" : "did not change",
                                           buffers_change ? "change" : "stay"));
    });
  }

  void op_add_transform() {
    if (transforms_.size() >= 5) return op_clear_transforms();
    const std::size_t n = opt_->num_groups();
    const double gx = rng_.uniform();
    const std::size_t group = gx < 0.7 ? descend::kAllGroups
                              : gx < 0.95 ? static_cast<std::size_t>(rng_.below(static_cast<Index>(n)))
                                          : n + static_cast<std::size_t>(rng_.below(2));
    const bool group_ok = group == descend::kAllGroups || group < n;
    const std::string in_group = group == descend::kAllGroups ? std::string("all") : fmt("%zu", group);
    static const double norms[] = {1, 1, 0.5, 10, 1e-3, 0, kInf, 1e30, -1, kNaN};
    Transform t{kClipNorm};
    bool valid = false;
    Outcome out = kOk;
    const std::size_t before = opt_->num_transforms();
    switch (rng_.below(4)) {
      case 0: {
        static const double types[] = {2, 2, 1, kInf, 0.5, 3, 0, -1, kNaN};
        descend::ClipGradNorm c;
        c.max_norm = rng_.pick(norms);
        c.norm_type = rng_.pick(types);
        c.error_if_nonfinite = rng_.chance(0.3);
        c.group = group;
        t.error_if_nonfinite = c.error_if_nonfinite;
        valid = c.max_norm >= 0 && c.norm_type > 0 && group_ok;
        current_ = fmt("add_transform(ClipGradNorm{max_norm %g, norm_type %g, error_if_nonfinite %d, group %s})",
                       c.max_norm, c.norm_type, c.error_if_nonfinite, in_group.c_str());
        out = call(kOpAddTransform, [&] { opt_->add_transform(c); });
        break;
      }
      case 1: {
        static const double values[] = {1, 0.5, 10, 1e-3, 0, 1e39, -1, kNaN, kInf};
        descend::ClipGradValue c;
        c.clip_value = rng_.pick(values);
        c.group = group;
        t.kind = kClipValue;
        Validity v;
        v.representable<S>(c.clip_value);
        valid = v.ok && group_ok;
        current_ = fmt("add_transform(ClipGradValue{clip_value %g, group %s})", c.clip_value, in_group.c_str());
        out = call(kOpAddTransform, [&] { opt_->add_transform(c); });
        break;
      }
      case 2: {
        descend::ClipNormPerParameter c;
        c.max_norm = rng_.pick(norms);
        c.group = group;
        t.kind = kClipPerParameter;
        Validity v;
        v.finite_non_negative(c.max_norm);
        valid = v.ok && group_ok;
        current_ = fmt("add_transform(ClipNormPerParameter{max_norm %g, group %s})", c.max_norm, in_group.c_str());
        out = call(kOpAddTransform, [&] { opt_->add_transform(c); });
        break;
      }
      default: {
        static const std::size_t skips[] = {0, 1, 2, 3, 10};
        descend::NonFiniteGuard c;
        const double px = rng_.uniform();
        c.policy = px < 0.45 ? descend::NonFinitePolicy::skip
                   : px < 0.9 ? descend::NonFinitePolicy::throw_error
                              : static_cast<descend::NonFinitePolicy>(rng_.chance(0.5) ? 2 : -1);
        c.max_consecutive_skips = rng_.pick(skips);
        t.kind = kGuard;
        t.skip = c.policy == descend::NonFinitePolicy::skip;
        valid = t.skip || c.policy == descend::NonFinitePolicy::throw_error;
        current_ = fmt("add_transform(NonFiniteGuard{policy %d, max_consecutive_skips %zu})",
                       static_cast<int>(c.policy), c.max_consecutive_skips);
        out = call(kOpAddTransform, [&] { opt_->add_transform(c); });
        break;
      }
    }
    if (on(kOracleTransform) && ((out == kOk) != valid || (out != kOk && out != kThrewInvalid)))
      oracle_fail(kOracleTransform, std::string(valid ? "valid" : "invalid") + " options: add_transform() " + threw_or_returned(out));
    if (out != kOk) return;
    if (on(kOracleTransform) && opt_->num_transforms() != before + 1)
      oracle_fail(kOracleTransform, fmt("num_transforms() went from %zu to %zu", before, opt_->num_transforms()));
    transforms_.push_back(t);
  }

  void op_clear_transforms() {
    current_ = "clear_transforms()";
    const Outcome out = call(kOpClearTransforms, [&] { opt_->clear_transforms(); });
    if (out != kOk) return;
    if (on(kOracleTransform) && opt_->num_transforms() != 0)
      oracle_fail(kOracleTransform, fmt("num_transforms() is %zu after clear_transforms()", opt_->num_transforms()));
    transforms_.clear();
  }

  // -- what a program does to its objects between calls -------------------------------------

  void op_resize() {
    Desc<S> d = random_object(static_cast<int>(rng_.below(kVec + 1)));
    Index r, c;
    random_shape(r, c);
    if (d.kind == kVec) c = 1;
    if (rng_.chance(0.2)) {  // same number of coefficients, another shape: the memory stays
      const Lay<S> l = lay_of(*P_, d);
      r = l.cols;
      c = l.rows;
      if (d.kind == kVec) std::swap(r, c);
    }
    if (!may_reallocate(d, r * c)) return;
    ++stats_.ops[kOpResize];
    current_ = "resize " + describe(*P_, d) + fmt(" to %ldx%ld", static_cast<long>(r), static_cast<long>(c));
    resize_object(d, r, c);
    // Its registered partner too, usually.
    for (const Reg& reg : regs_) {
      const bool is_param = reg.param.kind == d.kind && reg.param.id == d.id;
      const bool is_grad = reg.grad.kind == d.kind && reg.grad.id == d.id;
      const Desc<S>& other = is_param ? reg.grad : reg.param;
      if ((is_param || is_grad) && is_dynamic_object(other.kind) && rng_.chance(0.8) &&
          (other.kind != kVec || c == 1) && may_reallocate(other, r * c)) {
        current_ += ", and " + describe(*P_, other) + " with it";
        resize_object(other, r, c);
      }
    }
  }

  void op_swap() {
    const Desc<S> a = random_object(), b = random_object(a.kind);
    if (a.id == b.id) return;
    ++stats_.ops[kOpSwap];
    Pools<S>& P = *P_;
    current_ = "std::swap(" + describe(P, a) + ", " + describe(P, b) + ")";
    switch (a.kind) {
      case kMat: std::swap(P.mat[a.id], P.mat[b.id]); break;
      case kRowMat: std::swap(P.rowmat[a.id], P.rowmat[b.id]); break;
      case kArr: std::swap(P.arr[a.id], P.arr[b.id]); break;
      case kVec: std::swap(P.vec[a.id], P.vec[b.id]); break;
      case kFix34: std::swap(P.fix34[a.id], P.fix34[b.id]); break;
      case kFixRow43: std::swap(P.fixrow43[a.id], P.fixrow43[b.id]); break;
      case kFix11: std::swap(P.fix11[a.id], P.fix11[b.id]); break;
      default: std::swap(P.fixarr25[a.id], P.fixarr25[b.id]); break;
    }
  }

  // a = std::move(b): Eigen swaps dynamic buffers, so nothing is freed.
  template <class M>
  void move_assign(M& a, M& b) {
    const auto* old = a.data();
    const Index old_size = a.size();
    a = std::move(b);
    if (&a != &b && b.data() != old && old_size > 0)
      fail("fuzzer: Eigen's move assignment did not swap buffers; the pools' rules assume it does");
  }

  void op_move_assign() {
    const Desc<S> a = random_object(static_cast<int>(rng_.below(kVec + 1))), b = random_object(a.kind);
    if (a.id == b.id) return;
    ++stats_.ops[kOpMoveAssign];
    Pools<S>& P = *P_;
    current_ = describe(P, a) + " = std::move(" + describe(P, b) + ")";
    switch (a.kind) {
      case kMat: move_assign(P.mat[a.id], P.mat[b.id]); break;
      case kRowMat: move_assign(P.rowmat[a.id], P.rowmat[b.id]); break;
      case kArr: move_assign(P.arr[a.id], P.arr[b.id]); break;
      default: move_assign(P.vec[a.id], P.vec[b.id]); break;
    }
  }

  void op_copy_assign() {
    const Desc<S> a = random_object(), b = random_object(a.kind);
    if (!may_reallocate(a, lay_of(*P_, b).size())) return;
    ++stats_.ops[kOpCopyAssign];
    Pools<S>& P = *P_;
    current_ = describe(P, a) + " = " + describe(P, b);
    const S* before = lay_of(P, a).data;
    const bool pinned = pinned_.count(before) != 0;
    switch (a.kind) {
      case kMat: P.mat[a.id] = P.mat[b.id]; break;
      case kRowMat: P.rowmat[a.id] = P.rowmat[b.id]; break;
      case kArr: P.arr[a.id] = P.arr[b.id]; break;
      case kVec: P.vec[a.id] = P.vec[b.id]; break;
      case kFix34: P.fix34[a.id] = P.fix34[b.id]; break;
      case kFixRow43: P.fixrow43[a.id] = P.fixrow43[b.id]; break;
      case kFix11: P.fix11[a.id] = P.fix11[b.id]; break;
      default: P.fixarr25[a.id] = P.fixarr25[b.id]; break;
    }
    if (pinned && lay_of(P, a).data != before) fail("fuzzer: a pinned buffer was reallocated by a copy");
  }

  void op_fill() {
    ++stats_.ops[kOpFill];
    current_ = "new values";
    Pools<S>& P = *P_;
    const double x = rng_.uniform();
    if (x < 0.15 && !regs_.empty()) {  // one non-finite coefficient in a registered gradient
      const Reg& r = regs_[static_cast<std::size_t>(rng_.below(static_cast<Index>(regs_.size())))];
      const Lay<S> l = lay_of(P, r.grad);
      if (l.size() == 0) return;
      static const S values[] = {std::numeric_limits<S>::quiet_NaN(), std::numeric_limits<S>::infinity(),
                                 -std::numeric_limits<S>::infinity()};
      const Index i = rng_.below(l.rows), j = rng_.below(l.cols);
      const_cast<S*>(l.data)[i * l.rs + j * l.cs] = rng_.pick(values);
      current_ = "a non-finite value in the gradient " + describe(P, r.grad);
    } else if (x < 0.4) {
      const Lay<S> l = lay_of(P, random_object());
      fill(const_cast<S*>(l.data), l.size());
    } else if (x < 0.6) {
      fill(P.stable.data(), P.stable.size());
      fill(P.stable_row.data(), P.stable_row.size());
    } else {
      const Index start = rng_.below(Pools<S>::kBuffer);
      fill(P.buffer.data() + start, std::min<Index>(Pools<S>::kBuffer - start, rng_.range(1, 800)));
    }
  }

  // What a program does after it resized a registered Matrix: resizes its
  // gradient (or parameter) to match, and forget()s the old state.
  void op_repair() {
    ++stats_.ops[kOpRepair];
    current_ = "repair registrations";
    for (const Reg& r : regs_) {
      const Lay<S> p = lay_of(*P_, r.param), g = lay_of(*P_, r.grad);
      if (p.rows == g.rows && p.cols == g.cols) continue;
      if (is_dynamic_object(r.grad.kind) && (r.grad.kind != kVec || p.cols == 1) &&
          may_reallocate(r.grad, p.size())) {
        current_ += ", resize " + describe(*P_, r.grad);
        resize_object(r.grad, p.rows, p.cols);
      } else if (is_dynamic_object(r.param.kind) && (r.param.kind != kVec || g.cols == 1) &&
                 may_reallocate(r.param, g.size())) {
        current_ += ", resize " + describe(*P_, r.param);
        resize_object(r.param, g.rows, g.cols);
      }
    }
    const std::string repaired = current_;
    for (const Reg& r : regs_)
      if (is_object(r.param.kind) && rng_.chance(0.5)) forget(r.param);
    current_ = repaired + " (then forget() on some)";
  }

  Rng& rng_;
  Stats& stats_;
  std::unique_ptr<Pools<S>> P_;  // declared before the optimizer: outlives it
  std::unique_ptr<Opt> opt_;
  std::function<std::unique_ptr<Opt>(Opt&)> mover_;
  std::string opt_desc_, current_, last_message_;
  std::vector<Reg> regs_;
  bool moved_since_step_ = false;  // a registered object moved since the last successful step()
  std::vector<Desc<S>> known_;
  std::unordered_set<const S*> pinned_;  // memory that registered Maps view
  const S* busy_ = nullptr;  // the memory of the parameter whose gradient is being chosen
  Snapshot before_, after_;
  int which_ = 0;                       // the optimizer's kind (kOptimizerNames)
  std::vector<Transform> transforms_;   // as added, in order
  std::vector<std::pair<S*, S>> grads_before_;  // registered gradients before a step()
};

void usage(FILE* out) {
  std::fprintf(out,
               "usage: fuzz_api [--seconds S] [--iterations N] [--seed X] [--skip CHECK[,CHECK...]] [--trace]\n"
               "  stops after N iterations or S seconds, whichever comes first (default 12000 and 8;\n"
               "  either given alone lifts the other's limit)\n"
               "  checks that --skip can turn off:");
  for (const char* name : kOracleNames) std::fprintf(out, " %s", name);
  std::fprintf(out, "\n");
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 8;
  std::uint64_t iterations = 12000, seed = 1;
  bool trace = false;
  for (bool& on : g_oracle_on) on = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--seconds" && has_value) {
      seconds = std::strtod(argv[++i], nullptr);
    } else if (a == "--iterations" && has_value) {
      iterations = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--seed" && has_value) {
      seed = std::strtoull(argv[++i], nullptr, 0);
    } else if (a == "--skip" && has_value) {
      std::string list = argv[++i];
      std::size_t start = 0;
      while (start <= list.size()) {
        const std::size_t comma = std::min(list.find(',', start), list.size());
        const std::string name = list.substr(start, comma - start);
        bool found = false;
        for (int o = 0; o < kNumOracles; ++o)
          if (name == kOracleNames[o]) {
            g_oracle_on[o] = false;
            found = true;
          }
        if (!found) {
          std::fprintf(stderr, "fuzz_api: unknown check '%s'\n", name.c_str());
          usage(stderr);
          return 2;
        }
        start = comma + 1;
      }
    } else if (a == "--trace") {
      trace = g_trace = true;
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  // Either alone lifts the other's default limit.
  bool iterations_given = false, seconds_given = false;
  for (int i = 1; i < argc; ++i) {
    iterations_given = iterations_given || std::string(argv[i]) == "--iterations";
    seconds_given = seconds_given || std::string(argv[i]) == "--seconds";
  }
  if (seconds_given && !iterations_given) iterations = std::numeric_limits<std::uint64_t>::max();
  if (iterations_given && !seconds_given) seconds = std::numeric_limits<double>::infinity();

  std::printf("fuzz_api: seed %llu\n", static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  Rng rng(seed);
  Stats stats;
  Fuzzer<float> fuzz_float(rng, stats);
  Fuzzer<double> fuzz_double(rng, stats);
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  bool use_float = true;
  std::int64_t episode_left = 0;
  std::uint64_t it = 0;
  std::uint64_t episode = 0;
  try {
    for (; it < iterations; ++it) {
      if ((it & 63) == 0 && elapsed() >= seconds) break;
      if (episode_left <= 0) {
        use_float = rng.chance(0.5);
        episode_left = rng.range(5, 300);
        ++episode;
        ++stats.episodes[use_float ? 0 : 1];
        if (use_float) {
          fuzz_double.end();
          fuzz_float.start();
        } else {
          fuzz_float.end();
          fuzz_double.start();
        }
        if (trace)
          std::fprintf(stderr, "[%llu] episode %llu: %s\n", static_cast<unsigned long long>(it),
                       static_cast<unsigned long long>(episode),
                       (use_float ? fuzz_float.optimizer_description() : fuzz_double.optimizer_description()).c_str());
      }
      --episode_left;
      if (use_float)
        fuzz_float.op();
      else
        fuzz_double.op();
      if (trace)
        std::fprintf(stderr, "[%llu] %s\n", static_cast<unsigned long long>(it),
                     (use_float ? fuzz_float.current() : fuzz_double.current()).c_str());

    }
  } catch (const Failure& f) {
    const auto& fz_opt = use_float ? fuzz_float.optimizer_description() : fuzz_double.optimizer_description();
    const auto& fz_op = use_float ? fuzz_float.current() : fuzz_double.current();
    std::printf("FAILED: seed %llu, iteration %llu (episode %llu)\n  optimizer: %s\n  call: %s\n  %s\n"
                "  reproduce: fuzz_api --seed %llu --iterations %llu --trace (and the same --skip)\n",
                static_cast<unsigned long long>(seed), static_cast<unsigned long long>(it),
                static_cast<unsigned long long>(episode), fz_opt.c_str(), fz_op.c_str(), f.what.c_str(),
                static_cast<unsigned long long>(seed), static_cast<unsigned long long>(it + 1));
    std::printf("  registrations:\n%s", (use_float ? fuzz_float.registrations() : fuzz_double.registrations()).c_str());
    std::printf("%llu passed, 1 failed\n", static_cast<unsigned long long>(stats.checked));
    return 1;
  }
  const double t = elapsed();
  stats.iterations = it;
  std::printf("%llu iterations in %.1f s (%.0f/s), %llu episodes (float %llu, double %llu)\n",
              static_cast<unsigned long long>(it), t, static_cast<double>(it) / std::max(t, 1e-9),
              static_cast<unsigned long long>(episode), static_cast<unsigned long long>(stats.episodes[0]),
              static_cast<unsigned long long>(stats.episodes[1]));
  std::printf("optimizers built:");
  for (int i = 0; i < 6; ++i)
    std::printf(" %s %llu", kOptimizerNames[i], static_cast<unsigned long long>(stats.optimizers[i]));
  std::printf("\n%-16s %10s %10s %10s\n", "call", "checked", "threw", "ShapeError");
  for (int o = 0; o < kNumCheckedOps; ++o)
    std::printf("%-16s %10llu %10llu %10llu\n", kOpNames[o], static_cast<unsigned long long>(stats.ops[o]),
                static_cast<unsigned long long>(stats.throws[o]), static_cast<unsigned long long>(stats.shape_throws[o]));
  std::printf("between calls:");
  for (int o = kNumCheckedOps; o < kNumOps; ++o)
    std::printf(" %s %llu", kOpNames[o], static_cast<unsigned long long>(stats.ops[o]));
  std::printf("\nthrows by reason:\n");
  std::sort(stats.reasons.begin(), stats.reasons.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& r : stats.reasons)
    std::printf("  %10llu  %s\n", static_cast<unsigned long long>(r.second), r.first.c_str());
  std::string skipped;
  for (int o = 0; o < kNumOracles; ++o)
    if (!g_oracle_on[o]) skipped += std::string(skipped.empty() ? "" : ", ") + kOracleNames[o];
  if (!skipped.empty()) std::printf("checks skipped: %s\n", skipped.c_str());
  std::printf("%llu passed, 0 failed\n", static_cast<unsigned long long>(stats.checked));
  return 0;
}
