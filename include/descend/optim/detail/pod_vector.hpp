// A vector of trivially copyable elements whose growth is one function,
// shared by every element type. std::vector's growth paths (push_back's
// reallocation, resize, reserve) are instantiated for each element type, and
// every file that uses an optimizer compiled them for the registrations,
// step()'s work items, the groups' settings and the gradients' scales, once
// per Scalar: about 3 KB of a small user file's code. Elements that are
// trivially copyable move as bytes, so realloc() grows them all (LLVM's
// SmallVector shares its growth between element types the same way). Only
// what descend uses is here.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <new>
#include <type_traits>
#include <utility>

#include "descend/optim/detail/view.hpp"  // DESCEND_NOINLINE

namespace descend {
namespace detail {

// No index: what a look-up of a registration, a slot or a view returns when
// there is none, and a slot's owner when no registration owns it.
inline constexpr std::size_t kNone = static_cast<std::size_t>(-1);

// A PodVector's memory, in elements of `width` bytes.
struct PodBuffer {
  void* data = nullptr;
  std::size_t size = 0;
  std::size_t capacity = 0;
};

// The bytes of n elements of `width` bytes; std::bad_alloc if that wraps.
inline std::size_t checked_bytes(std::size_t n, std::size_t width) {
  if (width != 0 && n > std::numeric_limits<std::size_t>::max() / width) throw std::bad_alloc();
  return n * width;
}

// Room for `capacity` elements (more than b has), keeping b's. Throws
// std::bad_alloc, leaving b as it was.
DESCEND_NOINLINE inline void grow_pod(PodBuffer& b, std::size_t capacity, std::size_t width) {
  void* fresh = std::realloc(b.data, checked_bytes(capacity, width));
  if (fresh == nullptr) throw std::bad_alloc();
  b.data = fresh;
  b.capacity = capacity;
}

// Room for one more element, when b is full. `x`, the element to be added,
// may be one of b's: returns where it is after the growth.
DESCEND_NOINLINE inline const void* grow_pod_for(PodBuffer& b, const void* x, std::size_t width) {
  const char* old = static_cast<const char*>(b.data);
  const char* at = static_cast<const char*>(x);
  const bool inside = old != nullptr && std::less_equal<const char*>()(old, at) &&
                      std::less<const char*>()(at, old + b.size * width);
  const std::size_t offset = inside ? static_cast<std::size_t>(at - old) : 0;
  grow_pod(b, std::max<std::size_t>(4, 2 * b.capacity), width);
  return inside ? static_cast<const char*>(b.data) + offset : x;
}

template <class T>
class PodVector {
  static_assert(std::is_trivially_copyable<T>::value && std::is_trivially_destructible<T>::value,
                "descend: PodVector moves its elements as bytes");
  static_assert(alignof(T) <= alignof(std::max_align_t),
                "descend: PodVector's memory is aligned as malloc() aligns it");

 public:
  using value_type = T;
  using iterator = T*;
  using const_iterator = const T*;

  PodVector() = default;
  PodVector(const PodVector& other) {
    reserve(other.size());
    copy_bytes(data(), other.data(), other.size());
    b_.size = other.size();
  }
  PodVector(PodVector&& other) noexcept : b_(other.b_) { other.b_ = {}; }
  PodVector& operator=(PodVector other) noexcept {  // copy, or move, then swap
    std::swap(b_, other.b_);
    return *this;
  }
  ~PodVector() { std::free(b_.data); }

  std::size_t size() const { return b_.size; }
  std::size_t capacity() const { return b_.capacity; }
  bool empty() const { return b_.size == 0; }
  T* data() { return static_cast<T*>(b_.data); }
  const T* data() const { return static_cast<const T*>(b_.data); }
  T* begin() { return data(); }
  T* end() { return data() + b_.size; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + b_.size; }
  T& operator[](std::size_t i) { return data()[i]; }
  const T& operator[](std::size_t i) const { return data()[i]; }
  T& back() { return data()[b_.size - 1]; }

  // Room for n elements in all: push_back() and resize() up to then never
  // allocate.
  void reserve(std::size_t n) {
    if (n > b_.capacity) grow_pod(b_, n, sizeof(T));
  }
  void push_back(const T& x) {
    const void* from = &x;
    if (b_.size == b_.capacity) from = grow_pod_for(b_, from, sizeof(T));
    std::memcpy(static_cast<void*>(data() + b_.size), from, sizeof(T));
    ++b_.size;
  }
  void pop_back() { --b_.size; }
  // New elements are value-initialized, as std::vector's.
  void resize(std::size_t n) {
    if (n > b_.capacity) grow_pod(b_, std::max(n, 2 * b_.capacity), sizeof(T));
    for (std::size_t i = b_.size; i < n; ++i) new (data() + i) T();
    b_.size = n;
  }
  void clear() { b_.size = 0; }
  T* erase(T* first, T* last) {
    copy_bytes(first, last, static_cast<std::size_t>(end() - last), true);
    b_.size -= static_cast<std::size_t>(last - first);
    return first;
  }
  T* erase(T* at) { return erase(at, at + 1); }

 private:
  static void copy_bytes(T* to, const T* from, std::size_t n, bool overlap = false) {
    if (n == 0) return;  // the pointers may be null then
    if (overlap)
      std::memmove(static_cast<void*>(to), from, n * sizeof(T));
    else
      std::memcpy(static_cast<void*>(to), from, n * sizeof(T));
  }

  PodBuffer b_;
};

}  // namespace detail
}  // namespace descend
