// The base every optimizer derives from: per-parameter state keyed by the
// parameter's memory, in-place updates of any writable Eigen dense object,
// and the register-then-step() driving style.
//
// Identity. A parameter is the memory it lives in: the address of its first
// coefficient. State is created by the first update at an address and found
// again by every later update at that address, through whichever Eigen object
// (Matrix, Map, Ref, Block) views it. The state also records the view's shape
// and strides; an update at the same address with another shape or layout
// throws ShapeError instead of reusing state meant for other numbers.
// Consequences, for plain (unregistered) updates:
//  - two Maps of the same memory with the same shape are one parameter;
//  - moving a dynamic-size Matrix moves its heap buffer, so its state follows;
//    a fixed-size Matrix lives inline, so a moved copy is a new parameter;
//  - resizing reallocates, so the result is a new parameter (if the allocator
//    returns the same address with another shape, the update throws);
//  - freeing a parameter does not free its state; memory that is reused for a
//    new parameter of the same shape inherits it. Call forget() before freeing,
//    or reset(), or use registration (below).
// A Matrix or Array registered with add() is followed as an object: its
// address and shape are read again at every step(), so its state follows it
// when it is moved or reallocated, and a resize throws ShapeError.
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "descend/optim/detail/view.hpp"
#include "descend/optim/errors.hpp"

namespace descend {

template <class Scalar>
class Optimizer {
  static_assert(std::is_floating_point<Scalar>::value,
                "descend optimizers work on float, double or long double");

 public:
  using Index = Eigen::Index;
  using StateMap = Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>>;

  virtual ~Optimizer() = default;

  // Updates one parameter in place from its gradient. `param` is any writable
  // direct-access Eigen object (Matrix, Array, Map, Ref, Block); `grad` is any
  // Eigen expression of the same shape. Throws ShapeError, leaving parameter
  // and state unchanged, when the shapes differ or the parameter's shape
  // changed since its state was created. An empty parameter is a no-op.
  template <class Param, class Grad>
  void update(Param&& param, const Eigen::DenseBase<Grad>& grad) {
    check_param_type<Param>();
    check_grad_type<Grad>();
    check_same_shape(param.rows(), param.cols(), grad.rows(), grad.cols());
    if (param.size() == 0) return;
    // Built in place and never copied whole: see Source::read.
    Work work;
    work.param = detail::view_of(param);
    Slot* slot = find(work.param.data);
    if (slot) {
      check_layout(*slot, work.param);
      evaluate_gradient(*slot, grad.derived());
    } else {
      Slot fresh = make_slot(work.param);
      evaluate_gradient(fresh, grad.derived());
      slot = &insert(std::move(fresh));
    }
    work.grad = gradient_view(*slot, grad.derived());
    work.state = slot->buffers.data();
    work.step = ++slot->step;
    work.lr = decayed_lr(work.step);
    current_lr_ = apply(&work, 1);
  }

  // Registers a (parameter, gradient) pair for step() and zero_grad(). Both
  // must stay alive while registered. A Matrix or Array passed by name is
  // followed as an object (see the file comment); a Map, Ref or Block is
  // captured as the memory it views now.
  template <class Param, class Grad>
  void add(Param&& param, Grad&& grad) {
    check_param_type<Param>();
    check_param_type<Grad>();
    check_same_shape(param.rows(), param.cols(), grad.rows(), grad.cols());
    for (const Registration& r : registered_) {
      if (r.param.get().data == param.data() && param.size() != 0)
        throw std::invalid_argument(
            detail::concat(who_, ": parameter at ", param.data(), " is already registered"));
    }
    work_.reserve(registered_.size() + 1);  // step() never allocates
    registered_.push_back(Registration{source_of(std::forward<Param>(param)),
                                       source_of(std::forward<Grad>(grad)), kNone});
  }

