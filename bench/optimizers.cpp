// Benchmarks of descend's updates against two yardsticks, each measured in the
// same process, interleaved with the update it is compared with:
//
//  - `fused_ratio` = fused time / update time (1 = descend as fast as the
//    loop; issue 14 asks for >= 0.95): the same update written by hand as one
//    loop over the whole parameter (`#pragma omp simd`, one statement per
//    array, each option's branch taken outside the loop), with the same
//    arithmetic in the same order as the optimizer's header (its constants
//    formed in double and rounded to Scalar once, the same exact square
//    root). main() checks every fused loop against descend before anything
//    is timed, so that the yardstick is the same update, and it runs on
//    descend's own parameter, gradient and state buffers (see update()).
//  - `roofline` = stream time / update time (1 = at memory speed): an update
//    is memory-bound, Adam in float reads p, g, m, v and writes p, m, v,
//    28 bytes per element in one ideal pass; `stream` is a plain fused loop
//    with the same reads and writes, in place, and trivial arithmetic.
//
//   descend_bench [--benchmark_filter=...] [--benchmark_format=json]
//
// With DESCEND_OPENMP the update and both loops use OMP_NUM_THREADS threads,
// from descend's parallel threshold on. bench/report.py turns the JSON into
// tables.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "descend/descend.hpp"
#include "descend/optim/arena.hpp"
#include "descend/optim/clip.hpp"
#include "spiral_setup.hpp"

#if defined(DESCEND_USE_OPENMP)
#include <omp.h>
#endif

// The fused loops' square root is sqrt and sqrtf, the correctly rounded IEEE
// operation that descend's kernels compute with sqrtps / sqrtpd. Declared as
// the C library declares them, they may set errno (GCC's default
// -fmath-errno), and GCC then keeps a scalar square root and a branch per
// coefficient in any loop that calls them, even under `#pragma omp simd`;
// declared const they are the same operation, vectorised. (In this file that
// also applies to descend's scalar tails, which no benchmarked size has.)
#if defined(__GNUC__)
extern "C" float sqrtf(float) noexcept __attribute__((const));
extern "C" double sqrt(double) noexcept __attribute__((const));
#endif

namespace {

using Clock = std::chrono::steady_clock;

// Best time per call of each function, in seconds, over 15 rounds in which
// each runs a batch of at least ~20 ms in turn, so that all see the same
// machine (it is shared).
std::vector<double> best_seconds(const std::vector<std::function<void()>>& fs) {
  auto reps_for = [](const std::function<void()>& x) {
    x();  // warm
    int reps = 1;
    for (;;) {
      const auto t0 = Clock::now();
      for (int i = 0; i < reps; ++i) x();
      if (std::chrono::duration<double>(Clock::now() - t0).count() > 0.02) return reps;
      reps *= 2;
    }
  };
  std::vector<int> reps;
  for (const auto& f : fs) reps.push_back(reps_for(f));
  auto time = [](const std::function<void()>& x, int reps) {
    const auto t0 = Clock::now();
    for (int i = 0; i < reps; ++i) x();
    return std::chrono::duration<double>(Clock::now() - t0).count() / reps;
  };
  std::vector<double> best(fs.size(), 1e300);
  for (int trial = 0; trial < 15; ++trial)
    for (std::size_t k = 0; k < fs.size(); ++k) best[k] = std::min(best[k], time(fs[k], reps[k]));
  return best;
}

// The same for two functions, f and h.
std::pair<double, double> best_seconds(const std::function<void()>& f,
                                       const std::function<void()>& h) {
  const std::vector<double> t = best_seconds(std::vector<std::function<void()>>{f, h});
  return {t[0], t[1]};
}

// The roofline loop: reads `reads` arrays (array 1 is the gradient, read
// only) and writes `writes` of them in place, with trivial arithmetic.
template <class S, int Reads, int Writes>
void stream(const std::array<S*, Reads>& a, std::ptrdiff_t n) {
  static_assert(Writes < Reads, "the gradient is never written");
  constexpr std::ptrdiff_t kBlock = 4096;
  auto block = [&](std::ptrdiff_t b) {
    const std::ptrdiff_t end = std::min(n, b + kBlock);
    S* __restrict p = a[0];
    const S* __restrict g = a[1];
    S* __restrict s2 = Reads > 2 ? a[2] : nullptr;
    S* __restrict s3 = Reads > 3 ? a[3] : nullptr;
    S* __restrict s4 = Reads > 4 ? a[4] : nullptr;
#pragma omp simd
    for (std::ptrdiff_t i = b; i < end; ++i) {
      S sum = g[i];
      if constexpr (Reads > 2) sum += s2[i];
      if constexpr (Reads > 3) sum += s3[i];
      if constexpr (Reads > 4) sum += s4[i];
      p[i] = S(0.5) * p[i] + S(1e-3) * sum;
      if constexpr (Writes > 1) s2[i] = S(0.5) * s2[i] + S(1e-3) * g[i];
      if constexpr (Writes > 2) s3[i] = S(0.5) * s3[i] + S(1e-3) * g[i];
      if constexpr (Writes > 3) s4[i] = S(0.5) * s4[i] + S(1e-3) * g[i];
    }
  };
  // Threads on the same terms as descend: only for large arrays.
#if defined(DESCEND_USE_OPENMP)
  if (n >= descend::detail::kParallelThreshold) {
#pragma omp parallel for schedule(static)
    for (std::ptrdiff_t b = 0; b < n; b += kBlock) block(b);
    return;
  }
#endif
  for (std::ptrdiff_t b = 0; b < n; b += kBlock) block(b);
}

template <class S>
void stream_dispatch(int reads, int writes, const std::vector<S*>& a, std::ptrdiff_t n) {
  auto arr = [&](auto reads_c) {
    std::array<S*, decltype(reads_c)::value> out{};
    std::copy(a.begin(), a.begin() + decltype(reads_c)::value, out.begin());
    return out;
  };
  if (reads == 2 && writes == 1) return stream<S, 2, 1>(arr(std::integral_constant<int, 2>{}), n);
  if (reads == 3 && writes == 2) return stream<S, 3, 2>(arr(std::integral_constant<int, 3>{}), n);
  if (reads == 4 && writes == 3) return stream<S, 4, 3>(arr(std::integral_constant<int, 4>{}), n);
  if (reads == 5 && writes == 4) return stream<S, 5, 4>(arr(std::integral_constant<int, 5>{}), n);
  if (reads == 5 && writes == 3) return stream<S, 5, 3>(arr(std::integral_constant<int, 5>{}), n);
  throw std::logic_error("no stream loop for this read/write count");
}

// ---------------------------------------------------------------------------
// The hand-fused loops. Each mirrors one optimizer's apply() and Kernel (in
// include/descend/optim/): the constants formed from the options in double,
// as there, and rounded to Scalar once; then the update of every coefficient
// in one `#pragma omp simd` loop, one statement per array, the operations in
// the kernel's order (so that the results are the same to the bit where
// the compiler does not contract a multiply and an add). Options that
// change the arithmetic are template flags (std::bool_constant), one loop
// per combination, so that no option is tested inside a loop. Options the
// benchmark never sets (maximize, lr_inside momentum) are refused.
//
// Where a kernel multiplies by a sign (torch.sign: 1, -1, or +0 for 0 and
// NaN), the loop chooses among x, -x and 0 instead: the same values (x times
// 1, -1 or +0, then subtracted), and GCC vectorises only this form at -O2
// (given the constants, it moves the arithmetic into branches, which it then
// may not merge into selects under -ftrapping-math).

using Index = std::ptrdiff_t;

template <class S>
class Fused {
 public:
  virtual ~Fused() = default;
  // The optimizer's initial state in its buffers (n coefficients each, back
  // to back, zero on entry), where it does not start at zero.
  virtual void init(S* /*s*/, Index /*n*/) const {}
  // The next update (the first is step 1) of p from g, with state s.
  virtual void update(S* p, const S* g, S* s, Index n) = 0;

