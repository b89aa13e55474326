// L-BFGS, as torch.optim.LBFGS (PyTorch 1.13), driven by a closure.
//
// All registered parameters form one flat vector x of n coefficients: each
// parameter's coefficients in its memory order (row by row for a row-major
// matrix, as torch's p.view(-1); column by column for Eigen's default), the
// parameters in registration order; g is the gradient in the same order.
// step(closure) calls closure(), which returns the loss f(x) and writes the
// registered gradients, and then, up to max_iter times (k counts iterations
// over the optimizer's life, as torch's state["n_iter"]):
//
//   k = 1:  d = -g,  H = 1,  history empty
//   k > 1:  y = g - g_prev,  s = t_prev * d_prev,  ys = y.s
//           if ys > 1e-10: push (y, s, rho = 1/ys), dropping the oldest pair
//                          beyond history_size;  H = ys / y.y
//           q = -g;  for i newest..oldest: a_i = rho_i * s_i.q;  q = q - a_i y_i
//           d = H q; for i oldest..newest: b_i = rho_i * y_i.d;  d = d + (a_i - b_i) s_i
//   t = min(1, 1 / sum|g|) * lr  (k = 1),  t = lr  (k > 1)
//   stop if g.d > -tolerance_change
//   line_search none:          x = x + t d, then f, g = closure() unless this
//                              is the step's last iteration
//   line_search strong_wolfe:  t, f, g from a strong-Wolfe search from t along
//                              d (c1 = 1e-4, c2 = 0.9, at most 25 iterations,
//                              cubic interpolation; its bracket tolerance is
//                              1e-9 whatever tolerance_change is, as torch's);
//                              x = x + t d
//   stop after max_iter iterations, when the evaluations of this step reach
//   max_eval, when max|g| <= tolerance_grad, when max|t d| <= tolerance_change
//   or when |f - f_prev| < tolerance_change.
// step() also returns at once, before any iteration, when the first
// evaluation's max|g| <= tolerance_grad. A stop on g.d leaves d and t as they
// were computed, and the next step's s uses them, as torch's.
//
// Defaults (PyTorch): lr 1, max_iter 20, max_eval max_iter * 5 / 4 (integer
// division, as Python's max_iter * 5 // 4), tolerance_grad 1e-7,
// tolerance_change 1e-9, history_size 100, no line search, maximize false.
//
// maximize (torch 1.13's LBFGS has none; this follows the other optimizers'
// maximize): the iteration above runs with f and g replaced by -f and -g,
// f being what the closure returns and g what it writes. Negation is exact,
// so maximizing f is, bit for bit, minimizing with a closure that returns -f
// and writes -g. The registered gradients stay as the closure wrote them (g
// is negated as it is copied into the flat vector); step() returns the
// closure's own first value f, not -f, as PyTorch's optimizers with maximize
// return the closure's loss; flat_grad() holds -g.
//
// Learning rate. An Lbfgs is a ParamGroups of exactly one group (torch's
// LBFGS refuses more), so every schedule drives it: its lr is validated as
// the constructor validates options.lr, and is read when step() begins (a
// change from inside the closure applies from the next step(), as torch reads
// group['lr'] once per step). Step the schedule after step(closure), as
// PyTorch's scheduler.step() after optimizer.step(closure); one schedule step
// per step(), however many iterations it ran. L-BFGS has no momentum:
// momentum_name() is nullptr, so CyclicLR and OneCycleLR refuse
// cycle_momentum = true.
//
// Numbers. Vectors and the two-loop coefficients (rho, a_i, b_i, H, g.d) are
// in Scalar, as torch keeps them in the parameters' dtype; the loss is a
// double (torch's float(closure())), and so are the step t and the line
// search's interpolation. x + t d, q - a_k y_k and d + (a_k - b_k) s_k are
// fused multiply-adds (std::fma), as torch's add_(alpha=) computes them; dot
// products are summed in order, unfused, as the BLAS ddot torch calls. In
// double the trajectory is torch's to rounding
// (tests/test_lbfgs.cpp: every closure evaluation, 1e-12 relative). In float
// torch does some of the line search's scalar arithmetic in float32 where
// descend does it in double: the path is a float path, not torch's bit for bit.
//
// State (allocated on the first step(), never after; reset() drops it):
// d, t, the previous gradient and loss, a ring of history_size (y, s, rho)
// pairs ((2 history_size + 4) n coefficients; 5 n more with the line search),
// H, n_iter and func_evals (torch's state, readable below).
//
// Not here, unlike the element-wise optimizers: more than one parameter group
// (torch's LBFGS refuses them too), decay, gradient transforms and update();
// checkpoints of L-BFGS's state are left for later. Schedules and maximize
// work as for the others.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "descend/optim/detail/overlap.hpp"
#include "descend/optim/detail/view.hpp"
#include "descend/optim/errors.hpp"
#include "descend/optim/param_groups.hpp"

