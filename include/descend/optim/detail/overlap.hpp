// Whether two views share a coefficient, and a set of registered views that
// finds the one a new view overlaps in O(log n). All on bytes: one copy of
// the code serves float and double.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <vector>

#include "descend/optim/detail/pod_vector.hpp"
#include "descend/optim/detail/view.hpp"

namespace descend {
namespace detail {

// A view's coefficients as bytes, whatever its Scalar: what the overlap checks
// read, so that they are compiled once for float and double.
struct Cells {
  const char* data = nullptr;
  Index rows = 0;
  Index cols = 0;
  Index row_stride = 0;  // in coefficients, as View's
  Index col_stride = 0;
  Index width = 0;  // bytes per coefficient

  Index size() const { return rows * cols; }
};

template <class T>
Cells cells_of(const View<T>& v) {
  return {reinterpret_cast<const char*>(v.data), v.rows, v.cols, v.row_stride, v.col_stride,
          static_cast<Index>(sizeof(T))};
}

// The bytes from a view's lowest to just past its highest coefficient.
struct Span {
  const char* lo = nullptr;
  const char* hi = nullptr;

  bool meets(const Span& o) const { return lo < o.hi && o.lo < hi; }
};

inline Span span_of(const Cells& v) {
  if (v.size() == 0) return {};
  std::ptrdiff_t low = 0, high = 0;  // in coefficients, from data
  const std::ptrdiff_t r = (v.rows - 1) * v.row_stride, c = (v.cols - 1) * v.col_stride;
  low += std::min<std::ptrdiff_t>(r, 0) + std::min<std::ptrdiff_t>(c, 0);
  high += std::max<std::ptrdiff_t>(r, 0) + std::max<std::ptrdiff_t>(c, 0);
  return {v.data + low * v.width, v.data + (high + 1) * v.width};
}

// contiguous_col_major or contiguous_row_major (view.hpp).
inline bool is_contiguous(const Cells& v) {
  return ((v.rows <= 1 || v.row_stride == 1) && (v.cols <= 1 || v.col_stride == v.rows)) ||
         ((v.cols <= 1 || v.col_stride == 1) && (v.rows <= 1 || v.row_stride == v.cols));
}

// The address of every coefficient of v, sorted (for the rare exact check).
// A plain array and qsort: a growing vector and std::sort would be
// instantiated in every file that includes this one.
inline std::unique_ptr<const char* []> addresses(const Cells& v) {
  std::unique_ptr<const char*[]> out(new const char*[static_cast<std::size_t>(v.size())]);
  std::size_t k = 0;
  for (Index j = 0; j < v.cols; ++j)
    for (Index i = 0; i < v.rows; ++i)
      out[k++] = v.data + (i * v.row_stride + j * v.col_stride) * v.width;
  std::qsort(out.get(), k, sizeof(const char*), [](const void* a, const void* b) {
    const std::less<const char*> less;
    const char* x = *static_cast<const char* const*>(a);
    const char* y = *static_cast<const char* const*>(b);
    return less(x, y) ? -1 : less(y, x) ? 1 : 0;
  });
  return out;
}

// Whether a and b, whose spans meet, share a coefficient: yes if both are in
// one piece; otherwise (two interleaved column blocks of a row-major matrix,
// say) the coefficients' bytes are compared, in address order. Bytes, not
// addresses: a double and a float four bytes into it share memory.
DESCEND_NOINLINE inline bool share_meeting(const Cells& a, const Cells& b) {
  if (is_contiguous(a) && is_contiguous(b)) return true;
  const std::unique_ptr<const char*[]> x = addresses(a), y = addresses(b);
  const std::less<const char*> less;
  const std::size_t n = static_cast<std::size_t>(a.size()), m = static_cast<std::size_t>(b.size());
  for (std::size_t i = 0, j = 0; i < n && j < m;) {
    const Span p{x[i], x[i] + a.width}, q{y[j], y[j] + b.width};
    if (p.meets(q)) return true;
    // The one that ends first meets nothing further in the other list.
    if (less(p.hi, q.hi))
      ++i;
    else
      ++j;
  }
  return false;
}

// Whether a and b share a coefficient. Constant time unless their spans meet
// and one is strided. The span test, all that runs for memory apart (every
// update() checks its gradient), is small enough to inline.
inline bool share_coefficients(const Cells& a, const Cells& b) {
  if (a.size() == 0 || b.size() == 0 || !span_of(a).meets(span_of(b))) return false;
  return share_meeting(a, b);
}
// The same, out of line, for the checks that are not every update()'s.
DESCEND_NOINLINE inline bool share_coefficients_outlined(const Cells& a, const Cells& b) {
  return share_coefficients(a, b);
}
// The span of a view, read field by field: every update() checks its
// gradient against its parameter, whose views the caller has just written
// field by field, and copying them whole into Cells first (as the compiler
// did) read them back with wider loads that stall on store forwarding: a
// third of a dispatched 1000-float update() went there.
template <class T>
DESCEND_ALWAYS_INLINE Span span_of(const View<T>& v) {
  if (v.rows == 0 || v.cols == 0) return {};
  const std::ptrdiff_t r = (v.rows - 1) * v.row_stride, c = (v.cols - 1) * v.col_stride;
  const std::ptrdiff_t low = std::min<std::ptrdiff_t>(r, 0) + std::min<std::ptrdiff_t>(c, 0);
  const std::ptrdiff_t high = std::max<std::ptrdiff_t>(r, 0) + std::max<std::ptrdiff_t>(c, 0);
  const char* data = reinterpret_cast<const char*>(v.data);
  return {data + low * static_cast<std::ptrdiff_t>(sizeof(T)),
          data + (high + 1) * static_cast<std::ptrdiff_t>(sizeof(T))};
}
template <class T, class U>
DESCEND_ALWAYS_INLINE bool share_coefficients(const View<T>& a, const View<U>& b) {
  if (!span_of(a).meets(span_of(b))) return false;  // an empty view's span meets none
  return share_meeting(cells_of(a), cells_of(b));
}

// Views (of float or double coefficients, as bytes) that share no coefficient
// with each other, each with an id. Contiguous ones are kept by address, so a
// new one finds its neighbours in O(log n); strided ones, rare, in a list.
class ViewSet {
 public:
  // The id of a view in the set that shares a coefficient with v, or kNone.
  std::size_t overlapping(const Cells& v) const {
    if (v.size() == 0) return kNone;
    const Span s = span_of(v);
    auto it = contiguous_.upper_bound(s.lo);
    if (it != contiguous_.begin()) {
      const auto before = std::prev(it);
      if (before->second.span.meets(s) && share_coefficients_outlined(v, before->second.view))
        return before->second.id;
    }
    for (; it != contiguous_.end() && it->first < s.hi; ++it) {
      if (share_coefficients_outlined(v, it->second.view)) return it->second.id;
    }
    for (const Entry& e : strided_) {
      if (share_coefficients_outlined(v, e.view)) return e.id;
    }
    return kNone;
  }