 protected:
  std::int64_t t_ = 0;  // updates so far, as descend's per-parameter step count
};

// f(std::bool_constant<a>{}, std::bool_constant<b>{}, ...) for run-time
// flags a, b, ...
template <class F>
void with_flags(F&& f) {
  f();
}
template <class F, class... Flags>
void with_flags(F&& f, bool first, Flags... rest) {
  if (first)
    with_flags([&](auto... flags) { f(std::true_type{}, flags...); }, rest...);
  else
    with_flags([&](auto... flags) { f(std::false_type{}, flags...); }, rest...);
}

// body(i) for i in [0, n), as one vectorised loop. From descend's parallel
// threshold on, in contiguous ranges across the OpenMP threads, on the terms
// descend's kernels are split on.
template <class Body>
void fused_for(Index n, const Body& body) {
  const auto range = [&body](Index begin, Index end) {
    const Body f = body;  // a local copy: its constants stay in registers
#pragma omp simd
    for (Index i = begin; i < end; ++i) f(i);
  };
#if defined(DESCEND_USE_OPENMP)
  if (n >= descend::detail::kParallelThreshold) {
#pragma omp parallel
    {
      const Index threads = omp_get_num_threads(), thread = omp_get_thread_num();
      const Index per = ((n + threads - 1) / threads + 63) / 64 * 64;
      range(std::min(n, thread * per), std::min(n, (thread + 1) * per));
    }
    return;
  }
#endif
  range(0, n);
}

template <class S>
S exact_sqrt(S x) {
  if constexpr (std::is_same<S, float>::value)
    return sqrtf(x);
  else
    return sqrt(x);
}

// The learning rate of update t after inverse-time decay, as the optimizer
// base forms it (optimizer.hpp, decayed_lr).
template <class Options>
double lr_at(const Options& o, std::int64_t t) {
  return o.decay == 0 ? o.lr : o.lr / (1.0 + o.decay * static_cast<double>(t - 1));
}

void require(bool ok, const char* what) {
  if (!ok) throw std::logic_error(std::string("descend_bench: no fused loop for ") + what);
}
template <class Options>
void require_plain(const Options& o) {
  require(!o.maximize, "maximize (descend scales the gradient in a kernel of its own)");
}

template <class S>
class FusedSgd final : public Fused<S> {
 public:
  explicit FusedSgd(const descend::SgdOptions& o) : o_(o) {
    require_plain(o);
    require(o.momentum_style == descend::MomentumStyle::lr_outside, "SGD with lr_inside");
  }
  void update(S* p, const S* g, S* s, Index n) override {
    const std::int64_t t = ++this->t_;
    const S lr = static_cast<S>(lr_at(o_, t)), wd = static_cast<S>(o_.weight_decay);
    const S mu = static_cast<S>(o_.momentum);
    // The buffer starts at zero: at t = 1 this makes b = g, undampened.
    const S damped = static_cast<S>(t == 1 ? 1.0 : 1.0 - o_.dampening);
    with_flags(
        [&](auto decays, auto momentum, auto nesterov) {
          if constexpr (!momentum) {
            fused_for(n, [=](Index i) {
              const S gi = decays ? g[i] + wd * p[i] : g[i];  // g = g + λ w
              p[i] = p[i] - lr * gi;                          // w = w - lr g
            });
          } else {
            fused_for(n, [=](Index i) {
              const S gi = decays ? g[i] + wd * p[i] : g[i];  // g = g + λ w
              const S b = mu * s[i] + damped * gi;            // b = μ b + (1 - τ) g
              s[i] = b;
              p[i] = p[i] - lr * (nesterov ? gi + mu * b : b);  // w = w - lr (g + μ b), lr b
            });
          }
        },
        o_.weight_decay != 0, o_.momentum != 0, o_.nesterov);
  }

 private:
  descend::SgdOptions o_;
};

template <class S>
class FusedAdagrad final : public Fused<S> {
 public:
  explicit FusedAdagrad(const descend::AdagradOptions& o) : o_(o) { require_plain(o); }
  void init(S* s, Index n) const override {
    std::fill(s, s + n, static_cast<S>(o_.initial_accumulator_value));
  }
  void update(S* p, const S* g, S* s, Index n) override {
    const std::int64_t t = ++this->t_;
    const S lr = static_cast<S>(lr_at(o_, t) / (1.0 + static_cast<double>(t - 1) * o_.lr_decay));
    const S wd = static_cast<S>(o_.weight_decay), eps = static_cast<S>(o_.eps);
    with_flags(
        [&](auto decays, auto eps_inside) {
          fused_for(n, [=](Index i) {
            const S gi = decays ? g[i] + wd * p[i] : g[i];  // g = g + λ w
            const S sum = s[i] + gi * gi;                   // s = s + g²
            s[i] = sum;
            const S q = eps_inside ? exact_sqrt(sum + eps)   // √(s + ε)
                                   : exact_sqrt(sum) + eps;  // √s + ε
            p[i] = p[i] - lr * gi / q;                       // w = w - lr g / q
          });
        },
        o_.weight_decay != 0, o_.eps_placement == descend::EpsPlacement::inside_sqrt);
  }

