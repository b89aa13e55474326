// The names of a parameter's state buffers, in their order in its state
// (PyTorch's names: "exp_avg", "exp_avg_sq", ...). String literals in a fixed
// array: every optimizer's names_of() makes such a list, and so does every
// state allocation, so a std::vector<std::string> compiled its construction,
// copies and growth into every file that uses an optimizer.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include "descend/optim/detail/view.hpp"  // DESCEND_COLD

namespace descend {
namespace detail {

class BufferNames {
 public:
  static constexpr std::size_t kMax = 4;  // Adam with amsgrad has 3

  BufferNames() = default;
  BufferNames(std::initializer_list<const char*> names) {
    for (const char* name : names) push_back(name);
  }

  // `name` must outlive the list (descend's are string literals).
  void push_back(const char* name) {
    if (count_ == kMax) too_many();
    names_[count_++] = name;
  }

  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  const char* operator[](std::size_t i) const { return names_[i]; }
  const char* const* begin() const { return names_; }
  const char* const* end() const { return names_ + count_; }

  // The position of the buffer called `name`, or size() if there is none.
  std::size_t find(const std::string& name) const {
    std::size_t b = 0;
    while (b < count_ && name != names_[b]) ++b;
    return b;
  }

  // As the public API gives them (only files that ask compile this).
  std::vector<std::string> strings() const { return {begin(), end()}; }

  // "exp_avg, exp_avg_sq", or "none", for messages.
  DESCEND_COLD std::string joined() const {
    std::string out;
    for (const char* name : *this) out.append(out.empty() ? "" : ", ").append(name);
    return out.empty() ? "none" : out;
  }

 private:
  [[noreturn]] DESCEND_COLD static void too_many() {
    throw std::length_error("descend: an optimizer gives a parameter more than 4 state buffers");
  }

  const char* names_[kMax] = {};
  std::size_t count_ = 0;
};

}  // namespace detail
}  // namespace descend