  // Updates every registered parameter from its gradient. Every pair is
  // checked, and all new state created, before any is updated, so a throw
  // leaves all of them untouched. The update itself is one call that runs
  // through all parameters, with the options looked at once.
  void step() {
    work_.resize(registered_.size());  // within the capacity add() reserved
    // One pass reads and checks every pair and, for those with state, counts
    // the step and fills in the work. `settled`: every pair is non-empty and
    // has state at its parameter's current address, as from the second step
    // on, so that work_ is ready.
    bool settled = true;
    std::size_t i = 0;
    try {
      for (; i < registered_.size(); ++i) {
        const Registration& r = registered_[i];
        Work& w = work_[i];
        r.param.read(w.param);
        r.grad.read(w.grad);
        const detail::View<Scalar>& p = w.param;
        check_same_shape(p.rows, p.cols, w.grad.rows, w.grad.cols, i);
        if (r.slot != kNone) {
          Slot& s = slots_[r.slot];
          check_layout(s, p, i);
          settled = settled && s.key == p.data;
          w.state = s.buffers.data();
          w.step = ++s.step;  // undone below if anything throws
          w.lr = decayed_lr(w.step);
        } else {
          if (const Slot* s = find(p.data)) check_layout(*s, p, i);
          settled = false;
        }
      }
    } catch (...) {
      uncount_steps(i);  // a throw leaves everything as it was
      throw;
    }
    if (settled) {
      if (!work_.empty()) current_lr_ = apply(work_.data(), work_.size());
      return;
    }
    // State to create or to move: nothing has changed but the step counts.
    uncount_steps(registered_.size());
    for (i = 0; i < registered_.size(); ++i) {
      Registration& r = registered_[i];
      const detail::View<Scalar>& p = work_[i].param;
      if (p.size() == 0) continue;
      if (r.slot == kNone) {
        const Slot* s = find(p.data);
        r.slot = s ? index_of(*s) : index_of(insert(make_slot(p)));
      } else if (slots_[r.slot].key != p.data) {
        rekey(r, p.data);  // a registered Matrix that moved or was reallocated
      }
    }
    std::size_t count = 0;  // the non-empty ones, in order
    for (i = 0; i < registered_.size(); ++i) {
      if (work_[i].param.size() == 0) continue;
      Slot& s = slots_[registered_[i].slot];
      Work& w = work_[count++];
      if (&w != &work_[i]) w = work_[i];
      w.state = s.buffers.data();
      w.step = ++s.step;
      w.lr = decayed_lr(s.step);
    }
    if (count > 0) current_lr_ = apply(work_.data(), count);
  }

  // Sets every registered gradient to zero.
  void zero_grad() {
    for (const Registration& r : registered_) {
      const detail::View<Scalar> g = r.grad.get();
      for (Index j = 0; j < g.cols; ++j)
        for (Index i = 0; i < g.rows; ++i) g.data[i * g.row_stride + j * g.col_stride] = 0;
    }
  }

  std::size_t num_registered() const { return registered_.size(); }

  // The base learning rate, before decay. set_lr takes effect at the next update.
  double lr() const { return lr_; }
  void set_lr(double lr) {
    detail::Check{who_}.finite_non_negative("lr", lr);
    lr_ = lr;
  }
  // The learning rate the most recent update applied, after inverse-time
  // decay (and AdaGrad's lr_decay); lr() before the first update.
  double current_lr() const { return current_lr_; }