 private:
  descend::AdagradOptions o_;
};

template <class S>
class FusedRmsprop final : public Fused<S> {
 public:
  explicit FusedRmsprop(const descend::RmspropOptions& o) : o_(o) {
    require_plain(o);
    require(o.momentum_style == descend::MomentumStyle::lr_outside, "RMSprop with lr_inside");
  }
  void update(S* p, const S* g, S* s, Index n) override {
    const S lr = static_cast<S>(lr_at(o_, ++this->t_)), wd = static_cast<S>(o_.weight_decay);
    const S alpha = static_cast<S>(o_.alpha), one_minus_alpha = static_cast<S>(1.0 - o_.alpha);
    const S eps = static_cast<S>(o_.eps), mu = static_cast<S>(o_.momentum);
    S* const v = s;
    S* const a = s + n;                          // if centered
    S* const b = s + (o_.centered ? 2 : 1) * n;  // if momentum
    with_flags(
        [&](auto decays, auto centered, auto eps_inside, auto momentum) {
          fused_for(n, [=](Index i) {
            const S gi = decays ? g[i] + wd * p[i] : g[i];            // g = g + λ w
            const S vi = alpha * v[i] + one_minus_alpha * (gi * gi);  // v = α v + (1 - α) g²
            v[i] = vi;
            S q = vi;
            if constexpr (centered) {
              const S ai = alpha * a[i] + one_minus_alpha * gi;  // a = α a + (1 - α) g
              a[i] = ai;
              q = q - ai * ai;  // v~ = v - a²
            }
            q = eps_inside ? exact_sqrt(q + eps) : exact_sqrt(q) + eps;  // √(v~ + ε), √v~ + ε
            if constexpr (momentum) {
              const S bi = mu * b[i] + gi / q;  // b = μ b + g / q
              b[i] = bi;
              p[i] = p[i] - lr * bi;  // w = w - lr b
            } else {
              p[i] = p[i] - lr * gi / q;  // w = w - lr g / q
            }
          });
        },
        o_.weight_decay != 0, o_.centered, o_.eps_placement == descend::EpsPlacement::inside_sqrt,
        o_.momentum > 0);
  }

 private:
  descend::RmspropOptions o_;
};

template <class S>
class FusedAdadelta final : public Fused<S> {
 public:
  explicit FusedAdadelta(const descend::AdadeltaOptions& o) : o_(o) { require_plain(o); }
  void update(S* p, const S* g, S* s, Index n) override {
    const S lr = static_cast<S>(lr_at(o_, ++this->t_)), wd = static_cast<S>(o_.weight_decay);
    const S rho = static_cast<S>(o_.rho), one_minus_rho = static_cast<S>(1.0 - o_.rho);
    const S eps = static_cast<S>(o_.eps);
    S* const v = s;
    S* const u = s + n;
    with_flags(
        [&](auto decays, auto eps_inside) {
          fused_for(n, [=](Index i) {
            const S gi = decays ? g[i] + wd * p[i] : g[i];        // g = g + λ w
            const S vi = rho * v[i] + one_minus_rho * (gi * gi);  // v = ρ v + (1 - ρ) g²
            v[i] = vi;
            const S ui = u[i];
            const S d = eps_inside
                            ? exact_sqrt((ui + eps) / (vi + eps)) * gi  // √(u + ε) / √(v + ε) g
                            : (exact_sqrt(ui) + eps) / (exact_sqrt(vi) + eps) * gi;
            u[i] = rho * ui + one_minus_rho * (d * d);  // u = ρ u + (1 - ρ) d²
            p[i] = p[i] - lr * d;                       // w = w - lr d
          });
        },
        o_.weight_decay != 0, o_.eps_placement == descend::EpsPlacement::inside_sqrt);
  }

 private:
  descend::AdadeltaOptions o_;
};

template <class S>
class FusedAdam final : public Fused<S> {
 public:
  explicit FusedAdam(const descend::AdamOptions& o) : o_(o) { require_plain(o); }
  void update(S* p, const S* g, S* s, Index n) override {
    const std::int64_t t = ++this->t_;
    const double lr = lr_at(o_, t);
    const S beta1 = static_cast<S>(o_.beta1), one_minus_beta1 = static_cast<S>(1.0 - o_.beta1);
    const S beta2 = static_cast<S>(o_.beta2), one_minus_beta2 = static_cast<S>(1.0 - o_.beta2);
    const S eps = static_cast<S>(o_.eps), wd = static_cast<S>(o_.weight_decay);
    // Bias corrections in double, as adam.hpp's set_bias_corrections.
    const double bias_correction1 = 1.0 - std::pow(o_.beta1, static_cast<double>(t));
    const double bias_correction2 = 1.0 - std::pow(o_.beta2, static_cast<double>(t));
    const S step_size = static_cast<S>(lr * (1.0 / bias_correction1));  // lr / (1 - β1^t)
    const S inv_bc2 = static_cast<S>(1.0 / bias_correction2);
    const S inv_sqrt_bc2 = static_cast<S>(1.0 / std::sqrt(bias_correction2));
    const S shrink = static_cast<S>(1.0 - lr * o_.weight_decay);
    S* const m = s;
    S* const v = s + n;
    S* const v_max = s + 2 * n;  // if amsgrad
    with_flags(
        [&](auto coupled, auto decoupled, auto amsgrad, auto eps_inside) {
          fused_for(n, [=](Index i) {
            const S gi = coupled ? g[i] + wd * p[i] : g[i];           // g = g + λ w
            const S mi = beta1 * m[i] + one_minus_beta1 * gi;         // m = β1 m + (1 - β1) g
            const S vi = beta2 * v[i] + one_minus_beta2 * (gi * gi);  // v = β2 v + (1 - β2) g²
            m[i] = mi;
            v[i] = vi;
            S r = vi;
            if constexpr (amsgrad) {
              r = std::max(v_max[i], vi);  // v_max = max(v_max, v)
              v_max[i] = r;
            }
            const S denom = eps_inside ? exact_sqrt(r * inv_bc2 + eps)        // √(r^ + ε)
                                       : exact_sqrt(r) * inv_sqrt_bc2 + eps;  // √r^ + ε
            const S w = decoupled ? shrink * p[i] : p[i];                     // w = (1 - lr λ) w
            p[i] = w - step_size * mi / denom;  // w = w - lr m^ / denom
          });
        },
        !o_.decoupled_weight_decay && o_.weight_decay != 0,
        o_.decoupled_weight_decay && o_.weight_decay != 0, o_.amsgrad,
        o_.eps_placement == descend::EpsPlacement::inside_sqrt);
  }