namespace descend {

enum class LineSearch { none, strong_wolfe };

struct LbfgsOptions {
  double lr = 1;
  int max_iter = 20;
  std::optional<int> max_eval;  // unset: max_iter * 5 / 4
  double tolerance_grad = 1e-7;
  double tolerance_change = 1e-9;
  int history_size = 100;
  LineSearch line_search = LineSearch::none;
  bool maximize = false;  // minimize -f (see above)
};

namespace detail {

// What Lbfgs::add() accepts, checked at compile time as Optimizer::add()
// checks it, with the same messages.
template <class Scalar, class Arg, bool is_param>
constexpr bool lbfgs_accepts() {
  using A = std::remove_reference_t<Arg>;
  using D = std::remove_cv_t<A>;
  constexpr bool eigen = is_eigen_dense<D>();
  static_assert(!is_param || eigen,
                "descend: the parameter must be an Eigen dense object "
                "(Matrix, Array, Map, Ref, Block)");
  static_assert(is_param || eigen,
                "descend: add(param, grad): the gradient must be an Eigen dense object");
  if constexpr (!eigen) {
    return false;
  } else {
    constexpr bool scalar = std::is_same<typename D::Scalar, Scalar>::value;
    static_assert(!is_param || scalar,
                  "descend: the parameter's Scalar type must be the optimizer's "
                  "(descend::Lbfgs<float> updates float parameters)");
    static_assert(is_param || scalar,
                  "descend: add(param, grad): the gradient's Scalar type must be the optimizer's");
    constexpr bool memory = (D::Flags & Eigen::DirectAccessBit) != 0;
    static_assert(!is_param || memory,
                  "descend: the parameter is an expression without memory of its own "
                  "(such as w.array() * 2 or w.reverse()): update the object it is computed from");
    static_assert(is_param || memory,
                  "descend: add(param, grad): the gradient is an expression without memory "
                  "(such as 2 * w): step() reads the registered gradient at every step; "
                  "register the object you write gradients into");
    constexpr bool owns = std::is_base_of<Eigen::PlainObjectBase<D>, D>::value;
    constexpr bool temporary = owns && !std::is_lvalue_reference<Arg>::value;
    static_assert(!is_param || !temporary,
                  "descend: the parameter is a temporary Matrix or Array (returned by value?): "
                  "the update would be lost with it; pass the object that holds the weights");
    static_assert(is_param || !temporary,
                  "descend: add(param, grad): the gradient is a temporary Matrix or Array: "
                  "step() would read it after it is gone; register the object you write "
                  "gradients into");
    constexpr bool writable = (D::Flags & Eigen::LvalueBit) != 0 && !std::is_const<A>::value;
    static_assert(!is_param || !memory || writable,
                  "descend: the parameter is const or read-only (a Map or Ref of const): "
                  "it is updated in place and must be writable");
    static_assert(is_param || !memory || writable,
                  "descend: add(param, grad): the gradient is const, but zero_grad() writes it");
    return scalar && memory && !temporary && writable;
  }
}

}  // namespace detail

template <class Scalar>
class Lbfgs : public ParamGroups {
  static_assert(std::is_floating_point<Scalar>::value,
                "descend optimizers work on float, double or long double");

 public:
  using Index = Eigen::Index;

  explicit Lbfgs(const LbfgsOptions& options = {}) : options_(options) {
    check_.template representable<Scalar>("lr", options.lr);
    check_.at_least("max_iter", options.max_iter, 1);
    if (options.max_eval) check_.at_least("max_eval", *options.max_eval, 1);
    check_.finite_non_negative("tolerance_grad", options.tolerance_grad);
    check_.finite_non_negative("tolerance_change", options.tolerance_change);
    check_.at_least("history_size", options.history_size, 1);
    check_.that(
        options.line_search == LineSearch::none || options.line_search == LineSearch::strong_wolfe,
        "line_search must be LineSearch::none or LineSearch::strong_wolfe");
    max_eval_ = options.max_eval ? *options.max_eval : std::int64_t{options.max_iter} * 5 / 4;
  }
  // It refers to the registered objects: a copy would update them twice.
  Lbfgs(const Lbfgs&) = delete;
  Lbfgs& operator=(const Lbfgs&) = delete;
  Lbfgs(Lbfgs&&) = default;
  Lbfgs& operator=(Lbfgs&&) = default;

