// Gradient clipping: stages that step() runs after reading the registered
// gradients and before updating (Optimizer::add_transform). Each acts on every
// group, or on the one named by `group`.
//
// ClipGradNorm, torch.nn.utils.clip_grad_norm_ (PyTorch 1.13):
//   n_i   = ||g_i||_p                      each gradient (p = inf: max |g_i|)
//   total = ||(n_1, ..., n_k)||_p          (p = inf: max n_i; 0 with no gradient)
//   if error_if_nonfinite and total is NaN or ±inf: throw NonFiniteError
//   c     = min((1 / (total + 1e-6)) * max_norm, 1)  in Scalar, rounded as PyTorch
//                                                 rounds max_norm / tensor
//   g_i   = c g_i                          folded into the update (one read more in all)
// step()'s report holds the total (grad_norm) and whether c < 1 (clipped).
// max_norm = INFINITY measures the norm without clipping.
// A NaN total makes c NaN, and the update NaN, as in PyTorch (unless
// error_if_nonfinite, or a NonFiniteGuard added after the clip, stops it).
// Unlike PyTorch, the registered gradients are not written: the scale enters
// the update only. And the norms accumulate in double: for float gradients
// whose squares overflow float, PyTorch's total is inf (and every gradient
// becomes 0); descend's is the finite norm, and the gradients are scaled to it.
//
// Stages compose: each measures (or bounds) the gradient as it enters the
// update, after maximize and the clips before it. A ClipGradValue placed
// before a NonFiniteGuard turns ±inf into ±clip_value, which the guard then
// cannot see: put the guard first if that matters.
//
// ClipGradValue, torch.nn.utils.clip_grad_value_:
//   g = clamp(g, -clip_value, clip_value)  written into the registered gradients, as PyTorch does
//
// ClipNormPerParameter, numpy-ml's optimizers' clip_norm: each gradient on its own,
//   if ||g||_2 > max_norm:  g = g * max_norm / ||g||_2      strict >, no eps
// (numpy-ml computes (g * max_norm) / ||g||; descend g * (max_norm / ||g||),
// which may differ in the last bit.)
#pragma once

#include <cmath>
#include <memory>

#include "descend/optim/detail/reduce.hpp"
#include "descend/optim/errors.hpp"
#include "descend/optim/param_groups.hpp"
#include "descend/optim/transform.hpp"

namespace descend {

namespace detail {
inline bool in_group(std::size_t group, std::size_t wanted) {
  return wanted == kAllGroups || group == wanted;
}
DESCEND_COLD inline void check_group(const char* who, const ParamGroups& groups,
                                     std::size_t group) {
  if (group != kAllGroups && group >= groups.num_groups())
    fail<std::invalid_argument>(who, ": group = ", group, " does not exist (", groups.num_groups(),
                                " groups)");
}
}  // namespace detail

struct ClipGradNorm {
  double max_norm = 1.0;
  double norm_type = 2;  // any p > 0, or INFINITY
  bool error_if_nonfinite = false;
  std::size_t group = kAllGroups;

  template <class Scalar>
  std::unique_ptr<GradientTransform<Scalar>> make(const ParamGroups& groups) const;
};

struct ClipGradValue {
  double clip_value = 1.0;
  std::size_t group = kAllGroups;

  template <class Scalar>
  std::unique_ptr<GradientTransform<Scalar>> make(const ParamGroups& groups) const;
};

struct ClipNormPerParameter {
  double max_norm = 1.0;
  std::size_t group = kAllGroups;

  template <class Scalar>
  std::unique_ptr<GradientTransform<Scalar>> make(const ParamGroups& groups) const;
};

namespace detail {

template <class Scalar>
class ClipGradNormStage : public GradientTransform<Scalar> {
 public:
  explicit ClipGradNormStage(const ClipGradNorm& o) : o_(o) {}

  const char* kind() const override { return "descend::ClipGradNorm"; }

  bool before_update(const StepItem<Scalar>* items, Scalar* scales, std::size_t count,
                     StepReport& report) override {
    const double p = o_.norm_type;
    const bool inf = std::isinf(p);
    double total = 0;
    for (std::size_t i = 0; i < count; ++i) {
      if (!in_group(items[i].group, o_.group) || items[i].grad.size() == 0) continue;
      // The norm of the gradient as it enters the update (after earlier clips).
      const double n = std::abs(static_cast<double>(scales[i])) * norm_of(items[i].grad, p);
      if (inf)
        total = (std::isnan(n) || n > total) ? n : total;
      else
        total += p == 2 ? n * n : p == 1 ? n : std::pow(n, p);
    }
    if (!inf) total = p == 2 ? std::sqrt(total) : p == 1 ? total : std::pow(total, 1.0 / p);
    if (o_.error_if_nonfinite && !std::isfinite(total))
      fail<NonFiniteError>("descend::ClipGradNorm: the total norm of order ", p,
                           " of the gradients is ", total,
                           ", so it cannot be clipped (error_if_nonfinite); nothing was updated");
    const Scalar c = coefficient(total);
    report.grad_norm = total;
    report.grad_norm_group = o_.group;
    if (c != Scalar(1)) {
      report.clipped = true;  // c < 1, or NaN
      for (std::size_t i = 0; i < count; ++i) {
        if (in_group(items[i].group, o_.group)) scales[i] *= c;
      }
    }
    return true;
  }