  // State inspection. The state of a parameter is found by its address and
  // checked against its shape, as in update().
  template <class Param>
  bool has_state(const Eigen::DenseBase<Param>& param) const {
    return lookup(param.derived()) != nullptr;
  }
  // How many updates this parameter has had (PyTorch's state["step"]); 0 if none.
  template <class Param>
  std::int64_t step_count(const Eigen::DenseBase<Param>& param) const {
    const Slot* s = lookup(param.derived());
    return s ? s->step : 0;
  }
  // One state buffer of a parameter, by its PyTorch name (e.g. "exp_avg"), as
  // a flat array in the parameter's memory order.
  template <class Param>
  StateMap state(const Eigen::DenseBase<Param>& param, const std::string& name) const {
    const Slot* s = lookup(param.derived());
    if (!s) throw std::invalid_argument(detail::concat(who_, ": parameter has no state yet"));
    const std::vector<std::string> names = buffer_names();
    for (std::size_t b = 0; b < names.size(); ++b) {
      if (names[b] == name) return StateMap(s->buffers.data() + b * s->size, s->size);
    }
    throw std::invalid_argument(detail::concat(who_, ": no state buffer named '", name, "'"));
  }
  // Names of the state buffers each parameter gets with these options.
  virtual std::vector<std::string> buffer_names() const = 0;

  // Drops one parameter's state; its next update starts afresh. Returns
  // whether there was any. A registered parameter stays registered.
  template <class Param>
  bool forget(const Eigen::DenseBase<Param>& param) {
    const auto it = index_.find(static_cast<const void*>(param.derived().data()));
    if (it == index_.end()) return false;
    erase_slot(it->second);
    return true;
  }

  // Drops all state (registrations stay); the optimizer is as constructed.
  void reset() {
    slots_.clear();
    index_.clear();
    for (Registration& r : registered_) r.slot = kNone;
    current_lr_ = lr_;
  }

  std::size_t num_states() const { return slots_.size(); }

 protected:
  Optimizer(const char* who, double lr, double decay) : who_(who) {
    const detail::Check check{who};
    check.finite_non_negative("lr", lr);
    check.finite_non_negative("decay", decay);
    lr_ = lr;
    decay_ = decay;
    current_lr_ = lr;
  }
  Optimizer(const Optimizer&) = default;
  Optimizer& operator=(const Optimizer&) = default;

  // Called once on a new parameter's state buffers (n elements each,
  // buffer_names().size() buffers back to back), which start at zero; an
  // optimizer that starts elsewhere (AdaGrad's sum) overrides this.
  virtual void init_state(Scalar* /*buffers*/, Index /*n*/) const {}

  // One parameter's part in an update.
  struct Work {
    detail::View<Scalar> param;
    detail::View<const Scalar> grad;  // same shape as param
    Scalar* state = nullptr;          // buffer_names().size() buffers of param.size()
    std::int64_t step = 0;            // its update count, this one included (1 first)
    double lr = 0;                    // the base learning rate after inverse-time decay
  };

  // Applies the update rule to each of `count` parameters (update() passes
  // one, step() all registered ones). Returns the learning rate actually
  // applied to the last (for current_lr()). Must not throw.
  virtual double apply(const Work* work, std::size_t count) = 0;

  const char* who_;

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  // What step() reads of a slot (key, layout, step, the buffers' address)
  // fills its first cache line.
  struct alignas(64) Slot {
    const void* key = nullptr;
    detail::View<Scalar> layout;  // shape and strides at creation
    std::int64_t step = 0;
    // Back to back; the first starts aligned as Eigen aligns its own arrays
    // (64 bytes with AVX-512), which took a step over 1000 x 64 floats from
    // 1.8x to 1.65x its raw loop with -march=native.
    Eigen::Array<Scalar, Eigen::Dynamic, 1> buffers;
    Index size = 0;
    Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> grad_scratch;  // expression gradients
  };

  // Where a registered parameter or gradient is: an object read again at every
  // step (a Matrix or Array), or a fixed view (a Map, Ref or Block).
  struct Source {
    void* object = nullptr;
    void (*read_object)(void*, detail::View<Scalar>&) = nullptr;
    void (*read_const_object)(void*, detail::View<const Scalar>&) = nullptr;
    detail::View<Scalar> fixed;

