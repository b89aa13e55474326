// A map from addresses to indices: the optimizer's slot index (memory ->
// state) and registered objects (Matrix -> registration). Open addressing
// with linear probing in one array, at most half full. Written here rather
// than std::unordered_map: every file that uses an optimizer compiles it,
// and the standard map's code took twice the space. Inserting never
// allocates while size() stays within what reserve() made room for, which
// is what lets step()'s settle() re-key moved state without throwing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "descend/optim/detail/view.hpp"  // DESCEND_NOINLINE

namespace descend {
namespace detail {

class AddressMap {
 public:
  AddressMap() = default;
  AddressMap(AddressMap&& other) noexcept { swap(other); }
  AddressMap& operator=(AddressMap&& other) noexcept {
    AddressMap(std::move(other)).swap(*this);
    return *this;
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The value at key, or nullptr.
  std::size_t* find(const void* key) {
    const std::size_t i = cell_of(key);
    return i == kAbsent ? nullptr : &cells_[i].value;
  }
  const std::size_t* find(const void* key) const {
    const std::size_t i = cell_of(key);
    return i == kAbsent ? nullptr : &cells_[i].value;
  }

  // Room for n entries in all: inserts up to then never allocate.
  void reserve(std::size_t n) {
    std::size_t capacity = mask_ + 1;
    if (n == 0 || (cells_ && 2 * n <= capacity)) return;
    capacity = 16;
    while (capacity < 2 * n) capacity *= 2;
    rehash(capacity);
  }

  // Adds key (not nullptr, not in the map) with value. May throw
  // std::bad_alloc, leaving the map as it was.
  DESCEND_NOINLINE void insert(const void* key, std::size_t value) {
    reserve(size_ + 1);
    std::size_t i = home(key);
    while (cells_[i].key != nullptr) i = next(i);
    cells_[i] = {key, value};
    ++size_;
  }

  // Removes key; whether it was there. Never allocates.
  DESCEND_NOINLINE bool erase(const void* key) {
    std::size_t hole = cell_of(key);
    if (hole == kAbsent) return false;
    // Backward shift: entries after the hole that may sit in it move up, so
    // that every probe sequence stays unbroken without tombstones.
    for (std::size_t i = next(hole); cells_[i].key != nullptr; i = next(i)) {
      const std::size_t want = home(cells_[i].key);
      // Movable unless its home lies cyclically in (hole, i].
      const bool stays = hole < i ? (hole < want && want <= i) : (hole < want || want <= i);
      if (!stays) {
        cells_[hole] = cells_[i];
        hole = i;
      }
    }
    cells_[hole] = {};
    --size_;
    return true;
  }

  void clear() {
    for (std::size_t i = 0; cells_ && i <= mask_; ++i) cells_[i] = {};
    size_ = 0;
  }

  // f(key, value&) for every entry, in no particular order.
  template <class F>
  void for_each(F&& f) {
    for (std::size_t i = 0; cells_ && i <= mask_; ++i) {
      if (cells_[i].key != nullptr) f(cells_[i].key, cells_[i].value);
    }
  }

  void swap(AddressMap& other) noexcept {
    cells_.swap(other.cells_);
    std::swap(mask_, other.mask_);
    std::swap(size_, other.size_);
  }

 private:
  static constexpr std::size_t kAbsent = static_cast<std::size_t>(-1);

  struct Cell {
    const void* key = nullptr;
    std::size_t value = 0;
  };

  std::size_t home(const void* key) const {
    // Fibonacci hashing of the address; its low bits are alignment.
    const auto h =
        static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(key)) * 0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>(h >> 32) & mask_;
  }
  std::size_t next(std::size_t i) const { return (i + 1) & mask_; }
  // The cell holding key, or kAbsent.
  std::size_t cell_of(const void* key) const {
    if (size_ == 0 || key == nullptr) return kAbsent;
    for (std::size_t i = home(key);; i = next(i)) {
      if (cells_[i].key == key) return i;
      if (cells_[i].key == nullptr) return kAbsent;
    }
  }

  void rehash(std::size_t capacity) {
    std::unique_ptr<Cell[]> old(new Cell[capacity]);
    old.swap(cells_);
    const std::size_t old_capacity = old ? mask_ + 1 : 0;
    mask_ = capacity - 1;
    for (std::size_t k = 0; k < old_capacity; ++k) {
      if (old[k].key == nullptr) continue;
      std::size_t i = home(old[k].key);
      while (cells_[i].key != nullptr) i = next(i);
      cells_[i] = old[k];
    }
  }

  std::unique_ptr<Cell[]> cells_;
  std::size_t mask_ = 0;  // capacity - 1 (a power of two), once cells_ exists
  std::size_t size_ = 0;
};

}  // namespace detail
}  // namespace descend