 private:
  descend::AdamOptions o_;
};

template <class S>
class FusedNadam final : public Fused<S> {
 public:
  explicit FusedNadam(const descend::NadamOptions& o) : o_(o) { require_plain(o); }
  void update(S* p, const S* g, S* s, Index n) override {
    const std::int64_t t = ++this->t_;
    const double lr = lr_at(o_, t);
    // P_t = μ_1 ... μ_t in S, extended by one factor per update as nadam.hpp
    // extends its cached product (a product of 0 stays 0).
    if (product_ != 0) product_ = product_ * static_cast<S>(mu(t));
    const double bias_correction2 = 1.0 - std::pow(o_.beta2, static_cast<double>(t));
    const double mu_t = mu(t), mu_next = mu(t + 1), product = static_cast<double>(product_);
    const S beta1 = static_cast<S>(o_.beta1), one_minus_beta1 = static_cast<S>(1.0 - o_.beta1);
    const S beta2 = static_cast<S>(o_.beta2), one_minus_beta2 = static_cast<S>(1.0 - o_.beta2);
    const S eps = static_cast<S>(o_.eps), wd = static_cast<S>(o_.weight_decay);
    const S bc2 = static_cast<S>(bias_correction2);
    const S grad_step = static_cast<S>(-lr * (1.0 - mu_t) / (1.0 - product));
    const S momentum_step = static_cast<S>(-lr * mu_next / (1.0 - product * mu_next));
    const S shrink = static_cast<S>(1.0 - lr * o_.weight_decay);
    S* const m = s;
    S* const v = s + n;
    with_flags(
        [&](auto coupled, auto decoupled) {
          fused_for(n, [=](Index i) {
            S w = decoupled ? shrink * p[i] : p[i];                 // w = (1 - lr λ) w
            const S gi = coupled ? g[i] + wd * w : g[i];            // g = g + λ w
            const S mi = m[i] * beta1 + one_minus_beta1 * gi;       // m = β1 m + (1 - β1) g
            const S vi = v[i] * beta2 + one_minus_beta2 * gi * gi;  // v = β2 v + (1 - β2) g²
            m[i] = mi;
            v[i] = vi;
            const S d = exact_sqrt(vi / bc2) + eps;  // d = √(v / (1 - β2^t)) + ε
            w = w + grad_step * gi / d;              // w -= lr (1 - μ_t)/(1 - P_t) g / d
            p[i] = w + momentum_step * mi / d;       // w -= lr μ_{t+1}/(1 - P_t μ_{t+1}) m / d
          });
        },
        !o_.decoupled_weight_decay && o_.weight_decay != 0,
        o_.decoupled_weight_decay && o_.weight_decay != 0);
  }

 private:
  double mu(std::int64_t i) const {  // μ_i = β1 (1 - 0.5 · 0.96^(i ψ))
    return o_.beta1 * (1.0 - 0.5 * std::pow(0.96, static_cast<double>(i) * o_.momentum_decay));
  }

  descend::NadamOptions o_;
  S product_ = 1;
};

template <class S>
class FusedRadam final : public Fused<S> {
 public:
  explicit FusedRadam(const descend::RadamOptions& o) : o_(o) { require_plain(o); }
  void update(S* p, const S* g, S* s, Index n) override {
    const std::int64_t t = ++this->t_;
    const double lr = lr_at(o_, t);
    // In double, as radam.hpp's set_constants.
    const double tt = static_cast<double>(t);
    const double beta2_t = std::pow(o_.beta2, tt);
    const double bias_correction1 = 1.0 - std::pow(o_.beta1, tt);
    const double bias_correction2 = 1.0 - beta2_t;
    const double rho_inf = 2 / (1 - o_.beta2) - 1;
    const double rho_t = rho_inf - 2 * tt * beta2_t / bias_correction2;
    const bool rectified = rho_t > 5.0;
    const double rect = rectified ? std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf /
                                              ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                                  : 0.0;
    const S beta1 = static_cast<S>(o_.beta1), one_minus_beta1 = static_cast<S>(1.0 - o_.beta1);
    const S beta2 = static_cast<S>(o_.beta2), one_minus_beta2 = static_cast<S>(1.0 - o_.beta2);
    const S eps = static_cast<S>(o_.eps), wd = static_cast<S>(o_.weight_decay);
    const S bc1 = static_cast<S>(bias_correction1);
    const S sqrt_bc2 = static_cast<S>(std::sqrt(bias_correction2));
    const S r = static_cast<S>(rect), lr_s = static_cast<S>(lr);
    const S shrink = static_cast<S>(1.0 - lr * o_.weight_decay);
    S* const m = s;
    S* const v = s + n;
    with_flags(
        [&](auto coupled, auto decoupled, auto rectify) {
          fused_for(n, [=](Index i) {
            const S w = decoupled ? shrink * p[i] : p[i];           // w = (1 - lr λ) w
            const S gi = coupled ? g[i] + wd * w : g[i];            // g = g + λ w
            const S mi = m[i] * beta1 + one_minus_beta1 * gi;       // m = β1 m + (1 - β1) g
            const S vi = v[i] * beta2 + one_minus_beta2 * gi * gi;  // v = β2 v + (1 - β2) g²
            m[i] = mi;
            v[i] = vi;
            const S step = mi / bc1 * lr_s;  // m^ lr
            // w = w - m^ lr · √(1 - β2^t) / (√v + ε) · r, or w - m^ lr unrectified
            p[i] = rectify ? w - step * (sqrt_bc2 / (exact_sqrt(vi) + eps)) * r : w - step;
          });
        },
        !o_.decoupled_weight_decay && o_.weight_decay != 0,
        o_.decoupled_weight_decay && o_.weight_decay != 0, rectified);
  }

 private:
  descend::RadamOptions o_;
};

template <class S>
class FusedAdamax final : public Fused<S> {
 public:
  explicit FusedAdamax(const descend::AdamaxOptions& o) : o_(o) { require_plain(o); }
  void update(S* p, const S* g, S* s, Index n) override {
    const std::int64_t t = ++this->t_;
    const double bias_correction = 1.0 - std::pow(o_.beta1, static_cast<double>(t));
    const S step_size = static_cast<S>(lr_at(o_, t) / bias_correction);  // lr / (1 - β1^t)
    const S beta1 = static_cast<S>(o_.beta1), one_minus_beta1 = static_cast<S>(1.0 - o_.beta1);
    const S beta2 = static_cast<S>(o_.beta2);
    const S eps = static_cast<S>(o_.eps), wd = static_cast<S>(o_.weight_decay);
    S* const m = s;
    S* const u = s + n;
    with_flags(
        [&](auto coupled) {
          fused_for(n, [=](Index i) {
            const S gi = coupled ? g[i] + wd * p[i] : g[i];    // g = g + λ w
            const S mi = m[i] * beta1 + one_minus_beta1 * gi;  // m = β1 m + (1 - β1) g
            const S a = u[i] * beta2, b = std::abs(gi) + eps;
            const S ui = a > b || a != a ? a : b;  // u = max(β2 u, |g| + ε), NaN if either is
            m[i] = mi;
            u[i] = ui;
            p[i] = p[i] - step_size * mi / ui;  // w = w - clr m / u
          });
        },
        o_.weight_decay != 0);
  }

