// Benchmarks of descend's updates against a bandwidth roofline measured in the
// same process. An update is memory-bound: Adam in float reads p, g, m, v and
// writes p, m, v, 28 bytes per element in one ideal pass. The roofline for an
// optimizer is a plain fused loop with the same reads and writes, in place
// ("stream"); `roofline` = stream time / update time (1 = at memory speed).
//
//   descend_bench [--benchmark_filter=...] [--benchmark_format=json]
//
// With DESCEND_OPENMP the update and the stream loop both use
// OMP_NUM_THREADS threads. bench/report.py turns the JSON into tables.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "descend/descend.hpp"
#include "descend/optim/clip.hpp"
#include "spiral_setup.hpp"

#if defined(DESCEND_USE_OPENMP)
#include <omp.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;

// Best time per call of f and of h, in seconds, over 15 alternating batches of
// at least ~20 ms each, so that both see the same machine (it is shared).
std::pair<double, double> best_seconds(const std::function<void()>& f,
                                       const std::function<void()>& h) {
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
  const int f_reps = reps_for(f), h_reps = reps_for(h);
  auto time = [](const std::function<void()>& x, int reps) {
    const auto t0 = Clock::now();
    for (int i = 0; i < reps; ++i) x();
    return std::chrono::duration<double>(Clock::now() - t0).count() / reps;
  };
  double best_f = 1e300, best_h = 1e300;
  for (int trial = 0; trial < 15; ++trial) {
    best_f = std::min(best_f, time(f, f_reps));
    best_h = std::min(best_h, time(h, h_reps));
  }
  return {best_f, best_h};
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

struct Config {
  const char* name;
  int reads, writes;  // arrays per element
  std::function<std::unique_ptr<descend::Optimizer<float>>()> make_float;
  std::function<std::unique_ptr<descend::Optimizer<double>>()> make_double;
};

template <class Options, template <class> class Opt>
Config config(const char* name, int reads, int writes, Options o) {
  return {name, reads, writes, [o] { return std::make_unique<Opt<float>>(o); },
          [o] { return std::make_unique<Opt<double>>(o); }};
}

std::vector<Config> configs() {
  using descend::EpsPlacement;
  std::vector<Config> c;
  descend::SgdOptions sgd;
  sgd.lr = 1e-3;
  c.push_back(config<descend::SgdOptions, descend::Sgd>("sgd", 2, 1, sgd));
  sgd.momentum = 0.9;
  c.push_back(config<descend::SgdOptions, descend::Sgd>("sgd_momentum", 3, 2, sgd));
  sgd.nesterov = true;
  sgd.weight_decay = 1e-4;
  c.push_back(config<descend::SgdOptions, descend::Sgd>("sgd_nesterov_wd", 3, 2, sgd));
  descend::AdagradOptions adagrad;
  c.push_back(config<descend::AdagradOptions, descend::Adagrad>("adagrad", 3, 2, adagrad));
  descend::RmspropOptions rmsprop;
  c.push_back(config<descend::RmspropOptions, descend::Rmsprop>("rmsprop", 3, 2, rmsprop));
  rmsprop.centered = true;
  rmsprop.momentum = 0.9;
  c.push_back(config<descend::RmspropOptions, descend::Rmsprop>("rmsprop_centered_momentum", 5, 4,
                                                                rmsprop));
  descend::AdadeltaOptions adadelta;
  c.push_back(config<descend::AdadeltaOptions, descend::Adadelta>("adadelta", 4, 3, adadelta));
  descend::AdamOptions adam;
  c.push_back(config<descend::AdamOptions, descend::Adam>("adam", 4, 3, adam));
  adam.eps_placement = EpsPlacement::inside_sqrt;
  c.push_back(config<descend::AdamOptions, descend::Adam>("adam_eps_inside", 4, 3, adam));
  adam = {};
  adam.amsgrad = true;
  c.push_back(config<descend::AdamOptions, descend::Adam>("adam_amsgrad", 5, 4, adam));
  adam = {};
  adam.weight_decay = 1e-2;
  adam.decoupled_weight_decay = true;
  c.push_back(config<descend::AdamOptions, descend::Adam>("adamw", 4, 3, adam));
  descend::NadamOptions nadam;
  c.push_back(config<descend::NadamOptions, descend::Nadam>("nadam", 4, 3, nadam));
  descend::RadamOptions radam;
  c.push_back(config<descend::RadamOptions, descend::Radam>("radam", 4, 3, radam));
  descend::AdamaxOptions adamax;
  c.push_back(config<descend::AdamaxOptions, descend::Adamax>("adamax", 4, 3, adamax));
  descend::RpropOptions rprop;
  c.push_back(config<descend::RpropOptions, descend::Rprop>("rprop", 4, 3, rprop));
  descend::AsgdOptions asgd;
  asgd.t0 = 0;  // averaging (reads and writes ax) from the third update
  c.push_back(config<descend::AsgdOptions, descend::Asgd>("asgd", 3, 2, asgd));
  descend::LionOptions lion;
  lion.weight_decay = 0.1;
  c.push_back(config<descend::LionOptions, descend::Lion>("lion", 3, 2, lion));
  return c;
}

template <class S>
std::unique_ptr<descend::Optimizer<S>> make(const Config& c) {
  if constexpr (std::is_same<S, float>::value)
    return c.make_float();
  else
    return c.make_double();
}

int threads() {
#if defined(DESCEND_USE_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
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

  // The roofline, and the update timed the same way, right here.
  std::vector<Vector> arrays(c.reads, Vector::Constant(n, S(1e-3)));
  std::vector<S*> ptrs;
  for (auto& a : arrays) ptrs.push_back(a.data());
  const auto [t_stream, t_update] = best_seconds(
      [&] { stream_dispatch<S>(c.reads, c.writes, ptrs, n); }, [&] { opt->update(p, g); });

  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["ns_per_element"] = t_update * 1e9 / n;
  state.counters["update_GBps"] = bytes / t_update / 1e9;
  state.counters["stream_GBps"] = bytes / t_stream / 1e9;
  state.counters["roofline"] = t_stream / t_update;
  state.counters["threads"] = threads();
  state.SetLabel(std::string(c.name) + (sizeof(S) == 4 ? "/float" : "/double"));
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

// Registering n parameters of 2 floats each with add(): every add() checks
// the new pair against all registered memory (an ordered index, O(log n)).
void registration(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<Eigen::VectorXf> p(n, Eigen::VectorXf::Zero(2)), g(n, Eigen::VectorXf::Zero(2));
  for (auto _ : state) {
    descend::Sgd<float> sgd;
    for (std::size_t i = 0; i < n; ++i) sgd.add(p[i], g[i]);
    benchmark::DoNotOptimize(sgd.num_registered());
  }
  state.counters["ns_per_add"] = benchmark::Counter(
      static_cast<double>(n) * 1e-9,
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
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
  benchmark::RegisterBenchmark("registration", registration)
      ->Arg(1000)
      ->Arg(100000)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("spiral_epoch", spiral_epoch)->Unit(benchmark::kMicrosecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
