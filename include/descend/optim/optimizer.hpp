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
// Registered parameters (add(), step(), zero_grad()) are described at add().
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "descend/optim/detail/address_map.hpp"
#include "descend/optim/detail/buffer_names.hpp"
#include "descend/optim/detail/name_list.hpp"
#include "descend/optim/detail/overlap.hpp"
#include "descend/optim/detail/pod_vector.hpp"
#include "descend/optim/detail/slot.hpp"
#include "descend/optim/detail/view.hpp"
#include "descend/optim/errors.hpp"
#include "descend/optim/param_groups.hpp"
#include "descend/optim/transform.hpp"

namespace descend {

// What update() and add() accept, decided at compile time so that a misuse
// reads as descend's own message, first (see Optimizer::check_param).
namespace detail {
template <class D, bool = is_eigen_dense<D>()>
struct EigenTraits {
  using Scalar = void;
  static constexpr bool writable = false, has_memory = false, owns_memory = false;
};
template <class D>
struct EigenTraits<D, true> {
  using Scalar = typename D::Scalar;
  static constexpr bool writable = (D::Flags & Eigen::LvalueBit) != 0;
  static constexpr bool has_memory = (D::Flags & Eigen::DirectAccessBit) != 0;
  // A Matrix or Array holds its coefficients; a Map, Ref or Block views others'.
  static constexpr bool owns_memory = std::is_base_of<Eigen::PlainObjectBase<D>, D>::value;
};

// Whether Spec makes a GradientTransform<Scalar> (add_transform).
template <class Spec, class Scalar, class = void>
struct is_transform_spec : std::false_type {};
template <class Spec, class Scalar>
struct is_transform_spec<Spec, Scalar,
                         std::void_t<decltype(std::declval<const Spec&>().template make<Scalar>(
                             std::declval<const ParamGroups&>()))>> : std::true_type {};

// checkpoint.hpp's way in (saving and loading read and replace the state).
template <class Scalar>
struct CheckpointAccess;

// The messages of Optimizer's shape checks, on Scalar-free arguments so that
// float and double share them. `registration` names the registered pair,
// as "registered parameter #i: ", or is -1 for update().
DESCEND_COLD inline std::string where(std::size_t registration) {
  return registration == static_cast<std::size_t>(-1)
             ? std::string()
             : concat("registered parameter #", registration, ": ");
}
[[noreturn]] DESCEND_COLD inline void fail_shape(const char* who, std::size_t registration,
                                                 Eigen::Index p_rows, Eigen::Index p_cols,
                                                 Eigen::Index g_rows, Eigen::Index g_cols) {
  fail<ShapeError>(who, ": ", where(registration), "gradient is ", g_rows, "x", g_cols,
                   " but parameter is ", p_rows, "x", p_cols);
}
// p: the parameter now; q: as its state was made.
[[noreturn]] DESCEND_COLD inline void fail_layout(const char* who, std::size_t registration,
                                                  const void* data, const Layout& p,
                                                  const Layout& q) {
  fail<ShapeError>(who, ": ", where(registration), "parameter at ", data, " is now ", p.rows, "x",
                   p.cols, " (strides ", p.row_stride, ", ", p.col_stride,
                   ") but its state was made for ", q.rows, "x", q.cols, " (strides ", q.row_stride,
                   ", ", q.col_stride,
                   "); it was resized or viewed differently. Call forget() on it to start afresh");
}
}  // namespace detail

// A parameter group's options that every update rule has.
struct GroupSettings {
  double lr = 0;
  double decay = 0;
  bool maximize = false;
};

template <class Scalar>
class Optimizer : public ParamGroups {
  static_assert(std::is_floating_point<Scalar>::value,
                "descend optimizers work on float, double or long double");

 public:
  using Index = Eigen::Index;
  using StateMap = Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>>;

  virtual ~Optimizer();
  // An optimizer refers to the objects registered with it and keys its state
  // by their memory: a copy would update the same weights a second time.
  // Move it instead (or build a second one).
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Updates one parameter in place from its gradient. `param` is any writable
  // Eigen object with memory (Matrix, Array, Map, Ref, Block); `grad` is any
  // Eigen expression of the same shape and Scalar. Throws ShapeError when the
  // shapes differ or the parameter's shape changed since its state was
  // created, and std::invalid_argument when the gradient shares memory with
  // the parameter or its state, or the parameter is registered (step()
  // updates it); parameter and state are then unchanged. An empty parameter
  // is a no-op.
  template <class Param, class Grad>
  void update(Param&& param, const Grad& grad) {
    constexpr bool ok = check_param<Param>() && check_grad<Grad>();
    if constexpr (ok) update_checked(param, grad.derived());
  }

  // Registers a (parameter, gradient) pair for step() and zero_grad(), with
  // the pair's state, which step() creates on its first update. Both must be
  // named objects that stay alive while registered.
  //  - A Matrix or Array is followed as an object: its memory and shape are
  //    read again at every step(), so its state follows it when it is moved
  //    from, swapped or reallocated with the same shape. A resize throws
  //    ShapeError at step(): forget(it) drops the old state.
  //  - A Map, Ref or Block is captured as the memory it views now.
  //  - An object that is itself moved to another address (an element of a
  //    std::vector that reallocates) cannot be seen: descend would read the
  //    object where it was. Reserve the vector first, or register Maps.
  // No two registered parameters or gradients may share a coefficient, and a
  // gradient may not be its parameter: add() throws std::invalid_argument
  // naming both, and step() throws if moves made them overlap.
  // The pair joins parameter group `group` (0, the options the optimizer was
  // built with, unless add_group() made others); std::out_of_range if there
  // is no such group.
  template <class Param, class Grad>
  void add(Param&& param, Grad&& grad, std::size_t group = 0) {
    constexpr bool ok = check_param<Param>() && check_registered_grad<Grad>();
    if constexpr (ok) add_checked(std::forward<Param>(param), std::forward<Grad>(grad), group, {});
  }
  // The same, with a name (such as "fc1.weight") by which a checkpoint knows
  // the pair's state, as numpy-ml keys state by parameter name; unnamed pairs
  // are known by their registration index, as in PyTorch's state_dict. Names
  // are unique: std::invalid_argument if another pair has this one.
  template <class Param, class Grad>
  void add(const std::string& name, Param&& param, Grad&& grad, std::size_t group = 0) {
    constexpr bool ok = check_param<Param>() && check_registered_grad<Grad>();
    if constexpr (ok)
      add_checked(std::forward<Param>(param), std::forward<Grad>(grad), group, name);
  }