 private:
  descend::AdamaxOptions o_;
};

template <class S>
class FusedRprop final : public Fused<S> {
 public:
  explicit FusedRprop(const descend::RpropOptions& o) : o_(o) { require_plain(o); }
  void init(S* s, Index n) const override {  // prev = 0, step_size = lr
    std::fill(s + n, s + 2 * n, static_cast<S>(o_.lr));
  }
  void update(S* p, const S* g, S* s, Index n) override {
    ++this->t_;
    const S etaminus = static_cast<S>(o_.etaminus), etaplus = static_cast<S>(o_.etaplus);
    const S step_min = static_cast<S>(o_.step_size_min);
    const S step_max = static_cast<S>(o_.step_size_max);
    S* const prev = s;
    S* const step_size = s + n;
    fused_for(n, [=](Index i) {
      const S prod = g[i] * prev[i];       // g prev
      S eta = prod < 0 ? etaminus : S(1);  // η+, η-, or 1
      eta = prod > 0 ? etaplus : eta;
      const S step = std::min(std::max(step_size[i] * eta, step_min), step_max);  // clamp
      const S gi = prod < 0 ? S(0) : g[i];  // g = 0 where it flipped
      S move = gi < 0 ? -step : S(0);       // sign(g) step
      move = gi > 0 ? step : move;
      p[i] = p[i] - move;  // w = w - sign(g) step
      prev[i] = gi;        // prev = g
      step_size[i] = step;
    });
  }

 private:
  descend::RpropOptions o_;
};

template <class S>
class FusedAsgd final : public Fused<S> {
 public:
  explicit FusedAsgd(const descend::AsgdOptions& o) : o_(o) { require_plain(o); }
  void update(S* p, const S* g, S* s, Index n) override {
    const std::int64_t t = ++this->t_;
    const double lr = lr_at(o_, t);
    const double prev = static_cast<double>(t - 1);  // the step PyTorch's eta, mu are of
    const double eta = t == 1 ? lr : lr / std::pow(1 + o_.lambd * lr * prev, o_.alpha);
    const double mu = t == 1 ? 1.0 : 1.0 / std::max(1.0, prev - o_.t0);
    const S eta_s = static_cast<S>(eta), shrink = static_cast<S>(1 - o_.lambd * eta);
    const S mu_s = static_cast<S>(mu), wd = static_cast<S>(o_.weight_decay);
    S* const ax = s;
    with_flags(
        [&](auto coupled, auto average) {
          fused_for(n, [=](Index i) {
            const S gi = coupled ? g[i] + wd * p[i] : g[i];  // g = g + λ w
            S w = shrink * p[i];                             // w = (1 - lambd η) w
            w = w - eta_s * gi;                              // w = w - η g
            p[i] = w;
            ax[i] = average ? ax[i] + (w - ax[i]) * mu_s : w;  // ax = ax + (w - ax) μ, or w
          });
        },
        o_.weight_decay != 0, mu != 1);
  }

 private:
  descend::AsgdOptions o_;
};

template <class S>
class FusedLion final : public Fused<S> {
 public:
  explicit FusedLion(const descend::LionOptions& o) : o_(o) { require_plain(o); }
  void update(S* p, const S* g, S* s, Index n) override {
    const double lr = lr_at(o_, ++this->t_);
    const S beta1 = static_cast<S>(o_.beta1), one_minus_beta1 = static_cast<S>(1.0 - o_.beta1);
    const S beta2 = static_cast<S>(o_.beta2), one_minus_beta2 = static_cast<S>(1.0 - o_.beta2);
    const S lr_s = static_cast<S>(lr), minus_lr = -lr_s;
    const S shrink = static_cast<S>(1.0 - lr * o_.weight_decay);
    S* const m = s;
    with_flags(
        [&](auto decoupled) {
          fused_for(n, [=](Index i) {
            const S w = decoupled ? shrink * p[i] : p[i];       // w = (1 - lr λ) w
            const S c = beta1 * m[i] + one_minus_beta1 * g[i];  // c = β1 m + (1 - β1) g
            S move = c < 0 ? minus_lr : S(0);                   // lr sign(c)
            move = c > 0 ? lr_s : move;
            p[i] = w - move;                               // w = w - lr sign(c)
            m[i] = beta2 * m[i] + one_minus_beta2 * g[i];  // m = β2 m + (1 - β2) g
          });
        },
        o_.weight_decay != 0);
  }