 private:
  // min(max_norm / (total + 1e-6), 1) as PyTorch 1.13 rounds it in Scalar:
  // `max_norm / tensor` is tensor.reciprocal() * max_norm there. A float total
  // beyond float's range (PyTorch's is inf, and clips every gradient to 0) is
  // divided in double.
  Scalar coefficient(double total) const {
    const Scalar t = static_cast<Scalar>(total);
    Scalar c =
        std::isinf(t) && std::isfinite(total)
            ? static_cast<Scalar>(o_.max_norm / (total + 1e-6))
            : (Scalar(1) / (t + static_cast<Scalar>(1e-6))) * static_cast<Scalar>(o_.max_norm);
    if (c > Scalar(1)) c = Scalar(1);  // NaN stays NaN, as torch.clamp
    return c;
  }

  ClipGradNorm o_;
};

template <class Scalar>
class ClipGradValueStage : public GradientTransform<Scalar> {
 public:
  explicit ClipGradValueStage(const ClipGradValue& o) : o_(o) {}

  const char* kind() const override { return "descend::ClipGradValue"; }

  bool before_update(const StepItem<Scalar>* items, Scalar* scales, std::size_t count,
                     StepReport& report) override {
    bool clamped = false;
    for (std::size_t i = 0; i < count; ++i) {
      if (!in_group(items[i].group, o_.group)) continue;
      // The bound on the gradient as it enters the update (scaled by earlier
      // clips and maximize): |s g| <= c is |g| <= c / |s|.
      const Scalar s = std::abs(scales[i]);
      const Scalar c = static_cast<Scalar>(o_.clip_value) / (s == Scalar(0) ? Scalar(1) : s);
      // Registered gradients are writable (zero_grad() writes them).
      const View<const Scalar>& g = items[i].grad;
      const View<Scalar> writable{const_cast<Scalar*>(g.data), g.rows, g.cols, g.row_stride,
                                  g.col_stride};
      for_each_element(writable, [&](Scalar& x, Index, Index) {
        const bool out = x < -c || x > c;
        clamped = clamped || out;
        if (out) x = x < -c ? -c : c;  // clamp(x, -c, c); NaN stays
      });
    }
    report.clipped = report.clipped || clamped;
    return true;
  }

 private:
  ClipGradValue o_;
};

template <class Scalar>
class ClipNormPerParameterStage : public GradientTransform<Scalar> {
 public:
  explicit ClipNormPerParameterStage(const ClipNormPerParameter& o) : o_(o) {}

  const char* kind() const override { return "descend::ClipNormPerParameter"; }

  bool before_update(const StepItem<Scalar>* items, Scalar* scales, std::size_t count,
                     StepReport& report) override {
    for (std::size_t i = 0; i < count; ++i) {
      if (!in_group(items[i].group, o_.group) || items[i].grad.size() == 0) continue;
      const double n = std::abs(static_cast<double>(scales[i])) * norm_of(items[i].grad, 2.0);
      if (n > o_.max_norm) {  // strict, no eps
        scales[i] *= static_cast<Scalar>(o_.max_norm / n);
        report.clipped = true;
      }
    }
    return true;
  }

 private:
  ClipNormPerParameter o_;
};

}  // namespace detail

template <class Scalar>
std::unique_ptr<GradientTransform<Scalar>> ClipGradNorm::make(const ParamGroups& groups) const {
  const detail::Check check{"descend::ClipGradNorm"};
  check.at_least("max_norm", max_norm, 0);  // inf: measure the norm, never clip
  check.that(norm_type > 0, detail::concat("norm_type = ", norm_type,
                                           " must be positive (or INFINITY for the max norm)"));
  detail::check_group(check.who, groups, group);
  return std::make_unique<detail::ClipGradNormStage<Scalar>>(*this);
}

template <class Scalar>
std::unique_ptr<GradientTransform<Scalar>> ClipGradValue::make(const ParamGroups& groups) const {
  const detail::Check check{"descend::ClipGradValue"};
  check.template representable<Scalar>("clip_value", clip_value);
  detail::check_group(check.who, groups, group);
  return std::make_unique<detail::ClipGradValueStage<Scalar>>(*this);
}

template <class Scalar>
std::unique_ptr<GradientTransform<Scalar>> ClipNormPerParameter::make(
    const ParamGroups& groups) const {
  const detail::Check check{"descend::ClipNormPerParameter"};
  check.finite_non_negative("max_norm", max_norm);
  detail::check_group(check.who, groups, group);
  return std::make_unique<detail::ClipNormPerParameterStage<Scalar>>(*this);
}

}  // namespace descend