  // Registers a (parameter, gradient) pair, as Optimizer::add(): any writable
  // Eigen object with memory; a Matrix or Array is followed as an object (its
  // memory and shape are read again at every evaluation, so a closure may
  // assign a new gradient Matrix of the same shape), a Map, Ref or Block is
  // the memory it views now. No two registered parameters or gradients may
  // share a coefficient (std::invalid_argument naming both). Registering
  // after the first step() changes n: a ShapeError at the next step() says to
  // reset() first.
  template <class Param, class Grad>
  void add(Param&& param, Grad&& grad) {
    constexpr bool ok = detail::lbfgs_accepts<Scalar, Param, true>() &&
                        detail::lbfgs_accepts<Scalar, Grad, false>();
    if constexpr (ok) {
      Registration r{source_of(param), source_of(grad)};
      add_registration(r);
    }
  }

  // Runs one torch LBFGS.step(closure) (see above): closure() takes no
  // argument, writes every registered gradient and returns the loss (any
  // arithmetic type). Returns the loss of the first evaluation, as a double
  // (the value the closure returned, unrounded; under maximize too). A throw
  // from the closure leaves the parameters where it was evaluated and the
  // state mid-step, as torch does: reset() before stepping again.
  template <class Closure>
  double step(Closure&& closure) {
    using C = std::remove_reference_t<Closure>;
    constexpr bool callable = std::is_invocable<C&>::value;
    static_assert(callable,
                  "descend::Lbfgs::step(closure): the closure takes no argument; it writes the "
                  "registered gradients and returns the loss");
    if constexpr (callable) {
      using R = std::decay_t<std::invoke_result_t<C&>>;
      static_assert(std::is_arithmetic<R>::value,
                    "descend::Lbfgs::step(closure): the closure must return the loss as a "
                    "number (float or double)");
      if constexpr (std::is_arithmetic<R>::value) {
        const ClosureRef ref{const_cast<void*>(static_cast<const void*>(std::addressof(closure))),
                             [](void* c) { return static_cast<double>((*static_cast<C*>(c))()); }};
        return run(ref);
      }
    }
    return 0;
  }

  // Sets every registered gradient to zero.
  void zero_grad() {
    for (const Registration& r : registered_)
      detail::for_each_element(read(r.grad), [](Scalar& x, Index, Index) { x = 0; });
  }

  // Drops the state (history, d, t, counts); the registrations stay.
  void reset() {
    n_ = 0;
    buffers_ = Vector();
    n_iter_ = func_evals_ = 0;
    count_ = head_ = 0;
  }

  // The options; lr is the current one (a schedule's, or set_lr()'s).
  const LbfgsOptions& options() const { return options_; }
  // The evaluation budget of one step(), max_eval or its default.
  std::int64_t max_eval() const { return max_eval_; }
  std::size_t num_registered() const { return registered_.size(); }
  // torch's state["n_iter"] and state["func_evals"], over all steps.
  std::int64_t n_iter() const { return n_iter_; }
  std::int64_t func_evals() const { return func_evals_; }
  // How many (y, s) pairs the history holds (at most history_size).
  std::size_t history_length() const { return static_cast<std::size_t>(count_); }
  // The flat gradient of the last evaluation step() kept (empty before one);
  // under maximize, the gradient of -f.
  Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>> flat_grad() const {
    return {n_ ? g_ : nullptr, n_};
  }

  std::size_t num_groups() const override { return 1; }
  // No momentum for a cyclic schedule to cycle.
  const char* momentum_name() const override { return nullptr; }

 protected:
  double group_lr(std::size_t /*group*/) const override { return options_.lr; }
  void set_group_lr(std::size_t group, double lr) override {
    check_lr(group, lr);
    options_.lr = lr;
  }
  void check_lr(std::size_t /*group*/, double lr) const override {
    check_.template representable<Scalar>("lr", lr);
  }

 private:
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  using View = detail::View<Scalar>;

  struct ClosureRef {
    void* object;
    double (*call)(void*);
  };

  // A registered Matrix or Array is read again at each use; a view is fixed.
  struct Source {
    void* object = nullptr;
    void (*read_object)(void*, View&) = nullptr;
    View fixed;
  };
  struct Registration {
    Source param;
    Source grad;
  };
  // Where a registration's views were when their overlaps were last checked.
  struct Seen {
    View param;
    View grad;
  };