  // Updates every registered parameter from its gradient, each with its
  // group's options. Every pair is checked, the gradient transforms run
  // (add_transform), and all new state is created before any parameter is
  // updated, so a throw, or a skip, leaves all of them untouched. The update
  // itself is one call that runs through all parameters. Returns what it did.
  DESCEND_NOINLINE const StepReport& step() {
    work_.resize(registered_.size());  // within the capacity add() reserved
    scales_.resize(registered_.size());
    begin_report();
    // One pass reads and checks every pair and, for those with state, counts
    // the step and fills in the work. `settled`: no parameter or gradient
    // moved and every pair has state, as from the second step on, so that
    // work_ is ready.
    bool settled = true;
    std::size_t i = 0;
    try {
      for (; i < registered_.size(); ++i) {
        const Registration& r = registered_[i];
        Work& w = work_[i];
        r.param.read(w.param);
        r.grad.read(w.grad);
        const detail::View<Scalar>& p = w.param;
        check_same_shape(w, i);
        settled = settled && w.grad.data == r.grad_data && p.data == r.param_data;
        const GroupSettings& group = now_[r.group];
        w.group = r.group;
        w.grad_scale = group.maximize ? Scalar(-1) : Scalar(1);
        if (r.slot != kNone) {
          Slot& s = slots_[r.slot];
          check_layout(s, p, i);
          w.state = buffers(s);
          w.step = ++s.step;  // undone below if anything throws
          w.lr = decayed_lr(group, w.step);
          report_.lr[r.group] = w.lr;
        } else {
          // State update() made here, which settle() will adopt. (A slot
          // owned by another registration may still be keyed here if that
          // one moved: settle() gives this one fresh state.)
          const Slot* s = find(p.data);
          if (s && adoptable(index_of(*s), r.group)) check_layout(*s, p, i);
          w.state = nullptr;
          w.step = 0;
          settled = false;
        }
      }
      if (settled) {
        if (!run_transforms()) {
          uncount_steps(i);
          return end_report(0);
        }
        if (!work_.empty()) current_lr_ = apply(work_.data(), work_.size());
        return end_report(work_.size());
      }
    } catch (...) {
      uncount_steps(i);  // a throw leaves everything as it was
      throw;
    }
    uncount_steps(registered_.size());
    Settlement plan;
    plan_settle(plan);
    if (!run_transforms()) return end_report(0);
    settle(plan);
    std::size_t count = 0;  // the non-empty ones, in order
    for (i = 0; i < registered_.size(); ++i) {
      if (work_[i].param.size() == 0) continue;
      Slot& s = slots_[registered_[i].slot];
      Work& w = work_[count++];
      if (&w != &work_[i]) w = work_[i];
      w.state = buffers(s);
      w.step = ++s.step;
      w.lr = decayed_lr(now_[w.group], s.step);
      report_.lr[w.group] = w.lr;
    }
    if (count > 0) current_lr_ = apply(work_.data(), count);
    return end_report(count);
  }

  // What the last step() did.
  const StepReport& last_step() const { return report_; }

  // Appends a gradient transform that every step() runs, in the order added,
  // after checking the registered pairs and before updating: ClipGradNorm,
  // ClipGradValue, ClipNormPerParameter (clip.hpp), NonFiniteGuard (guard.hpp).
  // They act on step(), not on update().
  template <class Spec>
  void add_transform(const Spec& spec) {
    constexpr bool ok = detail::is_transform_spec<Spec, Scalar>::value;
    static_assert(ok,
                  "descend: add_transform() takes a gradient transform's options: ClipGradNorm, "
                  "ClipGradValue, ClipNormPerParameter (clip.hpp) or NonFiniteGuard (guard.hpp)");
    if constexpr (ok)
      add_transform_ptr(spec.template make<Scalar>(static_cast<const ParamGroups&>(*this)));
  }
  DESCEND_COLD void add_transform_ptr(std::unique_ptr<GradientTransform<Scalar>> transform) {
    if (!transform) detail::fail<std::invalid_argument>(who_, ": add_transform(nullptr)");
    check_not_in_transforms("add_transform");
    transforms_.push_back(std::move(transform));
  }
  void clear_transforms() {
    check_not_in_transforms("clear_transforms");
    transforms_.clear();
  }
  std::size_t num_transforms() const { return transforms_.size(); }

  // Sets every registered gradient to zero.
  DESCEND_NOINLINE void zero_grad() {
    for (const Registration& r : registered_)
      detail::for_each_element(r.grad.get(), [](Scalar& x, Index, Index) { x = 0; });
  }

  std::size_t num_registered() const { return registered_.size(); }
  // The name registered pair #i was given ("" if none); std::out_of_range if
  // there is no such pair.
  std::string name(std::size_t registration) const {
    if (registration >= names_.size())
      detail::fail<std::out_of_range>(who_, ": registered parameter #", registration,
                                      " does not exist (", names_.size(), " registered)");
    return names_[registration];
  }

  // The parameter group of a registered parameter (found as remove() finds
  // it); std::invalid_argument if it is not registered.
  template <class Param>
  std::size_t group_of(const Eigen::DenseBase<Param>& param) const {
    static_assert(detail::has_direct_access<Param>(), "descend: parameters must expose memory");
    return group_at(owning_object(param.derived()), as_const_view(param.derived()));
  }

  // The learning rate the most recent update applied, after inverse-time
  // decay (and AdaGrad's lr_decay); lr() of group 0 before the first update.
  // lr(group) and set_lr() (ParamGroups) read and set the groups' rates.
  double current_lr() const { return std::isnan(current_lr_) ? lr(0) : current_lr_; }

  // State inspection. A registered Matrix or Array is found as the object it
  // is; anything else by its memory, checked against its shape as in update().
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
    return state_of(lookup(param.derived()), name);
  }
  // Names of the state buffers each parameter of a group gets with its options.
  std::vector<std::string> buffer_names(std::size_t group = 0) const {
    return group_buffers(group).strings();
  }