    // Reads straight into v: a copy of a view just written field by field
    // stalls on store forwarding, which showed in step()'s profile.
    void read(detail::View<Scalar>& v) const {
      if (read_object)
        read_object(object, v);
      else
        v = fixed;
    }
    void read(detail::View<const Scalar>& v) const {
      if (read_const_object)
        read_const_object(object, v);
      else
        v = as_const(fixed);
    }
    detail::View<Scalar> get() const {
      detail::View<Scalar> v;
      read(v);
      return v;
    }
  };

  struct Registration {
    Source param;
    Source grad;
    std::size_t slot;
  };

  template <class X>
  static Source source_of(X&& x) {
    using D = std::remove_cv_t<std::remove_reference_t<X>>;
    Source s;
    if constexpr (std::is_lvalue_reference<X>::value &&
                  std::is_base_of<Eigen::PlainObjectBase<D>, D>::value) {
      s.object = &x;
      s.read_object = [](void* o, detail::View<Scalar>& v) {
        v = detail::view_of(*static_cast<D*>(o));
      };
      s.read_const_object = [](void* o, detail::View<const Scalar>& v) {
        v = detail::view_of(*static_cast<const D*>(o));
      };
    } else {
      s.fixed = detail::view_of(x);
    }
    return s;
  }

  template <class Param>
  static void check_param_type() {
    using P = std::remove_reference_t<Param>;
    using D = std::remove_cv_t<P>;
    static_assert(detail::is_eigen_dense<D>(),
                  "descend: parameters and registered gradients must be Eigen dense objects");
    static_assert(std::is_same<typename D::Scalar, Scalar>::value,
                  "descend: the parameter's Scalar type must be the optimizer's");
    static_assert(!std::is_const<P>::value && (D::Flags & Eigen::LvalueBit) != 0,
                  "descend: parameters are updated in place and must be writable");
    static_assert(detail::has_direct_access<D>(),
                  "descend: parameters must expose their memory (Matrix, Array, Map, Ref, "
                  "Block); update the object an expression such as .reverse() views instead");
  }

  template <class Grad>
  static void check_grad_type() {
    static_assert(std::is_same<typename Grad::Scalar, Scalar>::value,
                  "descend: the gradient's Scalar type must be the optimizer's; "
                  "use .template cast<Scalar>()");
  }

  // `registration` names the registered pair in messages; kNone for update().
  std::string where(std::size_t registration) const {
    return registration == kNone ? std::string()
                                 : detail::concat("registered parameter #", registration, ": ");
  }

  void check_same_shape(Index p_rows, Index p_cols, Index g_rows, Index g_cols,
                        std::size_t registration = kNone) const {
    if (p_rows != g_rows || p_cols != g_cols)
      throw ShapeError(detail::concat(who_, ": ", where(registration), "gradient is ", g_rows, "x",
                                      g_cols, " but parameter is ", p_rows, "x", p_cols));
  }

  void check_layout(const Slot& s, const detail::View<Scalar>& p,
                    std::size_t registration = kNone) const {
    const detail::View<Scalar>& q = s.layout;
    if (q.rows == p.rows && q.cols == p.cols && q.row_stride == p.row_stride &&
        q.col_stride == p.col_stride)
      return;
    throw ShapeError(detail::concat(
        who_, ": ", where(registration), "parameter at ", static_cast<const void*>(p.data),
        " is now ", p.rows, "x", p.cols, " (strides ", p.row_stride, ", ", p.col_stride,
        ") but its state was made for ", q.rows, "x", q.cols, " (strides ", q.row_stride, ", ",
        q.col_stride,
        "); it was resized or viewed differently. Call forget() on it to start afresh"));
  }

  // Parameters are usually updated in the same order every step, so the slot
  // after the last one found is tried before the hash table.
  Slot* find(const void* key) {
    if (next_ < slots_.size() && slots_[next_].key == key) return &slots_[next_++];
    const auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    next_ = it->second + 1;
    return &slots_[it->second];
  }
  const Slot* find(const void* key) const {
    const auto it = index_.find(key);
    return it == index_.end() ? nullptr : &slots_[it->second];
  }