  template <class D>
  static Source source_of(D& x) {
    using P = std::remove_cv_t<D>;
    Source s;
    if constexpr (std::is_base_of<Eigen::PlainObjectBase<P>, P>::value) {
      s.object = static_cast<void*>(&x);
      s.read_object = [](void* o, View& v) { v = detail::view_of(*static_cast<P*>(o)); };
    } else {
      s.fixed = detail::view_of(x);
    }
    return s;
  }
  static View read(const Source& s) {
    View v;
    if (s.read_object)
      s.read_object(s.object, v);
    else
      v = s.fixed;
    return v;
  }

  // f(i, j) for every coefficient of p, in memory order: along the axis of
  // the smaller stride first.
  template <class F>
  static void in_memory_order(const View& p, F&& f) {
    const bool rows_first =
        p.cols <= 1 || (p.rows > 1 && std::abs(p.row_stride) <= std::abs(p.col_stride));
    if (rows_first) {
      for (Index j = 0; j < p.cols; ++j)
        for (Index i = 0; i < p.rows; ++i) f(i, j);
    } else {
      for (Index i = 0; i < p.rows; ++i)
        for (Index j = 0; j < p.cols; ++j) f(i, j);
    }
  }
  static Scalar& at(const View& v, Index i, Index j) {
    return v.data[i * v.row_stride + j * v.col_stride];
  }

  DESCEND_COLD void add_registration(const Registration& r) {
    if (in_step_) detail::fail<std::logic_error>(who_, ": add() inside step()'s closure");
    const View p = read(r.param), g = read(r.grad);
    const std::size_t me = registered_.size();
    if (p.rows != g.rows || p.cols != g.cols)
      detail::fail<ShapeError>(who_, ": registered parameter #", me, " is ", p.rows, "x", p.cols,
                               ", its gradient ", g.rows, "x", g.cols);
    if (detail::share_coefficients(p, g))
      detail::fail<std::invalid_argument>(who_, ": registered parameter #", me,
                                          ": its gradient shares memory with its parameter");
    for (std::size_t i = 0; i < me; ++i) check_apart(seen_[i], Seen{p, g}, i, me, "shares");
    seen_.reserve(me + 1);
    views_.reserve(me + 1);
    registered_.push_back(r);
    seen_.push_back(Seen{p, g});
  }

  DESCEND_COLD void check_apart(const Seen& a, const Seen& b, std::size_t ia, std::size_t ib,
                                const char* verb) const {
    const char* what = nullptr;
    if (detail::share_coefficients(a.param, b.param)) what = "its parameter";
    if (!what && detail::share_coefficients(a.grad, b.grad)) what = "its gradient";
    if (!what && (detail::share_coefficients(a.param, b.grad) ||
                  detail::share_coefficients(a.grad, b.param)))
      what = "a parameter or gradient";
    if (what)
      detail::fail<std::invalid_argument>(who_, ": registered parameter #", ib, ": ", what, " at ",
                                          static_cast<const void*>(b.param.data), " ", verb,
                                          " memory with registered parameter #", ia);
  }

  // Reads every registered view (before each use: a closure may assign a
  // new gradient Matrix), checks the gradients' shapes once the closure has
  // written them, and the overlaps again if any memory moved. Returns n.
  Index read_views(bool grads_written) {
    views_.resize(registered_.size());  // within the capacity add() reserved
    Index n = 0;
    bool moved = false;
    for (std::size_t i = 0; i < registered_.size(); ++i) {
      Seen& v = views_[i];
      v.param = read(registered_[i].param);
      v.grad = read(registered_[i].grad);
      if (grads_written && (v.param.rows != v.grad.rows || v.param.cols != v.grad.cols))
        shape_changed(i);
      moved = moved || v.param.data != seen_[i].param.data || v.grad.data != seen_[i].grad.data;
      n += v.param.size();
    }
    if (moved) recheck();
    return n;
  }

  DESCEND_COLD void shape_changed(std::size_t i) const {
    const Seen& v = views_[i];
    detail::fail<ShapeError>(who_, ": registered parameter #", i, " is ", v.param.rows, "x",
                             v.param.cols, ", its gradient ", v.grad.rows, "x", v.grad.cols);
  }

