// One parameter's optimizer state as Optimizer keeps it. Free of the Scalar
// type, so that a file using float and double optimizers compiles the code
// that stores slots (std::vector's growth, moves, destruction) once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <utility>

#include "descend/optim/detail/pod_vector.hpp"  // checked_bytes
#include "descend/optim/detail/view.hpp"

namespace descend {
namespace detail {

// A parameter's state buffers, back to back: zeroed memory aligned for the
// widest vectors descend's kernels use (64 bytes, AVX-512).
class StateBuffer {
 public:
  StateBuffer() = default;
  // n coefficients of `width` bytes; std::bad_alloc if their size wraps.
  StateBuffer(std::size_t n, std::size_t width) : bytes_(checked_bytes(n, width)) {
    data_ = bytes_ == 0 ? nullptr : ::operator new(bytes_, kAlign);
    if (data_ != nullptr) std::memset(data_, 0, bytes_);
  }
  StateBuffer(StateBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
  StateBuffer& operator=(StateBuffer&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(bytes_, other.bytes_);
    return *this;
  }
  ~StateBuffer() {
    if (data_ != nullptr) ::operator delete(data_, kAlign);
  }

  template <class Scalar>
  Scalar* as() const {
    return static_cast<Scalar*>(data_);
  }
  std::size_t bytes() const { return bytes_; }

 private:
  static constexpr std::align_val_t kAlign{64};
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

// A parameter's shape and strides (in coefficients, as View's).
struct Layout {
  Index rows = 0;
  Index cols = 0;
  Index row_stride = 0;
  Index col_stride = 0;
};
template <class T>
Layout layout_of(const View<T>& v) {
  return {v.rows, v.cols, v.row_stride, v.col_stride};
}

// What step() reads of a slot (key, layout, step, the buffers' address)
// fills its first cache line.
struct alignas(64) Slot {
  const void* key = nullptr;  // the parameter's memory
  Layout layout;              // as the state was made for
  std::int64_t step = 0;
  StateBuffer buffers;
  Index size = 0;             // coefficients per buffer
  std::size_t owner = kNone;  // the registration whose state this is, if any
  std::size_t group = 0;      // whose options made its buffers
};

}  // namespace detail
}  // namespace descend