  template <class Derived>
  const Slot* lookup(const Derived& param) const {
    static_assert(detail::has_direct_access<Derived>(), "descend: parameters must expose memory");
    const Slot* s = find(param.data());
    if (s) {
      auto v = detail::view_of(param);
      check_layout(*s, detail::View<Scalar>{const_cast<Scalar*>(v.data), v.rows, v.cols,
                                            v.row_stride, v.col_stride});
    }
    return s;
  }

  Slot make_slot(const detail::View<Scalar>& p) const {
    Slot s;
    s.key = p.data;
    s.layout = p;
    s.size = p.size();
    s.buffers.setZero(s.size * static_cast<Index>(buffer_names().size()));
    init_state(s.buffers.data(), s.size);
    return s;
  }

  Slot& insert(Slot&& s) {
    slots_.push_back(std::move(s));
    try {
      index_.emplace(slots_.back().key, slots_.size() - 1);
    } catch (...) {
      slots_.pop_back();
      throw;
    }
    next_ = slots_.size();
    return slots_.back();
  }

  std::size_t index_of(const Slot& s) const { return static_cast<std::size_t>(&s - slots_.data()); }

  // Moves a registration's state to the parameter's new address. State left
  // at that address by plain update()s belonged to memory the registered
  // object now owns; it is dropped rather than left unreachable.
  void rekey(Registration& r, const void* key) {
    const auto stale = index_.find(key);
    if (stale != index_.end()) erase_slot(stale->second);  // may renumber r.slot
    Slot& s = slots_[r.slot];
    index_.erase(s.key);
    s.key = key;
    s.layout.data = static_cast<Scalar*>(const_cast<void*>(key));
    index_[key] = r.slot;
  }

  // Takes back the step counted for each of the first n registrations that had state.
  void uncount_steps(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      if (registered_[i].slot != kNone) slots_[registered_[i].slot].step -= 1;
    }
  }

  // Removes slot i by moving the last slot into its place.
  void erase_slot(std::size_t i) {
    const std::size_t last = slots_.size() - 1;
    index_.erase(slots_[i].key);
    if (i != last) {
      slots_[i] = std::move(slots_[last]);
      index_[slots_[i].key] = i;
    }
    slots_.pop_back();
    for (Registration& r : registered_) {
      if (r.slot == i)
        r.slot = kNone;
      else if (r.slot == last)
        r.slot = i;
    }
  }

  template <class Grad>
  static void evaluate_gradient(Slot& s, const Grad& grad) {
    if constexpr (!detail::has_direct_access<Grad>()) {
      s.grad_scratch.resize(grad.rows(), grad.cols());  // allocates only the first time
      s.grad_scratch.noalias() = grad.matrix();
    }
  }

  template <class Grad>
  static detail::View<const Scalar> gradient_view(const Slot& s, const Grad& grad) {
    if constexpr (detail::has_direct_access<Grad>()) {
      return detail::view_of(grad);
    } else {
      return detail::view_of(s.grad_scratch);
    }
  }

  static detail::View<const Scalar> as_const(const detail::View<Scalar>& v) {
    return {v.data, v.rows, v.cols, v.row_stride, v.col_stride};
  }

  double decayed_lr(std::int64_t step) const {  // inverse-time decay
    return decay_ == 0 ? lr_ : lr_ / (1.0 + decay_ * static_cast<double>(step - 1));
  }

  double lr_ = 0;
  double decay_ = 0;
  double current_lr_ = 0;
  std::vector<Slot> slots_;
  std::unordered_map<const void*, std::size_t> index_;
  std::size_t next_ = 0;  // the slot find() tries first
  std::vector<Registration> registered_;
  std::vector<Work> work_;  // step()'s, kept to reuse its memory
};

}  // namespace descend