  // Adds v, which must share no coefficient with any view in the set.
  void insert(const Cells& v, std::size_t id) {
    if (v.size() == 0) return;
    const Entry e{v, span_of(v), id};
    if (is_contiguous(v))
      contiguous_.emplace(e.span.lo, e);
    else
      strided_.push_back(e);
  }

  // Removes v (as inserted). Never allocates.
  void erase(const Cells& v) {
    if (v.size() == 0) return;
    if (is_contiguous(v)) {
      contiguous_.erase(span_of(v).lo);
      return;
    }
    for (std::size_t i = 0; i < strided_.size(); ++i) {
      if (strided_[i].view.data == v.data) {
        strided_.erase(strided_.begin() + static_cast<std::ptrdiff_t>(i));
        return;
      }
    }
  }

  // Removes every view with this id and renumbers the later ids down by one.
  // Never allocates.
  void remove_id(std::size_t id) {
    for (auto it = contiguous_.begin(); it != contiguous_.end();) {
      if (it->second.id == id) {
        it = contiguous_.erase(it);
      } else {
        it->second.id -= it->second.id > id ? 1 : 0;
        ++it;
      }
    }
    strided_.erase(std::remove_if(strided_.begin(), strided_.end(),
                                  [id](const Entry& e) { return e.id == id; }),
                   strided_.end());
    for (Entry& e : strided_) e.id -= e.id > id ? 1 : 0;
  }

  void clear() {
    contiguous_.clear();
    strided_.clear();
  }

 private:
  struct Entry {
    Cells view;
    Span span;
    std::size_t id;
  };
  std::map<const char*, Entry> contiguous_;
  PodVector<Entry> strided_;
};

}  // namespace detail
}  // namespace descend