  // Drops one parameter's state; its next update starts afresh. Returns
  // whether there was any. A registered parameter stays registered, and is
  // found as the object it is even after a resize changed its memory.
  template <class Param>
  bool forget(const Eigen::DenseBase<Param>& param) {
    return forget_at(owning_object(param.derived()), param.derived().data());
  }

  // Unregisters the pair whose parameter is `param` (the registered Matrix or
  // Array itself, or a view of exactly the registered parameter's memory,
  // shape and strides; a registered view before a registered Matrix) and
  // drops its state. Returns whether there was such a pair. Registrations
  // after it are renumbered (#5 becomes #4). Never throws.
  template <class Param>
  bool remove(const Eigen::DenseBase<Param>& param) {
    static_assert(detail::has_direct_access<Param>(), "descend: parameters must expose memory");
    return remove_at(owning_object(param.derived()), as_const_view(param.derived()));
  }

  // Drops all state; registrations, groups and transforms stay (the
  // non-finite guard's counts too).
  DESCEND_COLD void reset() {
    slots_.clear();
    index_.clear();
    for (Registration& r : registered_) r.slot = kNone;
    current_lr_ = std::numeric_limits<double>::quiet_NaN();
  }

  std::size_t num_states() const { return slots_.size(); }

 protected:
  // With descend::precompiled, picks its kernels' instruction set, once per
  // process (detail/isa.hpp): a bad DESCEND_ISA throws here, before anything
  // exists to update. Header-only code has nothing to pick.
  explicit Optimizer(const char* who) : who_(who), check_{who} {
#if defined(DESCEND_PRECOMPILED) || defined(DESCEND_DISPATCH)
    detail::select_isa(who);
#endif
  }
  Optimizer(Optimizer&&) = default;
  Optimizer& operator=(Optimizer&&) = default;

  // Called once on a new parameter's state buffers (n elements each,
  // buffer_names(group).size() buffers back to back), which start at zero; an
  // optimizer that starts elsewhere (AdaGrad's sum) overrides this.
  virtual void init_state(Scalar* /*buffers*/, Index /*n*/, std::size_t /*group*/) const {}

  // A group's lr, decay and maximize, read once per step() for every group.
  virtual GroupSettings settings(std::size_t group) const = 0;

  // Whether any parameter of the group has state (whose buffers its options
  // decided).
  DESCEND_COLD bool group_has_state(std::size_t group) const {
    for (const Slot& s : slots_) {
      if (s.group == group) return true;
    }
    return false;
  }

  // Room for `n` groups, made before a group is added: step() never allocates.
  DESCEND_COLD void make_room_for_groups(std::size_t n) {
    now_.resize(std::max(now_.size(), n));
    if (n > report_.lr.size()) {
      // Not resize(): its growth path is 0.5 KB in every file using an
      // optimizer. Grown exactly: groups are added one at a time and are few.
      std::vector<double> lr(n);
      std::copy(report_.lr.begin(), report_.lr.end(), lr.begin());
      report_.lr.swap(lr);
    }
  }

  // One parameter's part in an update.
  using Work = StepItem<Scalar>;

  // The update rule's kernel over one parameter, with the gradient scaled as
  // the transforms and `maximize` decided.
  template <class Kernel>
  static DESCEND_ALWAYS_INLINE void run(const Kernel& kernel, const Work& item) {
    detail::for_each_coefficient(kernel, item.param, item.grad, item.state, item.grad_scale);
  }

  // Applies the update rule to each of `count` parameters (update() passes
  // one, step() all registered ones). Returns the learning rate actually
  // applied to the last (for current_lr()). Must not throw.
  virtual double apply(const Work* work, std::size_t count) = 0;

  const char* who_;
  detail::Check check_;

  // Checkpoints (checkpoint.hpp) reach the groups' options as bytes: every
  // group's Options, trivially copyable, back to back. A load stages a copy
  // of them, reads the file into it, validates it, and copies it over them.
  // All typed work is in these small overrides, so that a file that never
  // includes checkpoint.hpp compiles little for checkpoints.
  struct OptionsBytes {
    void* data;        // group 0's options
    std::size_t size;  // sizeof(Options)
  };
  virtual OptionsBytes options_bytes() = 0;
  // visit_options() of the Options at `options` (a copy of a group's).
  virtual void visit_options_at(void* options, StateFields& fields) const = 0;
  // Throws std::invalid_argument unless the Options at `options` are valid
  // and give the buffers that group `group`'s give.
  virtual void check_options_at(const void* options, std::size_t group) const = 0;
  virtual detail::BufferNames buffer_names_at(const void* options) const = 0;
  // A group's buffer names; std::out_of_range if there is no such group.
  virtual detail::BufferNames group_buffers(std::size_t group) const = 0;

 private:
  template <class>
  friend struct detail::CheckpointAccess;

  static constexpr std::size_t kNone = detail::kNone;