  DESCEND_COLD void recheck() {
    for (std::size_t i = 0; i < views_.size(); ++i) {
      if (detail::share_coefficients(views_[i].param, views_[i].grad))
        detail::fail<std::invalid_argument>(who_, ": registered parameter #", i,
                                            ": its gradient now shares memory with its parameter");
      for (std::size_t j = 0; j < i; ++j) check_apart(views_[j], views_[i], j, i, "now shares");
    }
    std::copy(views_.begin(), views_.end(), seen_.begin());
  }

  DESCEND_COLD void allocate(Index n) {
    if (registered_.empty())
      detail::fail<std::invalid_argument>(who_, ": step() with no registered parameter");
    if (n == 0) detail::fail<std::invalid_argument>(who_, ": the registered parameters are empty");
    const Index h = options_.history_size;
    const Index slots = h + 1;  // the newest pair is computed into the spare one
    const Index vectors = 3 + 2 * slots + (options_.line_search == LineSearch::none ? 0 : 5);
    if (n > (PTRDIFF_MAX / static_cast<Index>(sizeof(Scalar)) - 2 * slots) / vectors)
      detail::fail<std::invalid_argument>(who_, ": history_size = ", options_.history_size,
                                          " times ", n, " coefficients is too large");
    buffers_.setZero(vectors * n + 2 * slots);
    Scalar* b = buffers_.data();
    g_ = b, b += n;
    prev_g_ = b, b += n;
    d_ = b, b += n;
    ys_ = b, b += 2 * slots * n;
    rho_ = b, b += slots;
    al_ = b, b += slots;
    if (options_.line_search != LineSearch::none) {
      x_ = b, b += n;
      g_new_ = b, b += n;
      g_prev_ = b, b += n;
      bracket_g_[0] = b, b += n;
      bracket_g_[1] = b;
    }
    n_ = n;
  }

  Index slots() const { return options_.history_size + 1; }
  Scalar* y_of(Index slot) const { return ys_ + 2 * slot * n_; }
  Scalar* s_of(Index slot) const { return ys_ + (2 * slot + 1) * n_; }

  Scalar dot(const Scalar* a, const Scalar* b) const {
    Scalar sum = 0;
    for (Index i = 0; i < n_; ++i) sum += a[i] * b[i];
    return sum;
  }
  Scalar max_abs(const Scalar* a) const {
    Scalar m = 0;
    for (Index i = 0; i < n_; ++i) m = std::max(m, std::abs(a[i]));
    return m;
  }
  void copy(Scalar* to, const Scalar* from) const { std::copy(from, from + n_, to); }

  // Calls the closure and gathers the gradients it wrote into `flat`;
  // returns the loss. Under maximize both are negated: f' = -f, g' = -g.
  double evaluate(const ClosureRef& closure, Scalar* flat) {
    const double loss = closure.call(closure.object);
    if (read_views(true) != n_) size_changed();
    Index k = 0;
    if (options_.maximize) {
      for (const Seen& v : views_)
        in_memory_order(v.param, [&](Index i, Index j) { flat[k++] = -at(v.grad, i, j); });
      return -loss;
    }
    for (const Seen& v : views_)
      in_memory_order(v.param, [&](Index i, Index j) { flat[k++] = at(v.grad, i, j); });
    return loss;
  }

  DESCEND_COLD void size_changed() const {
    Index n = 0;
    for (const Seen& v : views_) n += v.param.size();
    detail::fail<ShapeError>(who_, ": the registered parameters hold ", n,
                             " coefficients, the state was made for ", n_,
                             ": call reset() after changing them");
  }

  // x = x + t d, on the registered parameters.
  void add_to_params(double t, const Scalar* d) {
    const Scalar step = static_cast<Scalar>(t);
    Index k = 0;
    for (const Seen& v : views_)
      in_memory_order(v.param, [&](Index i, Index j) {
        Scalar& x = at(v.param, i, j);
        x = std::fma(step, d[k++], x);
      });
  }
  // The parameters become base + t d (base: x_, saved before a line search).
  void set_params(const Scalar* base, double t, const Scalar* d) {
    const Scalar step = static_cast<Scalar>(t);
    Index k = 0;
    for (const Seen& v : views_)
      in_memory_order(v.param, [&](Index i, Index j) {
        at(v.param, i, j) = std::fma(step, d[k], base[k]);
        ++k;
      });
  }
  void save_params(Scalar* to) const {
    Index k = 0;
    for (const Seen& v : views_)
      in_memory_order(v.param, [&](Index i, Index j) { to[k++] = at(v.param, i, j); });
  }

