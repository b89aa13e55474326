// The registrations' names, in registration order ("" for a pair added
// without one). One string holds them all back to back, and a PodVector where
// each ends: std::string's members are compiled once, in libstdc++, where a
// std::vector<std::string> compiled its growth, copies and erase into every
// file that registers a parameter.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>

#include "descend/optim/detail/pod_vector.hpp"

namespace descend {
namespace detail {

class NameList {
 public:
  std::size_t size() const { return ends_.size(); }
  std::string operator[](std::size_t i) const { return text_.substr(begin(i), length(i)); }

  // The position of `name` in the list, or size() if it is not there.
  std::size_t find(const std::string& name) const {
    std::size_t i = 0;
    while (i < size() &&
           (length(i) != name.size() || text_.compare(begin(i), length(i), name) != 0))
      ++i;
    return i;
  }

  // Room for `count` names in all, `name` among them: push_back(name) cannot
  // throw then. The caller grows `count` with its registrations; the text
  // grows geometrically itself (std::string::reserve need not: libc++ rounds
  // up to 16 bytes, and libstdc++ before GCC 11 shrank to the request).
  // Throws std::bad_alloc, changing nothing.
  void reserve_for(const std::string& name, std::size_t count) {
    ends_.reserve(count);
    const std::size_t need = text_.size() + name.size();
    if (need > text_.capacity()) text_.reserve(std::max(need, 2 * text_.capacity()));
  }
  void push_back(const std::string& name) {
    text_.append(name);
    ends_.push_back(text_.size());
  }

  void erase(std::size_t i) {
    const std::size_t gone = length(i);
    text_.erase(begin(i), gone);
    for (std::size_t j = i + 1; j < size(); ++j) ends_[j] -= gone;
    ends_.erase(ends_.begin() + i);
  }

 private:
  std::size_t begin(std::size_t i) const { return i == 0 ? 0 : ends_[i - 1]; }
  std::size_t length(std::size_t i) const { return ends_[i] - begin(i); }

  std::string text_;
  PodVector<std::size_t> ends_;
};

}  // namespace detail
}  // namespace descend