 private:
  descend::LionOptions o_;
};

struct Config {
  const char* name;
  int reads, writes;  // arrays per element
  std::function<std::unique_ptr<descend::Optimizer<float>>()> make_float;
  std::function<std::unique_ptr<descend::Optimizer<double>>()> make_double;
  std::function<std::unique_ptr<Fused<float>>()> fused_float;
  std::function<std::unique_ptr<Fused<double>>()> fused_double;
};

template <template <class> class Opt, template <class> class F, class Options>
Config config(const char* name, int reads, int writes, Options o) {
  return {name,
          reads,
          writes,
          [o] { return std::make_unique<Opt<float>>(o); },
          [o] { return std::make_unique<Opt<double>>(o); },
          [o] { return std::make_unique<F<float>>(o); },
          [o] { return std::make_unique<F<double>>(o); }};
}

std::vector<Config> configs() {
  using descend::EpsPlacement;
  std::vector<Config> c;
  descend::SgdOptions sgd;
  sgd.lr = 1e-3;
  c.push_back(config<descend::Sgd, FusedSgd>("sgd", 2, 1, sgd));
  sgd.momentum = 0.9;
  c.push_back(config<descend::Sgd, FusedSgd>("sgd_momentum", 3, 2, sgd));
  sgd.nesterov = true;
  sgd.weight_decay = 1e-4;
  c.push_back(config<descend::Sgd, FusedSgd>("sgd_nesterov_wd", 3, 2, sgd));
  descend::AdagradOptions adagrad;
  c.push_back(config<descend::Adagrad, FusedAdagrad>("adagrad", 3, 2, adagrad));
  descend::RmspropOptions rmsprop;
  c.push_back(config<descend::Rmsprop, FusedRmsprop>("rmsprop", 3, 2, rmsprop));
  rmsprop.centered = true;
  rmsprop.momentum = 0.9;
  c.push_back(config<descend::Rmsprop, FusedRmsprop>("rmsprop_centered_momentum", 5, 4, rmsprop));
  descend::AdadeltaOptions adadelta;
  c.push_back(config<descend::Adadelta, FusedAdadelta>("adadelta", 4, 3, adadelta));
  descend::AdamOptions adam;
  c.push_back(config<descend::Adam, FusedAdam>("adam", 4, 3, adam));
  adam.eps_placement = EpsPlacement::inside_sqrt;
  c.push_back(config<descend::Adam, FusedAdam>("adam_eps_inside", 4, 3, adam));
  adam = {};
  adam.amsgrad = true;
  c.push_back(config<descend::Adam, FusedAdam>("adam_amsgrad", 5, 4, adam));
  adam = {};
  adam.weight_decay = 1e-2;
  adam.decoupled_weight_decay = true;
  c.push_back(config<descend::Adam, FusedAdam>("adamw", 4, 3, adam));
  descend::NadamOptions nadam;
  c.push_back(config<descend::Nadam, FusedNadam>("nadam", 4, 3, nadam));
  descend::RadamOptions radam;
  c.push_back(config<descend::Radam, FusedRadam>("radam", 4, 3, radam));
  descend::AdamaxOptions adamax;
  c.push_back(config<descend::Adamax, FusedAdamax>("adamax", 4, 3, adamax));
  descend::RpropOptions rprop;
  c.push_back(config<descend::Rprop, FusedRprop>("rprop", 4, 3, rprop));
  descend::AsgdOptions asgd;
  asgd.t0 = 0;  // averaging (reads and writes ax) from the third update
  c.push_back(config<descend::Asgd, FusedAsgd>("asgd", 3, 2, asgd));
  descend::LionOptions lion;
  lion.weight_decay = 0.1;
  c.push_back(config<descend::Lion, FusedLion>("lion", 3, 2, lion));
  return c;
}

template <class S>
std::unique_ptr<descend::Optimizer<S>> make(const Config& c) {
  if constexpr (std::is_same<S, float>::value)
    return c.make_float();
  else
    return c.make_double();
}

template <class S>
std::unique_ptr<Fused<S>> make_fused(const Config& c) {
  if constexpr (std::is_same<S, float>::value)
    return c.fused_float();
  else
    return c.fused_double();
}

const char* scalar_name(float) { return "float"; }
const char* scalar_name(double) { return "double"; }

int threads() {
#if defined(DESCEND_USE_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// Guards the yardstick: from the same random parameter and gradients, with
// some gradients exactly 0, `steps` updates by descend and by the fused loop
// must leave the same parameter and state buffers, to rounding (relative to
// each array's largest magnitude, so that a contracted multiply-add in either
// cannot fail it). Exits naming the configuration if not.
template <class S>
void check_fused(const Config& c, Index n, int steps) {
  using Vector = Eigen::Matrix<S, Eigen::Dynamic, 1>;
  const double tolerance = std::is_same<S, float>::value ? 1e-6 : 1e-12;
  const auto fail = [&](const std::string& why) {
    std::fprintf(stderr, "descend_bench: the fused loop of %s/%s (n = %td) is wrong: %s\n", c.name,
                 scalar_name(S()), n, why.c_str());
    std::exit(EXIT_FAILURE);
  };
  const auto number = [](double x) {
    char text[32];
    std::snprintf(text, sizeof text, "%.9g", x);
    return std::string(text);
  };
  std::mt19937_64 random(14);
  std::uniform_real_distribution<double> uniform(-1, 1);
  Vector p(n), g(n);
  for (Index i = 0; i < n; ++i) p[i] = static_cast<S>(uniform(random));
  Vector p_fused = p;
  auto opt = make<S>(c);
  std::unique_ptr<Fused<S>> fused;
  try {
    fused = make_fused<S>(c);
  } catch (const std::exception& e) {
    fail(e.what());
  }
  const std::vector<std::string> names = opt->buffer_names();
  std::vector<S> state(names.size() * static_cast<std::size_t>(n), S(0));
  fused->init(state.data(), n);
  const auto compare = [&](const std::string& what, const S* a, const S* b, int step) {
    double scale = 0, worst = 0;
    Index at = 0;
    for (Index i = 0; i < n; ++i) {
      const bool nan_a = std::isnan(a[i]), nan_b = std::isnan(b[i]);
      if (nan_a || nan_b) {
        if (nan_a != nan_b && worst != std::numeric_limits<double>::infinity())
          worst = std::numeric_limits<double>::infinity(), at = i;
        continue;
      }
      scale = std::max(scale, std::abs(static_cast<double>(a[i])));
      const double d = std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
      if (d > worst) worst = d, at = i;
    }
    if (!(worst <= tolerance * scale))
      fail(what + "[" + std::to_string(at) + "] = " + number(b[at]) + " after step " +
           std::to_string(step) + ", descend's " + number(a[at]) + " (largest difference " +
           number(worst) + ", more than " + number(tolerance) + " of the largest magnitude " +
           number(scale) + ")");
  };
  for (int step = 1; step <= steps; ++step) {
    for (Index i = 0; i < n; ++i) g[i] = i % 17 == 0 ? S(0) : static_cast<S>(uniform(random));
    opt->update(p, g);
    fused->update(p_fused.data(), g.data(), state.data(), n);
    compare("param", p.data(), p_fused.data(), step);
    for (std::size_t k = 0; k < names.size(); ++k)
      compare(names[k], opt->state(p, names[k]).data(), state.data() + k * n, step);
  }
}

// One optimizer on one parameter of n elements.
template <class S>
void update(benchmark::State& state, const Config& c) {
  const std::ptrdiff_t n = state.range(0);
  using Vector = Eigen::Matrix<S, Eigen::Dynamic, 1>;
  Vector p = Vector::Constant(n, S(1)), g = Vector::Constant(n, S(1e-3));
  auto opt = make<S>(c);
  opt->update(p, g);  // creates the state
  for (auto _ : state) {
    opt->update(p, g);
    benchmark::ClobberMemory();
  }
  const double bytes = static_cast<double>(c.reads + c.writes) * sizeof(S) * n;

  // The fused loop on descend's own memory: the same parameter, gradient and
  // state buffers (back to back in buffer_names() order, as the fused loops
  // take them; check_fused() compares them so), so that only the code
  // differs. With arrays of their own, where they lay relative to descend's
  // decided the result in cache: a load that shares its address's low 12
  // bits with a store still in flight waits for it (4K aliasing), and on an
  // AMD EPYC that made an SGD update() of 1000 floats 1.9 times the fused
  // loop's time, against 1.0 on the same memory.
  const std::vector<std::string> names = opt->buffer_names();
  S* fused_state = names.empty() ? nullptr : const_cast<S*>(opt->state(p, names[0]).data());
  for (std::size_t k = 1; k < names.size(); ++k)
    if (opt->state(p, names[k]).data() != fused_state + k * static_cast<std::size_t>(n)) {
      std::fprintf(stderr, "descend_bench: %s's state buffers are not back to back\n", c.name);
      std::exit(EXIT_FAILURE);
    }
  auto fused = make_fused<S>(c);
  fused->update(p.data(), g.data(), fused_state, n);

  // The roofline, the fused loop and the update timed the same way, right here.
  std::vector<Vector> arrays(c.reads, Vector::Constant(n, S(1e-3)));
  std::vector<S*> ptrs;
  for (auto& a : arrays) ptrs.push_back(a.data());
  const std::vector<double> t = best_seconds(
      {[&] { stream_dispatch<S>(c.reads, c.writes, ptrs, n); },
       [&] { fused->update(p.data(), g.data(), fused_state, n); }, [&] { opt->update(p, g); }});
  const double t_stream = t[0], t_fused = t[1], t_update = t[2];

  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["ns_per_element"] = t_update * 1e9 / n;
  state.counters["update_GBps"] = bytes / t_update / 1e9;
  state.counters["stream_GBps"] = bytes / t_stream / 1e9;
  state.counters["fused_GBps"] = bytes / t_fused / 1e9;
  state.counters["roofline"] = t_stream / t_update;
  state.counters["fused_ratio"] = t_fused / t_update;
  state.counters["threads"] = threads();
  state.SetLabel(std::string(c.name) + "/" + scalar_name(S()));
}

// Adam through step() with global-norm clipping that clips at every step,
// against the same step() without clipping, timed alternately. Clipping reads
// every gradient once more (the norm) and folds the scale into the update's
// pass: its cost should be the step's plus one read pass over the gradient
// (Eigen's squaredNorm, timed here: clip_over_plain_plus_read = 1). The
// roofline loop with one more array read fused in (4 reads + 3 writes, then
// 5 + 3) shows what a read costs inside a pass, for comparison.
template <class S>
void clipped(benchmark::State& state) {
  const std::ptrdiff_t n = state.range(0);
  using Vector = Eigen::Matrix<S, Eigen::Dynamic, 1>;
  Vector p1 = Vector::Constant(n, S(1)), p2 = p1, g = Vector::Constant(n, S(1e-3));
  Vector g2 = g;
  descend::Adam<S> plain, clip;
  plain.add(p1, g);
  clip.add(p2, g2);
  clip.add_transform(descend::ClipGradNorm{1e-6});
  plain.step();
  clip.step();
  for (auto _ : state) {
    clip.step();
    benchmark::ClobberMemory();
  }
  const auto [t_clip, t_plain] = best_seconds([&] { clip.step(); }, [&] { plain.step(); });
  // One more read of the gradient, as a pass of its own: its squared norm.
  volatile double sink = 0;
  const auto [t_read, t_plain2] =
      best_seconds([&] { sink = g.squaredNorm(); }, [&] { plain.step(); });
  std::vector<Vector> arrays(5, Vector::Constant(n, S(1e-3)));
  std::vector<S*> ptrs;
  for (auto& a : arrays) ptrs.push_back(a.data());
  const auto [t_more, t_stream] = best_seconds([&] { stream_dispatch<S>(5, 3, ptrs, n); },
                                               [&] { stream_dispatch<S>(4, 3, ptrs, n); });
  state.counters["clip_over_plain"] = t_clip / t_plain;
  // 1: clipping costs what the step plus one read pass over the gradient cost.
  state.counters["clip_over_plain_plus_read"] = t_clip / (std::min(t_plain, t_plain2) + t_read);
  state.counters["one_more_read"] = t_more / t_stream;
  state.counters["plain_roofline"] = t_stream / t_plain;
  state.SetLabel(std::string("adam step() + ClipGradNorm") +
                 (sizeof(S) == 4 ? "/float" : "/double"));
}

// 1000 parameters of 64 floats, each its own allocation, against a raw loop
// doing the same Adam arithmetic over the same memory. Two ways to drive
// descend: `step` registers the pairs once and calls step() (one call that
// finds every state and runs every kernel), `update` calls update() once per
// parameter (identity lookup, virtual call and chunk set-up every time).
void many_small(benchmark::State& state, bool use_step) {
  constexpr int kParams = 1000, kSize = 64;
  using Vector = Eigen::VectorXf;
  std::vector<Vector> p(kParams, Vector::Constant(kSize, 1.f)),
      g(kParams, Vector::Constant(kSize, 1e-3f));
  std::vector<Vector> m(kParams, Vector::Zero(kSize)), v(kParams, Vector::Zero(kSize));
  descend::Adam<float> adam;
  for (int i = 0; i < kParams; ++i) {
    if (use_step)
      adam.add(p[i], g[i]);
    else
      adam.update(p[i], g[i]);
  }
  if (use_step) adam.step();
  auto step = [&] {
    if (use_step) {
      adam.step();
    } else {
      for (int i = 0; i < kParams; ++i) adam.update(p[i], g[i]);
    }
  };
  // The raw loop: PyTorch's Adam at t = 2 with its constants hoisted, over
  // the same arrays, vectorised by Eigen (a scalar loop calling std::sqrt is
  // not vectorised at -O2 under -fmath-errno and would flatter descend), with
  // the same correctly rounded square root descend uses.
  const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
  const float step_size = 1e-3f / (1 - 0.81f), inv_sqrt_bc2 = 1 / std::sqrt(1 - 0.998001f);
  auto raw = [&] {
    for (int k = 0; k < kParams; ++k) {
      auto w = p[k].array();
      auto gk = g[k].array();
      auto mk = m[k].array();
      auto vk = v[k].array();
      mk = b1 * mk + (1 - b1) * gk;
      vk = b2 * vk + (1 - b2) * gk.square();
      w -= step_size * mk / (descend::detail::sqrt(vk) * inv_sqrt_bc2 + eps);
    }
  };
  for (auto _ : state) {
    step();
    benchmark::ClobberMemory();
  }
  const auto [t_raw, t_step] = best_seconds(raw, step);
  state.counters["raw_us"] = t_raw * 1e6;
  state.counters["descend_us"] = t_step * 1e6;
  state.counters["ratio_to_raw"] = t_step / t_raw;
  state.SetLabel(use_step ? "adam/float 1000 x 64, step()" : "adam/float 1000 x 64, update()");
}

// The fixed cost of a call, as issue 14 states its targets. `update`: one
// update() of 1000 floats with plain SGD against the fused SGD loop over the
// same 1000 floats (update_over_fused within 1.15, overhead_ns <= 15).
// `step`: Adam's step() over 1000 registered parameters of 64 floats against
// step() over one registered parameter of 64 000 (many_over_one within 1.15;
// both below the parallel threshold, so single-threaded).
void fixed_cost_update(benchmark::State& state) {
  constexpr Index kSize = 1000;
  descend::SgdOptions options;
  options.lr = 1e-3;
  Eigen::VectorXf p = Eigen::VectorXf::Constant(kSize, 1.f);
  const Eigen::VectorXf g = Eigen::VectorXf::Constant(kSize, 1e-3f);
  descend::Sgd<float> sgd(options);
  FusedSgd<float> fused(options);
  sgd.update(p, g);
  for (auto _ : state) {
    sgd.update(p, g);
    benchmark::ClobberMemory();
  }
  const auto [t_fused, t_update] = best_seconds(
      [&] { fused.update(p.data(), g.data(), nullptr, kSize); },  // the same memory (see update())
      [&] { sgd.update(p, g); });
  state.counters["update_ns"] = t_update * 1e9;
  state.counters["fused_ns"] = t_fused * 1e9;
  state.counters["overhead_ns"] = (t_update - t_fused) * 1e9;
  state.counters["update_over_fused"] = t_update / t_fused;
  state.SetLabel("sgd/float, update() of 1000 against the fused loop over 1000");
}

// step() of `many` (params parameters) timed against step() of `one` (the
// same coefficients as one parameter), interleaved: the counters of the
// fixed_cost/step benchmarks.
void time_many_against_one(benchmark::State& state, descend::Optimizer<float>& many,
                           descend::Optimizer<float>& one, int params) {
  many.step();
  one.step();
  for (auto _ : state) {
    many.step();
    benchmark::ClobberMemory();
  }
  const auto [t_many, t_one] = best_seconds([&] { many.step(); }, [&] { one.step(); });
  state.counters["many_us"] = t_many * 1e6;
  state.counters["one_us"] = t_one * 1e6;
  state.counters["overhead_ns_per_param"] = (t_many - t_one) * 1e9 / params;
  state.counters["many_over_one"] = t_many / t_one;
}

void fixed_cost_step(benchmark::State& state) {
  constexpr int kParams = 1000, kSize = 64;
  using Vector = Eigen::VectorXf;
  std::vector<Vector> p(kParams, Vector::Constant(kSize, 1.f)),
      g(kParams, Vector::Constant(kSize, 1e-3f));
  Vector p_one = Vector::Constant(kParams * kSize, 1.f),
         g_one = Vector::Constant(kParams * kSize, 1e-3f);
  descend::Adam<float> many, one;
  for (int i = 0; i < kParams; ++i) many.add(p[i], g[i]);
  one.add(p_one, g_one);
  time_many_against_one(state, many, one, kParams);
  state.SetLabel("adam/float step(), 1000 x 64 against 1 x 64000");
}

// The same 1000 parameters of 64 floats in a descend::Arena, registered as
// one: step() runs one kernel over the block. Against the same one parameter
// of 64 000 (issue 14's "many parameters as one").
void fixed_cost_step_arena(benchmark::State& state) {
  constexpr int kParams = 1000, kSize = 64;
  using Vector = Eigen::VectorXf;
  descend::Arena<float> arena(
      std::vector<descend::Arena<float>::Shape>(kParams, descend::Arena<float>::Shape{kSize, 1}));
  arena.params().setConstant(1.f);
  arena.grads().setConstant(1e-3f);
  Vector p_one = Vector::Constant(kParams * kSize, 1.f),
         g_one = Vector::Constant(kParams * kSize, 1e-3f);
  descend::Adam<float> many, one;
  many.add(arena.params(), arena.grads());
  one.add(p_one, g_one);
  time_many_against_one(state, many, one, kParams);
  state.SetLabel("adam/float step(), 1000 x 64 in an Arena against 1 x 64000");
}

// Registering n parameters of 2 floats each with add(): every add() checks
// the new pair against all registered memory (an ordered index, O(log n)).
// The second argument is the order of the add()s: 0 as allocated, 1 reversed,
// 2 shuffled. A sorted array in place of the index was quadratic in each:
// the parameters lie below their gradients, so even in allocation order each
// new parameter went before every gradient added so far.
void registration(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<Eigen::VectorXf> p(n, Eigen::VectorXf::Zero(2)), g(n, Eigen::VectorXf::Zero(2));
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  if (state.range(1) == 1) std::reverse(order.begin(), order.end());
  if (state.range(1) == 2) std::shuffle(order.begin(), order.end(), std::mt19937(1));
  for (auto _ : state) {
    descend::Sgd<float> sgd;
    for (const std::size_t i : order) sgd.add(p[i], g[i]);
    benchmark::DoNotOptimize(sgd.num_registered());
  }
  // A rate: inverted, Google Benchmark printed its nanoseconds with an "s".
  state.counters["adds_per_s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel("add() of n parameters, 2 floats each");
}

// One full-batch epoch of the spiral example (forward, backward, Adam).
void spiral_epoch(benchmark::State& state) {
  const auto data = descend::data::spiral<double>(100, 3, 11);
  example::SpiralNet<double> net(64, 3, 12);
  auto opt = example::make_optimizer<double>(example::preset("adam"));
  for (auto _ : state) {
    auto r = net.train_epoch(data.inputs, data.labels, *opt);
    benchmark::DoNotOptimize(r);
  }
  const double t =
      best_seconds([&] { net.train_epoch(data.inputs, data.labels, *opt); }, [] {}).first;
  state.counters["epoch_us"] = t * 1e6;
  state.counters["s_per_10001_epochs"] = t * 10001;
  state.SetLabel("spiral 300 x 2, Dense(2,64) ReLU Dense(64,3), double");
}

}  // namespace

int main(int argc, char** argv) {
#if defined(DESCEND_BENCH_LEVEL)
  // A dispatch benchmark measures the level its yardsticks were compiled for
  // (a level this CPU lacks is refused by descend: bench/dispatch.sh skips it).
  descend::Isa level;
  try {
    level = descend::dispatch_isa();
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "descend_bench_%s: %s\n", DESCEND_BENCH_LEVEL, e.what());
    return 1;
  }
  if (std::string(descend::isa_name(level)) != DESCEND_BENCH_LEVEL) {
    std::fprintf(stderr, "descend_bench_%s: run it with DESCEND_ISA=%s (dispatched: %s)\n",
                 DESCEND_BENCH_LEVEL, DESCEND_BENCH_LEVEL, descend::isa_name(level));
    return 1;
  }
  benchmark::AddCustomContext("descend_isa", DESCEND_BENCH_LEVEL);
#else
  benchmark::AddCustomContext("descend_isa", "none (header-only, the compiler's flags)");
#endif
  // Every yardstick against descend first (8 steps: RAdam rectifies from
  // step 6, ASGD averages from step 3), in one range and split across threads.
  for (const Config& c : configs()) {
    for (Index n : {Index(1003), descend::detail::kParallelThreshold + 1003}) {
      check_fused<float>(c, n, 8);
      check_fused<double>(c, n, 8);
    }
  }
  for (const Config& c : configs()) {
    for (long n : {1000L, 100000L, 1000000L, 10000000L}) {
      benchmark::RegisterBenchmark(("update/" + std::string(c.name) + "/float").c_str(),
                                   [c](benchmark::State& s) { update<float>(s, c); })
          ->Arg(n)
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("update/" + std::string(c.name) + "/double").c_str(),
                                   [c](benchmark::State& s) { update<double>(s, c); })
          ->Arg(n)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  for (long n : {100000L, 10000000L}) {
    benchmark::RegisterBenchmark("clip/adam/float", clipped<float>)
        ->Arg(n)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("clip/adam/double", clipped<double>)
        ->Arg(n)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("many_small/adam/float/step", [](benchmark::State& s) {
    many_small(s, true);
  })->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("many_small/adam/float/update", [](benchmark::State& s) {
    many_small(s, false);
  })->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("fixed_cost/update/sgd/float/1000", fixed_cost_update)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("fixed_cost/step/adam/float/1000x64", fixed_cost_step)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("fixed_cost/step/adam/float/1000x64/arena", fixed_cost_step_arena)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("registration", registration)
      ->ArgsProduct({{1000, 100000}, {0, 1, 2}})
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("spiral_epoch", spiral_epoch)->Unit(benchmark::kMicrosecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