  struct InStep {
    bool& flag;
    explicit InStep(bool& f) : flag(f) {
      if (flag) detail::fail<std::logic_error>("descend::Lbfgs: step() inside step()'s closure");
      flag = true;
    }
    ~InStep() { flag = false; }
  };

  DESCEND_NOINLINE double run(const ClosureRef& closure) {
    InStep guard(in_step_);
    const Index n = read_views(false);
    if (n_ == 0)
      allocate(n);
    else if (n != n_)
      size_changed();
    const Scalar tolerance_grad = static_cast<Scalar>(options_.tolerance_grad);
    const Scalar tolerance_change = static_cast<Scalar>(options_.tolerance_change);
    const double lr = options_.lr;  // torch's group['lr'], read once per step

    const double orig_loss = evaluate(closure, g_);
    // What the closure returned (-(-f) is f exactly, NaN included).
    const double returned = options_.maximize ? -orig_loss : orig_loss;
    double loss = orig_loss;
    std::int64_t current_evals = 1;
    func_evals_ += 1;
    bool opt_cond = max_abs(g_) <= tolerance_grad;
    if (opt_cond) return returned;

    std::int64_t iter = 0;
    while (iter < options_.max_iter) {
      ++iter;
      ++n_iter_;
      if (n_iter_ == 1) {
        for (Index i = 0; i < n_; ++i) d_[i] = -g_[i];  // d = -g
        count_ = head_ = 0;
        h_diag_ = 1;
      } else {
        two_loop();
      }
      copy(prev_g_, g_);
      prev_loss_ = loss;

      if (n_iter_ == 1) {
        Scalar sum = 0;
        for (Index i = 0; i < n_; ++i) sum += std::abs(g_[i]);
        const Scalar inv = Scalar(1) / sum;
        t_ = inv < 1 ? static_cast<double>(inv * static_cast<Scalar>(lr))
                     : lr;  // t = min(1, 1/|g|_1) * lr
      } else {
        t_ = lr;
      }
      const Scalar gtd = dot(g_, d_);  // g.d
      if (gtd > -tolerance_change) break;

      std::int64_t ls_evals = 0;
      if (options_.line_search == LineSearch::strong_wolfe) {
        save_params(x_);
        ls_evals = strong_wolfe(closure, loss, gtd);
        set_params(x_, t_, d_);
        opt_cond = max_abs(g_) <= tolerance_grad;
      } else {
        add_to_params(t_, d_);  // x = x + t d
        if (iter != options_.max_iter) {
          loss = evaluate(closure, g_);
          opt_cond = max_abs(g_) <= tolerance_grad;
          ls_evals = 1;
        }
      }
      current_evals += ls_evals;
      func_evals_ += ls_evals;

      if (iter == options_.max_iter) break;
      if (current_evals >= max_eval_) break;
      if (opt_cond) break;
      const Scalar t = static_cast<Scalar>(t_);
      Scalar change = 0;  // max|t d|
      for (Index i = 0; i < n_; ++i) change = std::max(change, std::abs(d_[i] * t));
      if (change <= tolerance_change) break;
      if (std::abs(loss - prev_loss_) < options_.tolerance_change) break;
    }
    return returned;
  }

  // The L-BFGS direction d from g, the previous step and the history.
  void two_loop() {
    const Index free = (head_ + count_) % slots();  // the spare slot
    Scalar* y = y_of(free);
    Scalar* s = s_of(free);
    const Scalar t = static_cast<Scalar>(t_);
    for (Index i = 0; i < n_; ++i) y[i] = g_[i] - prev_g_[i];  // y = g - g_prev
    for (Index i = 0; i < n_; ++i) s[i] = d_[i] * t;           // s = t d
    const Scalar ys = dot(y, s);
    if (ys > Scalar(1e-10)) {
      if (count_ == options_.history_size) {
        head_ = (head_ + 1) % slots();  // drop the oldest pair
        --count_;
      }
      rho_[free] = Scalar(1) / ys;  // rho = 1 / y.s
      ++count_;
      h_diag_ = ys / dot(y, y);  // H = y.s / y.y
    }
    Scalar* q = d_;
    for (Index i = 0; i < n_; ++i) q[i] = -g_[i];  // q = -g
    for (Index k = count_ - 1; k >= 0; --k) {
      const Index slot = (head_ + k) % slots();
      const Scalar* yk = y_of(slot);
      al_[slot] = dot(s_of(slot), q) * rho_[slot];  // a_k = rho_k s_k.q
      const Scalar a = -al_[slot];
      for (Index i = 0; i < n_; ++i) q[i] = std::fma(a, yk[i], q[i]);  // q = q - a_k y_k
    }
    for (Index i = 0; i < n_; ++i) d_[i] = q[i] * h_diag_;  // d = H q
    for (Index k = 0; k < count_; ++k) {
      const Index slot = (head_ + k) % slots();
      const Scalar* sk = s_of(slot);
      const Scalar be = dot(y_of(slot), d_) * rho_[slot];  // b_k = rho_k y_k.d
      const Scalar c = al_[slot] - be;
      for (Index i = 0; i < n_; ++i) d_[i] = std::fma(c, sk[i], d_[i]);  // d = d + (a_k - b_k) s_k
    }
  }