  using Slot = detail::Slot;
  static Scalar* buffers(const Slot& s) { return s.buffers.as<Scalar>(); }

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
    std::size_t slot;  // its state in slots_, or kNone before its first step
    // Where parameter and gradient were at the last step (or at add()): when
    // neither moved, the memory checks made then still hold.
    const Scalar* param_data;
    const Scalar* grad_data;
    std::size_t group;
  };

  // The public entry points' compile-time checks, in the order a reader
  // would look for the mistake. Each failed check is one static_assert whose
  // message is descend's; the body is not instantiated then.
  template <class Param>
  static constexpr bool check_param() {
    using P = std::remove_reference_t<Param>;
    using D = std::remove_cv_t<P>;
    using T = detail::EigenTraits<D>;
    constexpr bool eigen = detail::is_eigen_dense<D>();
    static_assert(eigen,
                  "descend: the parameter must be an Eigen dense object "
                  "(Matrix, Array, Map, Ref, Block)");
    constexpr bool scalar = !eigen || std::is_same<typename T::Scalar, Scalar>::value;
    static_assert(scalar,
                  "descend: the parameter's Scalar type must be the optimizer's "
                  "(descend::Adam<float> updates float parameters)");
    constexpr bool memory = !eigen || T::has_memory;
    static_assert(memory,
                  "descend: the parameter is an expression without memory of its own "
                  "(such as w.array() * 2 or w.reverse()): update the object it is computed from");
    constexpr bool temporary = T::owns_memory && !std::is_lvalue_reference<Param>::value;
    static_assert(!temporary,
                  "descend: the parameter is a temporary Matrix or Array (returned by value?): "
                  "the update would be lost with it; pass the object that holds the weights");
    constexpr bool is_const = memory && std::is_const<P>::value;
    static_assert(!is_const,
                  "descend: the parameter is const: it is updated in place and must be writable");
    constexpr bool writable = !eigen || !memory || T::writable;
    static_assert(writable,
                  "descend: the parameter is read-only (a Map or Ref of const): "
                  "it is updated in place and must be writable");
    return eigen && scalar && !temporary && !is_const && memory && writable;
  }

  template <class Grad>
  static constexpr bool check_grad() {
    using D = std::remove_cv_t<std::remove_reference_t<Grad>>;
    constexpr bool eigen = detail::is_eigen_dense<D>();
    static_assert(eigen, "descend: the gradient must be an Eigen dense expression");
    constexpr bool scalar =
        !eigen || std::is_same<typename detail::EigenTraits<D>::Scalar, Scalar>::value;
    static_assert(scalar,
                  "descend: the gradient's Scalar type must be the optimizer's; "
                  "use grad.template cast<Scalar>()");
    return eigen && scalar;
  }

  // A registered gradient is read at every step() and written by zero_grad().
  template <class Grad>
  static constexpr bool check_registered_grad() {
    using G = std::remove_reference_t<Grad>;
    using D = std::remove_cv_t<G>;
    using T = detail::EigenTraits<D>;
    constexpr bool eigen = detail::is_eigen_dense<D>();
    static_assert(eigen, "descend: add(param, grad): the gradient must be an Eigen dense object");
    constexpr bool scalar = !eigen || std::is_same<typename T::Scalar, Scalar>::value;
    static_assert(scalar,
                  "descend: add(param, grad): the gradient's Scalar type must be the optimizer's");
    constexpr bool temporary = T::owns_memory && !std::is_lvalue_reference<Grad>::value;
    static_assert(!temporary,
                  "descend: add(param, grad): the gradient is a temporary Matrix or Array: "
                  "step() would read it after it is gone; register the object you write "
                  "gradients into");
    constexpr bool memory = !eigen || T::has_memory;
    static_assert(memory,
                  "descend: add(param, grad): the gradient is an expression without memory "
                  "(such as 2 * w): step() reads the registered gradient at every step; "
                  "register the object you write gradients into");
    constexpr bool writable = !eigen || !memory || (T::writable && !std::is_const<G>::value);
    static_assert(writable,
                  "descend: add(param, grad): the gradient is const, but zero_grad() writes it");
    return eigen && scalar && !temporary && memory && writable;
  }

  // The templates on the argument types only read the arguments' memory and
  // shape; all else happens in members on Scalar alone, compiled once per
  // Scalar (and once for all, in the precompiled mode).
  template <class Param, class Grad>
  void update_checked(Param& param, const Grad& grad) {
    check_same_shape(param.rows(), param.cols(), grad.rows(), grad.cols());
    if (param.size() == 0) return;
    if constexpr (detail::has_direct_access<Grad>()) {
      update_view(detail::view_of(param), detail::view_of(grad), owning_object(param), false);
    } else {
      // An expression gradient is evaluated first, into memory of our own.
      const Index n = grad.size();
      if (scratch_.size() < n) scratch_.resize(n);  // allocates only to grow
      Eigen::Map<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>> g(scratch_.data(),
                                                                          grad.rows(), grad.cols());
      g.noalias() = grad.matrix();
      update_view(detail::view_of(param), as_const(detail::view_of(g)), owning_object(param), true);
    }
  }

  // `object`: the parameter's Matrix or Array, or nullptr for a view.
  // `own_grad`: g is scratch_, which aliases nothing.
  DESCEND_ALWAYS_INLINE void update_view(const detail::View<Scalar>& p,
                                         const detail::View<const Scalar>& g, const void* object,
                                         bool own_grad) {
    update_fields(p.data, p.rows, p.cols, p.row_stride, p.col_stride, g.data, g.row_stride,
                  g.col_stride, object, own_grad);
  }
  // The views field by field, in registers and as 8-byte words on the stack:
  // views that the caller wrote field by field and that the callee read back
  // by pairs (as the compiler's vectorizer merges adjacent loads) stalled on
  // store forwarding, which cost more than the rest of the call.
  DESCEND_NOINLINE void update_fields(Scalar* p_data, Index rows, Index cols, Index p_row_stride,
                                      Index p_col_stride, const Scalar* g_data, Index g_row_stride,
                                      Index g_col_stride, const void* object, bool own_grad) {
    const detail::View<Scalar> p{p_data, rows, cols, p_row_stride, p_col_stride};
    const detail::View<const Scalar> g{g_data, rows, cols, g_row_stride, g_col_stride};
    if (!own_grad) check_grad_apart(p, g);
    if (!registered_.empty()) check_not_registered(object, p);
    Slot* slot = find(p.data);
    if (slot) {
      check_not_registered(*slot);
      check_layout(*slot, p);
      if (!own_grad) check_grad_not_state(*slot, g);
    } else {
      slot = &insert(make_slot(p, 0));
    }
    const GroupSettings group = settings(0);
    // Built in place and never copied whole: see Source::read.
    Work work;
    work.param = {p_data, rows, cols, p_row_stride, p_col_stride};  // from registers
    work.grad = {g_data, rows, cols, g_row_stride, g_col_stride};
    work.grad_scale = group.maximize ? Scalar(-1) : Scalar(1);
    work.state = buffers(*slot);
    work.step = ++slot->step;
    work.lr = decayed_lr(group, work.step);
    current_lr_ = apply(&work, 1);
  }

  template <class Param, class Grad>
  void add_checked(Param&& param, Grad&& grad, std::size_t group, const std::string& name) {
    check_same_shape(param.rows(), param.cols(), grad.rows(), grad.cols());
    add_sources(source_of(std::forward<Param>(param)), source_of(std::forward<Grad>(grad)),
                owning_object(param), group, name);
  }

  DESCEND_COLD void add_sources(const Source& param, const Source& grad, const void* object,
                                std::size_t group, const std::string& name) {
    checked(group);
    if (!name.empty()) {
      const std::size_t same = names_.find(name);
      if (same < names_.size())
        detail::fail<std::invalid_argument>(who_, ": registered parameter #", same,
                                            " is already named '", name, "'");
    }
    const detail::View<Scalar> p = param.get();
    const detail::View<Scalar> g = grad.get();
    const std::size_t id = registered_.size();
    if (const std::size_t* other = object ? objects_.find(object) : nullptr)
      detail::fail<std::invalid_argument>(who_, ": this parameter is already registered (#", *other,
                                          ")");
    check_grad_apart_cold(p, as_const(g));
    check_apart(as_const(p), "parameter", id);
    check_apart(as_const(g), "gradient", id);
    // Room for one more, grown geometrically, before anything changes; step()
    // never allocates.
    reserve_one_more(registered_);
    // step()'s, sized by the registrations (their own sizes change only in
    // step(), so a test of those would stop reserving after the first add()).
    work_.reserve(registered_.capacity());
    scales_.reserve(registered_.capacity());
    names_.reserve_for(name, registered_.capacity());
    registered_.push_back(Registration{param, grad, kNone, p.data, g.data, group});
    // Out of memory in any of these takes back what came before.
    int done = 0;
    try {
      if (object != nullptr) objects_.insert(object, id);
      ++done;
      views_.insert(detail::cells_of(p), id);
      ++done;
      views_.insert(detail::cells_of(g), id);
    } catch (...) {
      if (done == 2) views_.erase(detail::cells_of(p));
      if (done >= 1 && object != nullptr) objects_.erase(object);
      registered_.pop_back();
      throw;
    }
    names_.push_back(name);  // within capacity: cannot throw
    // State that update() made at this memory becomes the registration's
    // own, so that update() of it is refused from now on.
    const std::size_t* there = p.size() == 0 ? nullptr : index_.find(p.data);
    if (there && adoptable(*there, group)) {
      slots_[*there].owner = id;
      registered_[id].slot = *there;
    }
  }

  template <class Vector>
  static void reserve_one_more(Vector& v) {
    if (v.size() == v.capacity()) v.reserve(std::max<std::size_t>(16, 2 * v.capacity()));
  }

  // The address of the registered Matrix or Array x, or nullptr for a view.
  template <class X>
  static const void* owning_object(const X& x) {
    using D = std::remove_cv_t<std::remove_reference_t<X>>;
    if constexpr (detail::EigenTraits<D>::owns_memory) return &x;
    return nullptr;
  }

  std::size_t registration_of(const void* object) const {
    const std::size_t* reg = object ? objects_.find(object) : nullptr;
    return reg ? *reg : kNone;
  }

  template <class X>
  static Source source_of(X&& x) {
    using D = std::remove_cv_t<std::remove_reference_t<X>>;
    Source s;
    if constexpr (std::is_lvalue_reference<X>::value && detail::EigenTraits<D>::owns_memory) {
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

  void check_same_shape(Index p_rows, Index p_cols, Index g_rows, Index g_cols,
                        std::size_t registration = kNone) const {
    if (p_rows != g_rows || p_cols != g_cols)
      detail::fail_shape(who_, registration, p_rows, p_cols, g_rows, g_cols);
  }

  // step()'s, on a work item that read_object() has just written field by
  // field. The message reads the item itself: kept for it in the loop, the
  // shape was copied with one 16-byte load of two 8-byte fields still in the
  // store buffer, which stalled on store forwarding for half of step()'s
  // first pass over 1000 parameters of 64 floats.
  void check_same_shape(const Work& w, std::size_t registration) const {
    if (w.param.rows != w.grad.rows || w.param.cols != w.grad.cols)
      fail_same_shape(w, registration);
  }
  [[noreturn]] DESCEND_COLD void fail_same_shape(const Work& w, std::size_t registration) const {
    detail::fail_shape(who_, registration, w.param.rows, w.param.cols, w.grad.rows, w.grad.cols);
  }

  // The checks every update() makes, inlined, with their messages out of line
  // (and reading the views there, for the same reason).
  void check_layout(const Slot& s, const detail::View<Scalar>& p,
                    std::size_t registration = kNone) const {
    const detail::Layout& q = s.layout;
    if (q.rows == p.rows && q.cols == p.cols && q.row_stride == p.row_stride &&
        q.col_stride == p.col_stride)
      return;
    fail_layout(s, p, registration);
  }
  [[noreturn]] DESCEND_COLD void fail_layout(const Slot& s, const detail::View<Scalar>& p,
                                             std::size_t registration) const {
    detail::fail_layout(who_, registration, p.data, detail::layout_of(p), s.layout);
  }

  // A gradient that shares memory with its parameter would be read after
  // some of it was updated.
  DESCEND_ALWAYS_INLINE void check_grad_apart(const detail::View<Scalar>& p,
                                              const detail::View<const Scalar>& g,
                                              std::size_t registration = kNone) const {
    if (detail::share_coefficients(p, g)) fail_grad_apart(p.data, g.data, registration);
  }
  // The same, out of line, for add() and step()'s slow path.
  DESCEND_COLD void check_grad_apart_cold(const detail::View<Scalar>& p,
                                          const detail::View<const Scalar>& g,
                                          std::size_t registration = kNone) const {
    check_grad_apart(p, g, registration);
  }
  [[noreturn]] DESCEND_COLD void fail_grad_apart(const void* p, const void* g,
                                                 std::size_t registration) const {
    detail::fail<std::invalid_argument>(who_, ": ", detail::where(registration), "the gradient at ",
                                        g, " shares memory with its parameter at ", p,
                                        "; pass a gradient of its own");
  }

  DESCEND_ALWAYS_INLINE void check_grad_not_state(const Slot& s,
                                                  const detail::View<const Scalar>& g) const {
    const detail::View<const Scalar> state{
        buffers(s), static_cast<Index>(s.buffers.bytes() / sizeof(Scalar)), 1, 1, 0};
    if (detail::share_coefficients(state, g)) fail_grad_is_state(g.data);
  }
  [[noreturn]] DESCEND_COLD void fail_grad_is_state(const void* g) const {
    detail::fail<std::invalid_argument>(
        who_, ": the gradient at ", g,
        " is the parameter's own optimizer state (from state()); copy it first");
  }

  void check_not_registered(const Slot& s) const {
    if (s.owner == kNone) return;
    // The registration may have moved since its last step(), which re-keys
    // its state: until then its old memory cannot get state of its own.
    if (registered_[s.owner].param.get().data != s.key)
      detail::fail<std::invalid_argument>(
          who_, ": parameter at ", s.key, " was registered parameter #", s.owner,
          "'s memory at the last step(), and its state moves with it at the next step(): "
          "call step() before update() of this memory");
    detail::fail<std::invalid_argument>(
        who_, ": parameter at ", s.key, " is registered (#", s.owner,
        "): step() updates it, and update() as well would count its step twice");
  }

  // update() of a registered object (wherever its memory went), or of memory
  // shared with a registration (as of the last step() or add()), is refused.
  // Not a cost for optimizers driven by update() alone: nothing is registered.
  void check_not_registered(const void* object, const detail::View<Scalar>& p) const {
    const std::size_t by_object = registration_of(object);
    const std::size_t reg = by_object != kNone ? by_object : registered_memory_at(as_const(p));
    if (reg != kNone)
      detail::fail<std::invalid_argument>(
          who_, ": parameter at ", static_cast<const void*>(p.data),
          by_object != kNone ? " is registered (#" : " shares memory with registered parameter (#",
          reg, "): step() updates it, and update() as well would count its step twice");
  }

  // Throws if v shares a coefficient with a registered parameter or gradient.
  DESCEND_COLD void check_apart(const detail::View<const Scalar>& v, const char* what,
                                std::size_t id) {
    std::size_t other = views_.overlapping(detail::cells_of(v));
    if (other == kNone) return;
    if (!meets_now(other, v)) {
      // v meets where descend last saw #other, which has moved since: catch
      // up with the moves, so that v can take that memory.
      refresh_views();
      other = views_.overlapping(detail::cells_of(v));
      if (other == kNone) return;
    }
    detail::fail<std::invalid_argument>(
        who_, ": ", detail::where(id), "its ", what, " at ", static_cast<const void*>(v.data),
        " shares memory with registered parameter #", other,
        " (its parameter or gradient); registered memory may not overlap");
  }

  // The registration whose parameter or gradient shares a coefficient with v,
  // or kNone. views_ holds registered memory where add() or step() last saw
  // it; when v meets one there that is no longer there, the registrations
  // are looked at where they are now (rare, linear). Memory that a registered
  // Matrix moved onto since the last step() is not seen here: step() checks it.
  std::size_t registered_memory_at(const detail::View<const Scalar>& v) const {
    const std::size_t hit = views_.overlapping(detail::cells_of(v));
    if (hit == kNone || meets_now(hit, v)) return hit;
    for (std::size_t i = 0; i < registered_.size(); ++i) {
      if (meets_now(i, v)) return i;
    }
    return kNone;
  }

  // Whether registration i's parameter or gradient, where it is now, shares a
  // coefficient with v. Called only after views_ found v meeting a
  // registration: on the way to an error, or after moves.
  DESCEND_COLD bool meets_now(std::size_t i, const detail::View<const Scalar>& v) const {
    const detail::Cells c = detail::cells_of(v);
    return detail::share_coefficients_outlined(c, detail::cells_of(registered_[i].param.get())) ||
           detail::share_coefficients_outlined(c, detail::cells_of(registered_[i].grad.get()));
  }

  // add() then checked against memory where it was at the refresh, not at the
  // last step(): registered objects that moved back since may overlap the
  // pairs added, which the next step() checks.
  DESCEND_COLD void refresh_views() {
    views_ = views_now();
    recheck_ = true;
  }

  // Registered memory where it is now; throws if moves made two overlap.
  DESCEND_COLD detail::ViewSet views_now() const {
    detail::ViewSet now;
    for (std::size_t i = 0; i < registered_.size(); ++i) {
      const detail::View<Scalar> p = registered_[i].param.get(), g = registered_[i].grad.get();
      for (const detail::Cells& v : {detail::cells_of(p), detail::cells_of(g)}) {
        const std::size_t other = now.overlapping(v);
        if (other != kNone)
          detail::fail<std::invalid_argument>(
              who_, ": registered parameter #", i, " now shares memory with registered parameter #",
              other, " (a registered Matrix was moved, swapped or assigned another's buffer)");
        now.insert(v, i);
      }
    }
    return now;
  }

  template <class X>
  static detail::View<const Scalar> as_const_view(const X& x) {
    const auto v = detail::view_of(x);
    return {v.data, v.rows, v.cols, v.row_stride, v.col_stride};
  }

  // The registration whose parameter is exactly v: a registered view first
  // (after a move, a registered Matrix may be there too), then a Matrix.
  std::size_t registration_viewing(const detail::View<const Scalar>& v) const {
    for (const bool objects : {false, true}) {
      for (std::size_t i = 0; i < registered_.size(); ++i) {
        const Source& source = registered_[i].param;
        if ((source.object != nullptr) != objects) continue;
        const detail::View<Scalar> p = source.get();
        if (p.data == v.data && p.rows == v.rows && p.cols == v.cols &&
            p.row_stride == v.row_stride && p.col_stride == v.col_stride)
          return i;
      }
    }
    return kNone;
  }

  DESCEND_COLD void unregister(std::size_t reg) noexcept {
    if (registered_[reg].slot != kNone) erase_slot(registered_[reg].slot);
    const void* object = registered_[reg].param.object;  // nullptr for a view
    if (object) objects_.erase(object);
    objects_.for_each([reg](const void*, std::size_t& r) { r -= r > reg ? 1 : 0; });
    for (Slot& s : slots_) {
      if (s.owner != kNone && s.owner > reg) s.owner -= 1;
    }
    views_.remove_id(reg);
    registered_.erase(registered_.begin() + static_cast<std::ptrdiff_t>(reg));
    names_.erase(reg);
    if (work_.size() > registered_.size()) work_.pop_back();
  }

  // step()'s slow path, after a first pass found every pair well-formed and
  // counted no step: moved memory is checked for overlap and the state
  // follows it; missing state is created (or adopted from update()s).
  // plan_settle() does all that can throw (checks, allocation) and changes
  // nothing; settle() then cannot throw. The transforms run in between.
  struct Settlement {
    bool moved = false;
    detail::ViewSet now;                    // registered memory where it is now
    std::vector<Slot> fresh;                // state for pairs that have none
    detail::PodVector<std::size_t> moving;  // room for the registrations whose state is re-keyed
  };

  DESCEND_COLD void plan_settle(Settlement& plan) {
    bool& moved = plan.moved;
    std::size_t rekeyed = 0, fresh_count = 0;
    for (std::size_t i = 0; i < registered_.size(); ++i) {
      const Registration& r = registered_[i];
      const detail::View<Scalar>& p = work_[i].param;
      moved = moved || p.data != r.param_data || work_[i].grad.data != r.grad_data;
      if (r.slot != kNone) {
        rekeyed += slots_[r.slot].key != p.data ? 1 : 0;
      } else if (p.size() != 0 && !adoptable(p.data, r.group)) {
        ++fresh_count;
      }
    }
    if (moved || recheck_) {  // registered objects that moved may now overlap
      for (std::size_t i = 0; i < registered_.size(); ++i)
        check_grad_apart_cold(work_[i].param, work_[i].grad, i);
      plan.now = views_now();
    }
    plan.fresh.reserve(fresh_count);
    for (std::size_t i = 0; i < registered_.size(); ++i) {
      const detail::View<Scalar>& p = work_[i].param;
      if (registered_[i].slot == kNone && p.size() != 0 &&
          !adoptable(p.data, registered_[i].group)) {
        plan.fresh.push_back(make_slot(p, registered_[i].group));
      }
    }
    plan.moving.resize(rekeyed);
    slots_.reserve(slots_.size() + fresh_count);
    index_.reserve(index_.size() + fresh_count);
  }

  // Allocates nothing and cannot throw. Moved state: every old key goes first,
  // so that two registrations that swapped memory each keep their own.
  DESCEND_COLD void settle(Settlement& plan) noexcept {
    std::vector<Slot>& fresh = plan.fresh;
    detail::PodVector<std::size_t>& moving = plan.moving;  // as many as plan_settle() counted
    std::size_t count = 0;
    for (std::size_t i = 0; i < registered_.size(); ++i) {
      const Registration& r = registered_[i];
      if (r.slot != kNone && slots_[r.slot].key != work_[i].param.data) {
        moving[count++] = i;
        index_.erase(slots_[r.slot].key);
      }
    }
    // Inserts below stay within the room plan_settle() reserved (count is
    // what it counted): nothing allocates.
    for (std::size_t k = 0; k < count; ++k) {
      const std::size_t i = moving[k];
      const Scalar* to = work_[i].param.data;
      // State that update() left where the parameter moved belonged to that
      // memory, not to this parameter: dropped.
      if (const std::size_t* there = index_.find(to)) erase_slot(*there);  // may renumber slots
      Slot& s = slots_[registered_[i].slot];
      s.key = to;
      index_.insert(to, registered_[i].slot);
    }
    std::size_t next_fresh = 0;
    for (std::size_t i = 0; i < registered_.size(); ++i) {
      Registration& r = registered_[i];
      const detail::View<Scalar>& p = work_[i].param;
      r.param_data = p.data;
      r.grad_data = work_[i].grad.data;
      if (r.slot != kNone || p.size() == 0) continue;
      const std::size_t* there = index_.find(p.data);
      if (there && !adoptable(*there, r.group)) {
        erase_slot(*there);  // update()'s state, made for group 0's buffers
        there = nullptr;
      }
      if (there) {  // update()'s state, adopted on a first step
        r.slot = *there;
      } else {
        slots_.push_back(std::move(fresh[next_fresh++]));
        r.slot = slots_.size() - 1;
        index_.insert(p.data, r.slot);
      }
      slots_[r.slot].owner = i;
    }
    next_ = slots_.size();
    if (plan.moved || recheck_) views_ = std::move(plan.now);
    recheck_ = false;
  }

  // State that update() made at this memory, which a registration in the same
  // group takes over on its first step.
  bool adoptable(const void* key, std::size_t group) const {
    const std::size_t* there = index_.find(key);
    return there && adoptable(*there, group);
  }
  bool adoptable(std::size_t slot, std::size_t group) const {
    return slots_[slot].owner == kNone && slots_[slot].group == group;
  }

  // Parameters are usually updated in the same order every step, so the slot
  // after the last one found (after the last slot, the first) is tried
  // before the hash table: a loop over the same parameters in the order of
  // their slots, or one parameter updated again and again, never hashes.
  Slot* find(const void* key) {
    if (next_ >= slots_.size()) next_ = 0;
    if (!slots_.empty() && slots_[next_].key == key) return &slots_[next_++];
    const std::size_t* slot = index_.find(key);
    if (!slot) return nullptr;
    next_ = *slot + 1;
    return &slots_[*slot];
  }
  const Slot* find(const void* key) const {
    const std::size_t* slot = index_.find(key);
    return slot ? &slots_[*slot] : nullptr;
  }

  template <class Derived>
  const Slot* lookup(const Derived& param) const {
    static_assert(detail::has_direct_access<Derived>(), "descend: parameters must expose memory");
    return lookup_at(owning_object(param), as_const_view(param));
  }

  DESCEND_COLD const Slot* lookup_at(const void* object,
                                     const detail::View<const Scalar>& v) const {
    const std::size_t reg = registration_of(object);
    if (reg != kNone)
      return registered_[reg].slot == kNone ? nullptr : &slots_[registered_[reg].slot];
    const Slot* s = find(v.data);
    if (s) {
      check_layout(*s, detail::View<Scalar>{const_cast<Scalar*>(v.data), v.rows, v.cols,
                                            v.row_stride, v.col_stride});
    }
    return s;
  }

  DESCEND_COLD StateMap state_of(const Slot* s, const std::string& name) const {
    if (!s) detail::fail<std::invalid_argument>(who_, ": parameter has no state yet");
    const detail::BufferNames names = group_buffers(s->group);
    const std::size_t b = names.find(name);
    if (b < names.size()) return StateMap(buffers(*s) + b * s->size, s->size);
    detail::fail<std::invalid_argument>(who_, ": no state buffer named '", name, "'");
  }

  DESCEND_COLD bool forget_at(const void* object, const void* data) {
    const std::size_t reg = registration_of(object);
    if (reg != kNone) {
      if (registered_[reg].slot == kNone) return false;
      erase_slot(registered_[reg].slot);
      return true;
    }
    const std::size_t* slot = index_.find(data);
    if (!slot) return false;
    erase_slot(*slot);
    return true;
  }

  DESCEND_COLD bool remove_at(const void* object, const detail::View<const Scalar>& v) {
    std::size_t reg = registration_of(object);
    if (reg == kNone) reg = registration_viewing(v);
    if (reg == kNone) return false;
    unregister(reg);
    return true;
  }

  DESCEND_COLD Slot make_slot(const detail::View<Scalar>& p, std::size_t group) const {
    Slot s;
    s.key = p.data;
    s.layout = detail::layout_of(p);
    s.size = p.size();
    s.group = group;
    s.buffers = detail::StateBuffer(
        detail::checked_bytes(static_cast<std::size_t>(s.size), group_buffers(group).size()),
        sizeof(Scalar));
    init_state(buffers(s), s.size, group);
    return s;
  }

  Slot& insert(Slot&& s) {
    slots_.push_back(std::move(s));
    try {
      index_.insert(slots_.back().key, slots_.size() - 1);
    } catch (...) {
      slots_.pop_back();
      throw;
    }
    next_ = slots_.size();
    return slots_.back();
  }

  std::size_t index_of(const Slot& s) const { return static_cast<std::size_t>(&s - slots_.data()); }

  // Takes back the step counted for each of the first n registrations that had state.
  void uncount_steps(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      if (registered_[i].slot != kNone) slots_[registered_[i].slot].step -= 1;
    }
  }

  // Removes slot i by moving the last slot into its place.
  void erase_slot(std::size_t i) {
    const std::size_t last = slots_.size() - 1;
    const std::size_t* key = index_.find(slots_[i].key);
    if (key && *key == i) index_.erase(slots_[i].key);
    if (slots_[i].owner != kNone) registered_[slots_[i].owner].slot = kNone;
    if (i != last) {
      slots_[i] = std::move(slots_[last]);
      std::size_t* moved = index_.find(slots_[i].key);
      if (moved && *moved == last) *moved = i;
      if (slots_[i].owner != kNone) registered_[slots_[i].owner].slot = i;
    }
    slots_.pop_back();
  }

  static detail::View<const Scalar> as_const(const detail::View<Scalar>& v) {
    return {v.data, v.rows, v.cols, v.row_stride, v.col_stride};
  }

  static double decayed_lr(const GroupSettings& group, std::int64_t step) {  // inverse-time decay
    return group.decay == 0 ? group.lr
                            : group.lr / (1.0 + group.decay * static_cast<double>(step - 1));
  }

  void begin_report() {
    for (std::size_t g = 0; g < num_groups(); ++g) {
      now_[g] = settings(g);
      report_.lr[g] = now_[g].lr;
    }
    report_.applied = report_.skipped = report_.clipped = false;
    report_.grad_norm = std::numeric_limits<double>::quiet_NaN();
    report_.grad_norm_group = kAllGroups;
    report_.updated = 0;
  }

  const StepReport& end_report(std::size_t updated) {
    report_.updated = updated;
    report_.applied = updated > 0;
    for (const auto& t : transforms_) t->after_step(report_);
    return report_;
  }

  // The transforms over every registered pair; false if one skipped the step.
  // They see the pairs and write the gradients' scales only.
  bool run_transforms() {
    if (transforms_.empty()) return true;
    return run_transforms_now();
  }
  DESCEND_NOINLINE bool run_transforms_now() {
    struct Running {  // no add_transform() from inside one
      bool& flag;
      explicit Running(bool& f) : flag(f) { flag = true; }
      ~Running() { flag = false; }
    } running(in_transforms_);
    const std::size_t n = registered_.size();
    for (std::size_t i = 0; i < n; ++i) scales_[i] = work_[i].grad_scale;
    for (const auto& t : transforms_) {
      if (!t->before_update(work_.data(), scales_.data(), n, report_)) {
        report_.skipped = true;
        return false;
      }
    }
    for (std::size_t i = 0; i < n; ++i) work_[i].grad_scale = scales_[i];
    return true;
  }

  DESCEND_COLD void check_not_in_transforms(const char* what) const {
    if (in_transforms_)
      detail::fail<std::logic_error>(who_, ": ", what, "() from inside a gradient transform");
  }

  DESCEND_COLD std::size_t group_at(const void* object, const detail::View<const Scalar>& v) const {
    std::size_t reg = registration_of(object);
    if (reg == kNone) reg = registration_viewing(v);
    if (reg == kNone)
      detail::fail<std::invalid_argument>(who_, ": group_of(): the parameter at ",
                                          static_cast<const void*>(v.data), " is not registered");
    return registered_[reg].group;
  }

  double current_lr_ = std::numeric_limits<double>::quiet_NaN();
  detail::PodVector<GroupSettings> now_;  // each group's settings at this step()
  StepReport report_;
  std::vector<std::unique_ptr<GradientTransform<Scalar>>> transforms_;
  detail::PodVector<Scalar> scales_;  // the transforms' gradient scales, one per registration
  bool in_transforms_ = false;
  std::vector<Slot> slots_;
  detail::AddressMap index_;  // memory -> slot
  std::size_t next_ = 0;      // the slot find() tries first
  detail::PodVector<Registration> registered_;
  detail::NameList names_;        // registered_[i]'s name, "" if none
  detail::AddressMap objects_;    // registered Matrix/Array -> #
  detail::ViewSet views_;         // every registered parameter and gradient
  bool recheck_ = false;          // views_ are not where step() last saw them (refresh_views)
  detail::PodVector<Work> work_;  // step()'s, kept to reuse its memory
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> scratch_;  // update()'s expression gradients
};

template <class Scalar>
DESCEND_COLD Optimizer<Scalar>::~Optimizer() = default;

#ifdef DESCEND_PRECOMPILED
extern template class Optimizer<float>;
extern template class Optimizer<double>;
#endif

}  // namespace descend
