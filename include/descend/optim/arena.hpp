// Many parameters as one: an Arena holds the coefficients of many
// parameters, and their gradients, in two contiguous blocks, and hands each
// parameter and gradient out as an Eigen::Map into its block.
//
//   descend::Arena<float> arena({{128, 784}, {128, 1}, {10, 128}, {10, 1}});
//   auto w1 = arena.param(0);             // Eigen::Map of a 128 x 784 matrix
//   auto dw1 = arena.grad(0);             // its gradient, same shape
//   descend::Adam<float> adam;
//   adam.add(arena.params(), arena.grads());  // all of them, as one parameter
//   ... write every gradient into arena.grad(i) ...
//   adam.step();                          // one kernel over every coefficient
//
// The element-wise optimizers update each coefficient from its own gradient
// and state, with constants shared by every parameter at the same step in the
// same group; so one update of the whole block gives every parameter exactly
// the bits separate updates would give (test_arena checks it), at the cost of
// one long pass instead of one short pass and one parameter's bookkeeping
// per parameter (PyTorch's foreach/fused paths and apex's multi-tensor apply
// do the same for many tensors). The gradients in one block are also one
// buffer for a reduction across processes.
//
// What changes with it: the optimizer sees one parameter, so all of them are
// in one group (one lr, one set of options), a checkpoint holds one tensor,
// and a per-parameter transform (clip_grad_value, a norm per parameter)
// would see the block. Each part starts a multiple of 64 bytes into the block
// (aligned as Eigen aligns its own arrays, for AVX-512 too); the padding
// between parts is zero in both blocks, and stays zero: no element-wise
// optimizer moves a coefficient at zero whose gradient is zero.
//
// The blocks are allocated once, at construction: the Maps stay valid for
// the arena's life, and moving an Arena (into a std::vector, say) moves the
// blocks without reallocating them, so Maps taken before stay valid too. An
// Arena cannot be copied (the copy's Maps would point at the original).
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "descend/optim/errors.hpp"

namespace descend {

// The extents of one part of an Arena (the same for every Scalar).
struct ArenaShape {
  Eigen::Index rows;
  Eigen::Index cols;
};

template <class Scalar>
class Arena {
 public:
  using Index = Eigen::Index;
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using Map = Eigen::Map<Matrix, Eigen::AlignedMax>;
  using ConstMap = Eigen::Map<const Matrix, Eigen::AlignedMax>;

  using Shape = ArenaShape;

  // One part per shape, in order; every coefficient and gradient starts at
  // zero. Throws std::invalid_argument for a negative extent or a total that
  // does not fit an Index.
  explicit Arena(const std::vector<Shape>& shapes) {
    constexpr Index kAlign = 64 / static_cast<Index>(sizeof(Scalar)) > 0
                                 ? 64 / static_cast<Index>(sizeof(Scalar))
                                 : 1;  // coefficients per 64 bytes
    constexpr Index kMax = std::numeric_limits<Index>::max();
    Index total = 0;
    parts_.reserve(shapes.size());
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      const Shape& s = shapes[i];
      if (s.rows < 0 || s.cols < 0)
        detail::fail<std::invalid_argument>("descend::Arena: part ", i, " is ", s.rows, " x ",
                                            s.cols, ": extents must be >= 0");
      if (s.cols != 0 && s.rows > kMax / s.cols)
        detail::fail<std::invalid_argument>("descend::Arena: part ", i, " is ", s.rows, " x ",
                                            s.cols, ", more coefficients than an index holds");
      const Index size = s.rows * s.cols;
      const Index padded = size % kAlign == 0 ? size : size + (kAlign - size % kAlign);
      if (size > kMax - kAlign || total > kMax - padded)
        detail::fail<std::invalid_argument>("descend::Arena: part ", i, " (", s.rows, " x ", s.cols,
                                            ") takes the arena past ", kMax, " coefficients");
      parts_.push_back({total, s.rows, s.cols});
      total += padded;
    }
    params_.setZero(total);
    grads_.setZero(total);
  }
  Arena(std::initializer_list<Shape> shapes) : Arena(std::vector<Shape>(shapes)) {}

  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  Arena(Arena&&) noexcept = default;
  Arena& operator=(Arena&&) noexcept = default;

  // The number of parts.
  std::size_t size() const { return parts_.size(); }
  Shape shape(std::size_t i) const {
    const Part& p = part(i);
    return {p.rows, p.cols};
  }

  // Part i of the parameters, of the gradients, or of any vector laid out as
  // the blocks (an optimizer's state for params(), say). std::out_of_range
  // for an i past the parts, or a vector of another length.
  Map param(std::size_t i) { return slice(params_, i); }
  Map grad(std::size_t i) { return slice(grads_, i); }
  ConstMap param(std::size_t i) const { return slice(params_, i); }
  ConstMap grad(std::size_t i) const { return slice(grads_, i); }
  ConstMap part_of(const Vector& whole, std::size_t i) const { return slice(whole, i); }

  // The blocks: register these with an optimizer (add(params(), grads())).
  Vector& params() { return params_; }
  Vector& grads() { return grads_; }
  const Vector& params() const { return params_; }
  const Vector& grads() const { return grads_; }

  void zero_grad() { grads_.setZero(); }

 private:
  struct Part {
    Index offset, rows, cols;
  };

  const Part& part(std::size_t i) const {
    if (i >= parts_.size())
      detail::fail<std::out_of_range>("descend::Arena: part ", i, " of an arena of ",
                                      parts_.size());
    return parts_[i];
  }
  template <class V>
  auto slice(V& whole, std::size_t i) const {
    const Part& p = part(i);
    if (whole.size() != params_.size())
      detail::fail<std::out_of_range>("descend::Arena: a vector of ", whole.size(),
                                      " coefficients is not laid out as this arena's ",
                                      params_.size());
    using M = std::conditional_t<std::is_const<V>::value, ConstMap, Map>;
    return M(whole.data() + p.offset, p.rows, p.cols);
  }

  std::vector<Part> parts_;
  Vector params_;
  Vector grads_;
};

}  // namespace descend