  // Python's max(a, b) and min(a, b): the first argument unless the second
  // is strictly greater (smaller).
  static double py_max(double a, double b) { return b > a ? b : a; }
  static double py_min(double a, double b) { return b < a ? b : a; }

  // torch's _cubic_interpolate: the minimiser of the cubic through (x1, f1)
  // and (x2, f2) with slopes g1, g2, clamped to the bounds; their midpoint
  // when the cubic has no minimum.
  static double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2,
                                  double xmin_bound, double xmax_bound) {
    const double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);  // d1 = g1 + g2 - 3 (f1 - f2)/(x1 - x2)
    const double d2_square = d1 * d1 - g1 * g2;             // d2^2 = d1^2 - g1 g2
    if (d2_square >= 0) {
      const double d2 = std::sqrt(d2_square);
      double min_pos;
      if (x1 <= x2)
        min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2));
      else
        min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
      return py_min(py_max(min_pos, xmin_bound), xmax_bound);
    }
    return (xmin_bound + xmax_bound) / 2.;
  }
  static double cubic_interpolate(double x1, double f1, double g1, double x2, double f2,
                                  double g2) {
    return x1 <= x2 ? cubic_interpolate(x1, f1, g1, x2, f2, g2, x1, x2)
                    : cubic_interpolate(x1, f1, g1, x2, f2, g2, x2, x1);
  }

  // torch's _strong_wolfe from x_ along d_, starting at t_, with the loss f
  // and gradient g_ at x_ and slope gtd = g.d. Leaves in t_, `f` and g_ the
  // point it chose; returns its number of evaluations.
  std::int64_t strong_wolfe(const ClosureRef& closure, double& f, Scalar gtd_scalar) {
    constexpr double c1 = 1e-4, c2 = 0.9, tolerance_change = 1e-9;
    constexpr int max_ls = 25;
    const double gtd = gtd_scalar;
    const double d_norm = max_abs(d_);
    copy(g_prev_, g_);
    // The loss and slope at x + t d; its gradient in g_new_.
    auto obj_func = [&](double t, double& slope) {
      set_params(x_, t, d_);
      const double loss = evaluate(closure, g_new_);
      slope = dot(g_new_, d_);
      return loss;
    };
    double t = t_;
    double gtd_new;
    double f_new = obj_func(t, gtd_new);
    std::int64_t ls_func_evals = 1;

    // Bracket an interval containing a point satisfying the Wolfe criteria.
    double t_prev = 0, f_prev = f, gtd_prev = gtd;
    double bracket[2] = {0, 0}, bracket_f[2] = {0, 0}, bracket_gtd[2] = {0, 0};
    int size = 0;
    bool done = false;
    int ls_iter = 0;
    auto bracket_with_prev = [&] {
      bracket[0] = t_prev, bracket[1] = t;
      bracket_f[0] = f_prev, bracket_f[1] = f_new;
      copy(bracket_g_[0], g_prev_), copy(bracket_g_[1], g_new_);
      bracket_gtd[0] = gtd_prev, bracket_gtd[1] = gtd_new;
      size = 2;
    };
    while (ls_iter < max_ls) {
      if (f_new > (f + c1 * t * gtd) || (ls_iter > 1 && f_new >= f_prev)) {  // Armijo fails
        bracket_with_prev();
        break;
      }
      if (std::abs(gtd_new) <= -c2 * gtd) {  // strong Wolfe holds
        bracket[0] = t, bracket_f[0] = f_new;
        copy(bracket_g_[0], g_new_);
        size = 1;
        done = true;
        break;
      }
      if (gtd_new >= 0) {
        bracket_with_prev();
        break;
      }
      // Extrapolate by cubic interpolation within [t + 0.01 (t - t_prev), 10 t].
      const double min_step = t + 0.01 * (t - t_prev);
      const double max_step = t * 10;
      const double tmp = t;
      t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, min_step, max_step);
      t_prev = tmp;
      f_prev = f_new;
      copy(g_prev_, g_new_);
      gtd_prev = gtd_new;
      f_new = obj_func(t, gtd_new);
      ls_func_evals += 1;
      ls_iter += 1;
    }
    if (ls_iter == max_ls) {  // no bracket: choose between 0 and t
      bracket[0] = 0, bracket[1] = t;
      bracket_f[0] = f, bracket_f[1] = f_new;
      copy(bracket_g_[0], g_), copy(bracket_g_[1], g_new_);
      size = 2;
    }

    // Zoom: shrink the bracket until a point satisfies the criteria.
    bool insuf_progress = false;
    int low = bracket_f[0] <= bracket_f[size - 1] ? 0 : 1, high = 1 - low;
    while (!done && ls_iter < max_ls) {
      if (std::abs(bracket[1] - bracket[0]) * d_norm < tolerance_change) break;
      t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1],
                            bracket_gtd[1]);
      // Too close to an end (or twice near one): move 0.1 of the bracket in.
      const double b_max = py_max(bracket[0], bracket[1]);
      const double b_min = py_min(bracket[0], bracket[1]);
      const double eps = 0.1 * (b_max - b_min);
      if (py_min(b_max - t, t - b_min) < eps) {
        if (insuf_progress || t >= b_max || t <= b_min) {
          t = std::abs(t - b_max) < std::abs(t - b_min) ? b_max - eps : b_min + eps;
          insuf_progress = false;
        } else {
          insuf_progress = true;
        }
      } else {
        insuf_progress = false;
      }
      f_new = obj_func(t, gtd_new);
      ls_func_evals += 1;
      ls_iter += 1;
      if (f_new > (f + c1 * t * gtd) || f_new >= bracket_f[low]) {
        // Armijo fails, or no lower than the low end: t is the new high end.
        bracket[high] = t, bracket_f[high] = f_new, bracket_gtd[high] = gtd_new;
        copy(bracket_g_[high], g_new_);
        low = bracket_f[0] <= bracket_f[1] ? 0 : 1, high = 1 - low;
      } else {
        if (std::abs(gtd_new) <= -c2 * gtd) {
          done = true;
        } else if (gtd_new * (bracket[high] - bracket[low]) >= 0) {
          // The old high end becomes the low one.
          bracket[high] = bracket[low], bracket_f[high] = bracket_f[low];
          bracket_gtd[high] = bracket_gtd[low];
          copy(bracket_g_[high], bracket_g_[low]);
        }
        bracket[low] = t, bracket_f[low] = f_new, bracket_gtd[low] = gtd_new;
        copy(bracket_g_[low], g_new_);
      }
    }
    t_ = bracket[low];
    f = bracket_f[low];
    copy(g_, bracket_g_[low]);
    return ls_func_evals;
  }

  const char* who_ = "descend::Lbfgs";
  detail::Check check_{"descend::Lbfgs"};
  LbfgsOptions options_;
  std::int64_t max_eval_ = 0;

  std::vector<Registration> registered_;
  std::vector<Seen> seen_;   // views as of the last overlap check
  std::vector<Seen> views_;  // views as of the last read

  // State: n_ coefficients (0 before the first step), buffers_ holding the
  // vectors below back to back.
  Index n_ = 0;
  Vector buffers_;
  Scalar* g_ = nullptr;       // the current flat gradient
  Scalar* prev_g_ = nullptr;  // torch's prev_flat_grad
  Scalar* d_ = nullptr;       // the direction
  Scalar* ys_ = nullptr;      // history_size + 1 slots of (y, s)
  Scalar* rho_ = nullptr;     // per slot
  Scalar* al_ = nullptr;      // per slot, the two-loop's a_k
  Scalar* x_ = nullptr;       // the line search's start
  Scalar* g_new_ = nullptr;   // and its gradients
  Scalar* g_prev_ = nullptr;
  Scalar* bracket_g_[2] = {nullptr, nullptr};
  Index count_ = 0;  // pairs in the history
  Index head_ = 0;   // the oldest pair's slot
  Scalar h_diag_ = 1;
  double t_ = 0;
  double prev_loss_ = 0;
  std::int64_t n_iter_ = 0;
  std::int64_t func_evals_ = 0;
  bool in_step_ = false;
};

}  // namespace descend
